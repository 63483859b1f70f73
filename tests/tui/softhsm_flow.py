"""Drive `sochi tui` with a SoftHSM2 token and print what a user saw as JSON (one line).

Run by tests/tui/test_softhsm.py in a subprocess: a PKCS#11 library reads SOFTHSM2_CONF
once per process, so the token must not share a process with other suites' tokens.
Usage: python -m tests.tui.softhsm_flow SCENARIO REPORTS_DIR PIN [WRONG_PIN]

Scenarios:
- `login-and-file`: no session; log in with the token inside the TUI (PIN dialog), then file
  the reports with the signer the login remembered.
- `wrong-pins`: a token that is not plugged in, then a wrong PIN, then the PIN dialog again
  (the token now says tries are few) and the right PIN.
- `pulled-out`: the token disappears between two signatures of the batch (its directory is
  moved away after the first signing call, so SoftHSM really loses it); the app stays up.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any


def shown(app: Any) -> str:
    from tests.tui.conftest import screen_text

    return screen_text(app) + "\n".join(str(n.message) for n in app._notifications)


def submissions(period: str) -> int:
    """How many submissions the operator holds for `period` (asked as the test, not the app)."""
    import httpx

    from tests.batch.operator import access_token

    response = httpx.get(
        f"{os.environ['SOCHI_API_URL']}/submissions",
        params={"period": period, "limit": "500"},
        headers={"Authorization": f"Bearer {access_token()}"},
        timeout=30,
    )
    response.raise_for_status()
    return len(response.json()["items"])


async def pin_prompt(pilot: Any, app: Any, seen: dict[str, Any], name: str) -> None:
    """Wait for the masked PIN dialog and record what it says about the token."""
    from tests.tui.conftest import screen_text, wait_for

    await wait_for(pilot, lambda: type(app.screen).__name__ == "SecretScreen", what=name)
    secret = app.screen.query_one("#secret")
    seen[name] = {
        "text": screen_text(app),
        "masked": bool(secret.password),
        "warning": bool(app.screen.query(".warning")),
    }


def fault(app: Any) -> dict[str, Any] | None:
    panel = app.screen.query_one("FaultPanel").fault
    if panel is None:
        return None
    return {"code": panel.code, "message": panel.message, "hint": panel.hint,
            "batch": panel.resumable_batch}  # fmt: skip


async def file_with_token(pilot: Any, app: Any, reports: Path) -> None:
    """Screen 4: mark the folder, check it, f, and the signer dialog as the profile fills it."""
    from tests.tui.conftest import wait_for
    from tests.tui.test_file_reports import pick_and_check

    await pilot.press("4")
    await wait_for(pilot, lambda: app.current_mode == "file")
    await pick_and_check(pilot, app, reports)
    await pilot.press("f")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen", what="signer")


async def login_and_file(pilot: Any, app: Any, reports: Path, pin: str) -> dict[str, Any]:
    from sochi_cli.services.profiles import load_config
    from tests.tui.conftest import screen_text, wait_for
    from tests.tui.test_file_reports import step

    seen: dict[str, Any] = {}
    await wait_for(pilot, lambda: app.snapshot.overview_fault, what="not logged in")
    await pilot.press("L")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen", what="login")
    app.screen.query_one("#kind").focus()
    await pilot.press("down", "enter")  # Token (RuToken, PKCS#11); its label from the profile
    tokens = app.screen.query_one("#tokens")
    seen["login_dialog"] = await wait_for(
        pilot, lambda: str(tokens.render()).strip(), what="the tokens present"
    )
    app.screen.query_one("#token").focus()
    await pilot.press("enter")
    await pin_prompt(pilot, app, seen, "login_pin")
    await pilot.press(*pin, "enter")
    overview = await wait_for(pilot, lambda: app.snapshot.overview, what="logged in")
    seen["logged_in"] = overview.inn
    config = load_config(None)
    seen["remembered"] = {k: config.get(k) for k in ("signer", "token_label")}
    await file_with_token(pilot, app, reports)
    seen["signer_kind"] = app.screen._kind()  # the login's signer, remembered
    await pilot.press("enter")
    await pin_prompt(pilot, app, seen, "file_pin")
    await pilot.press(*pin, "enter")
    await wait_for(pilot, lambda: step(app) == "file-done" or fault(app), timeout=90)
    seen["fault"] = fault(app)
    seen["summary"] = screen_text(app)
    return seen


async def wrong_pins(
    pilot: Any, app: Any, reports: Path, pin: str, wrong: str, period: str
) -> dict[str, Any]:
    from tests.tui.conftest import screen_text, wait_for
    from tests.tui.test_file_reports import step

    seen: dict[str, Any] = {}
    await file_with_token(pilot, app, reports)
    app.screen.query_one("#token").value = "pulled-out"  # a token that is not plugged in
    app.screen.query_one("#token").focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: fault(app), what="the missing token")
    seen["missing"] = fault(app)
    seen["missing_said"] = shown(app)
    await pilot.press("f")  # again, with the token that is there
    await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen", what="signer")
    await pilot.press("enter")
    await pin_prompt(pilot, app, seen, "first_pin")
    await pilot.press(*wrong, "enter")
    await wait_for(pilot, lambda: fault(app), what="the wrong PIN")
    seen["wrong"] = fault(app)
    seen["sent_after_wrong"] = submissions(period)
    seen["running"] = app.is_running
    await pilot.press("f")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen", what="signer")
    await pilot.press("enter")
    await pin_prompt(pilot, app, seen, "second_pin")  # the token now counts the wrong one
    await pilot.press(*pin, "enter")
    await wait_for(pilot, lambda: step(app) == "file-done" or fault(app), timeout=90)
    seen["fault"] = fault(app)
    seen["summary"] = screen_text(app)
    return seen


async def pulled_out(pilot: Any, app: Any, reports: Path, pin: str) -> dict[str, Any]:
    """The token's directory moves away right after the batch's first signing call."""
    from sochi_cli.token.pkcs11 import PKCS11Signer
    from tests.tui.conftest import wait_for
    from tests.tui.test_file_reports import step

    seen: dict[str, Any] = {}
    conf = Path(os.environ["SOFTHSM2_CONF"])
    tokens = conf.parent / "tokens"
    [token_dir] = list(tokens.iterdir())
    away = conf.parent / "pulled-out"
    original = PKCS11Signer.sign_digests
    calls: list[int] = []

    def sign_then_pull(self: PKCS11Signer, digests: Any) -> list[bytes]:
        signatures = original(self, digests)
        calls.append(len(digests))
        if len(calls) == 1:
            shutil.move(str(token_dir), str(away))  # unplugged between two signatures
        return signatures

    PKCS11Signer.sign_digests = sign_then_pull  # type: ignore[method-assign]
    await file_with_token(pilot, app, reports)
    await pilot.press("enter")
    await pin_prompt(pilot, app, seen, "pin")
    await pilot.press(*pin, "enter")
    await wait_for(pilot, lambda: fault(app) or step(app) == "file-done", timeout=90)
    seen["fault"] = fault(app)
    seen["said"] = shown(app)
    seen["signed_before"] = calls[0] if calls else 0
    seen["running"] = app.is_running
    seen["step"] = step(app)
    seen["token_dir"], seen["away"] = str(token_dir), str(away)
    return seen


async def drive(scenario: str, reports: Path, pin: str, wrong: str | None) -> dict[str, Any]:
    from sochi_cli.tui.app import SochiApp

    app = SochiApp(first_screen="home")
    async with app.run_test(size=(120, 40)) as pilot:
        if scenario == "login-and-file":
            return await login_and_file(pilot, app, reports, pin)
        if scenario == "wrong-pins":
            period = reports.name
            return await wrong_pins(pilot, app, reports, pin, wrong or "", period)
        return await pulled_out(pilot, app, reports, pin)


def main() -> int:
    scenario, reports, pin = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    wrong = sys.argv[4] if len(sys.argv) > 4 else None
    print(json.dumps(asyncio.run(drive(scenario, reports, pin, wrong))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
