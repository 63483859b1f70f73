"""Logging in inside `sochi tui`: the signer dialog starts where you type, says what is
missing in its own words, remembers the signer in the profile like `sochi login`, and
logs in with an E-Cloud key (PIN and the one-time code from the operator's SMS outbox).
The token (PIN) login runs with SoftHSM2 in tests/tui/test_softhsm.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sochi_cli.tui.app import SochiApp
from tests.batch.operator import Operator
from tests.tui.conftest import screen_text, wait_for


@pytest.fixture
def fresh(operator: Operator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Operator]:
    """The operator, and a profile that has never logged in nor named a key (no SOCHI_KEY_FILE)."""
    operator.calm()
    monkeypatch.setenv("SOCHI_API_URL", operator.api)
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", operator.facts["passphrase"])
    yield operator


def everything_said(app: SochiApp) -> str:
    """The screen and every notification shown so far."""
    return screen_text(app) + "\n".join(str(n.message) for n in app._notifications)


def profile_settings(app: SochiApp) -> dict[str, Any]:
    from sochi_cli.services.profiles import load_config

    config = load_config(None)  # read from the file again: what the next run will see
    return {k: config.get(k) for k in ("signer", "key_file", "inn", "cloud_credential")}


async def test_the_login_dialog_starts_in_the_empty_key_file_field_and_remembers_the_signer(
    fresh: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = Path(fresh.rep["pkcs12"])
    monkeypatch.chdir(key_file.parent)  # the user types a path relative to where they are
    app = SochiApp(first_screen="home")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot.overview_fault, what="not logged in")
        await pilot.press("L")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen")
        dialog = app.screen
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "key-file")
        await pilot.press("enter")  # nothing typed yet: the dialog says what it needs
        await wait_for(pilot, lambda: "Type the path of your key file" in screen_text(app))
        assert app.screen is dialog and app.focused.id == "key-file"
        await pilot.press(*"nokey.p12", "enter")
        await wait_for(pilot, lambda: "No file at nokey.p12" in screen_text(app))
        app.focused.value = ""
        await pilot.press(*key_file.name, "enter")  # the passphrase comes from the environment
        await wait_for(pilot, lambda: app.snapshot.overview, what="logged in")
        said = everything_said(app)
        assert "--key-file" not in said and "None" not in said  # no CLI words in the TUI
        assert profile_settings(app)["signer"] == "file"
        assert profile_settings(app)["key_file"] == str(key_file)  # whole, as `sochi login` has it
        await pilot.press("L")  # the next time it is prefilled from the profile
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen")
        assert app.screen.query_one("#key-file").value == str(key_file)
        assert app.focused.id == "key-file"  # Enter there continues


async def test_an_e_cloud_login_asks_the_pin_and_the_one_time_code_masked(
    fresh: Operator,
) -> None:
    from sochi_cli.sandbox.seed import DEMO_CREDENTIAL, DEMO_PIN, SELF_FILER_INN

    def sms(sent_before: int) -> str | None:
        """The newest one-time code of the sandbox's SMS outbox, once a new one was sent."""
        messages = httpx.get(
            f"{fresh.api}/sandbox/otp", params={"credential": DEMO_CREDENTIAL}, timeout=10
        ).json()["messages"]
        return str(messages[-1]["otp"]) if len(messages) > sent_before else None

    sent_before = len(
        httpx.get(f"{fresh.api}/sandbox/otp", params={"credential": DEMO_CREDENTIAL}).json()[
            "messages"
        ]
    )
    app = SochiApp(first_screen="home")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.snapshot.overview_fault, what="not logged in")
        await pilot.press("L")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen")
        app.screen.query_one("#kind").focus()
        await pilot.press("down", "down", "enter")  # the E-Cloud key
        await wait_for(pilot, lambda: app.screen.query_one("#inn").display)
        app.screen.query_one("#inn").focus()
        await pilot.press(*SELF_FILER_INN, "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SecretScreen", what="PIN")
        assert "E-Cloud PIN" in screen_text(app) and app.screen.query_one("#secret").password
        await pilot.press(*DEMO_PIN, "enter")
        await wait_for(
            pilot,
            lambda: (
                type(app.screen).__name__ == "SecretScreen" and "One-time code" in screen_text(app)
            ),
            what="the one-time code prompt",
        )
        assert "SMS" in screen_text(app) and app.screen.query_one("#secret").password
        code = await wait_for(pilot, lambda: sms(sent_before), what="the SMS")
        await pilot.press(*code, "enter")
        overview = await wait_for(pilot, lambda: app.snapshot.overview, what="logged in")
        assert overview.inn == SELF_FILER_INN
        settings = profile_settings(app)
        assert settings["signer"] == "cloud" and settings["inn"] == SELF_FILER_INN
        assert DEMO_PIN not in everything_said(app) and code not in everything_said(app)
