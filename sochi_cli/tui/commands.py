"""The command palette (ctrl+p): every screen, every key of the current screen, by name."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.binding import Binding

if TYPE_CHECKING:
    from textual.screen import Screen

    from sochi_cli.tui.app import SochiApp


def screen_commands(app: SochiApp, screen: Screen[Any]) -> Iterable[SystemCommand]:
    from sochi_cli.tui.app import PLACES

    for place in PLACES:
        yield SystemCommand(
            f"Go to {place.title}", f"{place.summary} (key {place.key})",
            partial(app.action_go, place.mode),
        )  # fmt: skip
    yield SystemCommand("Log in", "Sign in with a key file, token or E-Cloud (L)", app.action_login)
    yield SystemCommand("Help", "Keys of this screen (?)", app.action_help)
    seen: set[str] = set()
    for binding in screen_bindings(screen):
        if binding.action in seen or not binding.description:
            continue
        seen.add(binding.action)
        yield SystemCommand(
            binding.description,
            f"{getattr(screen, 'TITLE', '') or 'this screen'}: key {app.get_key_display(binding)}",
            partial(screen.run_action, binding.action),
        )
    for name, help_text, action in getattr(screen, "PALETTE", ()):
        yield SystemCommand(name, help_text, partial(screen.run_action, action))


def screen_bindings(screen: Screen[Any]) -> list[Binding]:
    """The keys sochi adds on a screen: the screen's own, then its widgets' (Textual's
    standard moving and scrolling keys are left out)."""
    found: list[Binding] = []
    seen: set[type] = set()
    for node in (screen, *screen.query("*")):
        for cls in type(node).__mro__:
            if cls in seen or not cls.__module__.startswith("sochi_cli."):
                continue
            seen.add(cls)
            for binding in cls.__dict__.get("BINDINGS", ()):
                if isinstance(binding, Binding) and binding.description:
                    found.append(binding)
    return found


__all__ = ["screen_bindings", "screen_commands"]
