"""The keys sochi defines on a screen (for the help screen, the palette and the test that no
key means two things), and the command palette (ctrl+p): every screen, every action by name."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.binding import Binding

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.screen import Screen

    from sochi_cli.tui.app import SochiApp


def own_bindings(node: DOMNode) -> dict[str, Binding]:
    """The keys sochi's classes give `node`, one Binding per key: a subclass's binding of a
    key replaces its base class's, as Textual merges them (Textual's own classes left out)."""
    keys: dict[str, Binding] = {}
    for cls in reversed(type(node).__mro__):
        if not cls.__module__.startswith("sochi_cli."):
            continue
        for declared in cls.__dict__.get("BINDINGS", ()):
            binding = declared if isinstance(declared, Binding) else Binding(*declared)
            for key in binding.key.split(","):
                keys[key.strip()] = dataclasses.replace(binding, key=key.strip())
    return keys


def screen_bindings(screen: Screen[Any]) -> list[tuple[DOMNode, Binding]]:
    """The screen's own keys, then its widgets' (one widget of each class), each with the
    node whose action it runs. Only bindings with a description."""
    found: list[tuple[DOMNode, Binding]] = []
    seen: set[type] = set()
    focused = screen.focused
    nodes = [screen, *([focused] if focused is not None else []), *screen.query("*")]
    for node in nodes:
        if type(node) in seen:
            continue
        seen.add(type(node))
        found.extend((node, b) for b in own_bindings(node).values() if b.description)
    return found


def key_groups(screen: Screen[Any], key_display: Any) -> list[tuple[DOMNode, str, Binding]]:
    """`screen_bindings` grouped by action: (node, the keys shown together, the binding)."""
    groups: dict[tuple[type, str], tuple[DOMNode, list[str], Binding]] = {}
    for node, binding in screen_bindings(screen):
        entry = groups.setdefault((type(node), binding.action), (node, [], binding))
        shown = key_display(binding)
        if shown not in entry[1]:
            entry[1].append(shown)
    return [(node, " ".join(keys), binding) for node, keys, binding in groups.values()]


def screen_commands(app: SochiApp, screen: Screen[Any]) -> Iterable[SystemCommand]:
    from sochi_cli.tui.app import PLACES

    for place in PLACES:
        yield SystemCommand(
            f"Go to {place.title}", f"{place.summary} (key {place.key})",
            partial(app.action_go, place.mode),
        )  # fmt: skip
    yield SystemCommand("Log in", "Sign in with a key file, token or E-Cloud (L)", app.action_login)
    yield SystemCommand("Help", "Keys of this screen (?)", app.action_help)
    title = getattr(screen, "TITLE", "") or "this screen"
    for node, keys, binding in key_groups(screen, app.get_key_display):
        if node is not screen and not binding.show:
            continue  # a table's moving keys are not commands
        yield SystemCommand(
            binding.description,
            f"{title}: key {keys}",
            partial(app.run_action, binding.action, node),
        )
    for name, help_text, action in getattr(screen, "PALETTE", ()):
        yield SystemCommand(name, help_text, partial(screen.run_action, action))


__all__ = ["key_groups", "own_bindings", "screen_bindings", "screen_commands"]
