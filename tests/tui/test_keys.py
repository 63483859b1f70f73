"""The key map: one key means one thing on every screen, every binding has its action, the
docs name the keys, and at 80×24 every screen's key and name stay on the screen."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from sochi_cli.tui.app import PLACES, SochiApp
from sochi_cli.tui.commands import own_bindings
from tests.tui.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
EVERYWHERE = {"r", "slash", "escape"}  # documented once for every screen, not per screen


def documented(path: Path) -> dict[str, str]:
    """A markdown key table's rows by each `key` in their first cell (`9` / `0` → both)."""
    rows: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if len(cells) > 3 and "`" in cells[1]:
            for key in re.findall(r"`([^`]+)`", cells[1]):
                rows[key] = line
    return rows


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCHI_API_URL", "http://127.0.0.1:9/api/v1")  # nothing listens there
    monkeypatch.setenv("SOCHI_ACCESS_TOKEN", "not-a-token")


def key_map(nodes: list[Any]) -> dict[str, set[str]]:
    """key → the actions the sochi classes of `nodes` bind it to (a widget's binding of a key
    shadows its screen's while it has the focus: that is two meanings for one key too)."""
    actions: dict[str, set[str]] = defaultdict(set)
    for node in nodes:
        for key, binding in own_bindings(node).items():
            actions[key].add(binding.action)
    return actions


def dead_bindings(nodes: list[Any]) -> list[str]:
    """Bindings whose action the node does not have (a key that silently does nothing)."""
    dead = []
    for node in nodes:
        for key, binding in own_bindings(node).items():
            name = binding.action.split("(", 1)[0]
            target = node.app if name.startswith("app.") else node
            if not hasattr(target, f"action_{name.removeprefix('app.')}"):
                dead.append(f"{type(node).__name__}: {key} → {binding.action}")
    return dead


def sochi_nodes(screen: Any) -> list[Any]:
    return [screen, *(w for w in screen.query("*") if type(w).__module__.startswith("sochi_cli."))]


async def assert_keys_are_sound(pilot: Any, app: Any, screens: list[Any]) -> None:
    """One key, one action on each of `screens` (a place each, in PLACES order) and on the
    client and every dialog; no binding without its action; the README's key map and
    docs/tui.md name every key each screen shows in its footer. Called by the test that
    opens every screen (tests/tui/test_screens.py), so the screens are opened once."""
    from sochi_cli.tui.screens.client_detail import ClientDetailScreen
    from sochi_cli.tui.screens.confirm import ConfirmScreen
    from sochi_cli.tui.screens.help import HelpScreen
    from sochi_cli.tui.screens.reply import ReplyScreen
    from sochi_cli.tui.screens.secret import SecretScreen
    from sochi_cli.tui.screens.signer import SignerScreen
    from sochi_cli.tui.signing import SignerChoice

    await pilot.press("2")
    app.push_screen(ClientDetailScreen("02010201910123"))
    await wait_for(pilot, lambda: isinstance(app.screen, ClientDetailScreen))
    problems = []
    for screen in [*screens, app.screen]:  # the app's global keys apply on each of them
        for key, actions in key_map([app, *sochi_nodes(screen)]).items():
            if len(actions) > 1:
                problems.append(f"{type(screen).__name__}: {key} → {sorted(actions)}")
        problems.extend(dead_bindings([app, *sochi_nodes(screen)]))
    for dialog in (
        HelpScreen(app.screen),
        SignerScreen("Sign with", SignerChoice(kind="file")),
        SecretScreen("Token PIN"),
        ConfirmScreen("Revoke?", typed="4ed411cf"),
        ReplyScreen("inb_1", "a request"),
    ):
        app.push_screen(dialog)
        await wait_for(pilot, lambda d=dialog: app.screen is d and d.is_mounted)
        await pilot.pause()  # its on_mount has run
        for key, actions in key_map(sochi_nodes(dialog)).items():
            if len(actions) > 1:
                problems.append(f"{type(dialog).__name__}: {key} → {sorted(actions)}")
        problems.extend(dead_bindings(sochi_nodes(dialog)))
        dialog.dismiss(None)
        await wait_for(pilot, lambda d=dialog: app.screen is not d)
    assert problems == []

    readme, guide = documented(ROOT / "README.md"), documented(ROOT / "docs" / "tui.md")
    filing = (ROOT / "docs" / "tui.md").read_text(encoding="utf-8").split("## Filing")[1]
    missing = []
    for place, screen in zip(PLACES, screens, strict=True):
        for key, binding in own_bindings(screen).items():
            if key in EVERYWHERE or not binding.show or not binding.description:
                continue
            shown = f"`{app.get_key_display(binding)}`"
            if shown not in readme[place.key]:
                missing.append(f"README {place.title}: {shown} {binding.description}")
            where = guide[place.key] + (filing if place.mode == "file" else "")
            if shown not in where:
                missing.append(f"docs/tui.md {place.title}: {shown} {binding.description}")
    assert missing == []


@pytest.mark.usefixtures("offline")
async def test_at_80_columns_every_screen_is_named_and_the_help_lists_each_key_once() -> None:
    from sochi_cli.tui.screens.help import help_table
    from sochi_cli.tui.widgets.nav_bar import NavBar

    app = SochiApp(live=False, first_screen="doctor")
    async with app.run_test(size=(80, 24)) as pilot:
        nav = app.screen.query_one(NavBar)
        text = nav.render_places(80).plain
        assert len(text) <= 80
        for place in PLACES:
            assert f"{place.key} {place.short}" in text, text
        assert "8 Doctor" in nav.render_places(20).plain  # too narrow: keys, and where you are
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        from rich.table import Table

        group = help_table(app.screen.underneath, app.get_key_display)
        screen_keys = next(r for r in group.renderables if isinstance(r, Table))
        keys = [str(k) for k in screen_keys.columns[0].cells]
        what = [str(w) for w in screen_keys.columns[1].cells]
        assert len(keys) == len(set(keys)), keys  # the doctor's `r`: once, not twice
        assert dict(zip(keys, what, strict=True))["r"] == "Run again"
