"""Drive the TUI's file-reports flow with a SoftHSM2 token and print what happened as JSON.

Run by tests/tui/test_softhsm.py in a subprocess: a PKCS#11 library reads SOFTHSM2_CONF
once per process, so the token must not share a process with other suites' tokens.
Usage: python -m tests.tui.softhsm_flow REPORTS_DIR PIN_TO_TYPE
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any


async def drive(reports: Path, pin: str) -> dict[str, Any]:
    from sochi_cli.tui.app import SochiApp
    from tests.tui.conftest import screen_text, wait_for
    from tests.tui.test_file_reports import pick_and_check, step

    seen: dict[str, Any] = {}
    app = SochiApp(first_screen="file")
    async with app.run_test(size=(120, 40)) as pilot:
        await pick_and_check(pilot, app, reports)
        await pilot.press("f")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen")
        seen["signer_kind"] = app.screen._kind()
        await pilot.press("enter")
        panel = None
        await wait_for(
            pilot,
            lambda: (
                type(app.screen).__name__ == "SecretScreen"
                or (app.screen.query("FaultPanel") and app.screen.query_one("FaultPanel").fault)
            ),
            what="the PIN prompt or a fault",
        )
        if type(app.screen).__name__ == "SecretScreen":
            seen["pin_prompt"] = screen_text(app)
            secret = app.screen.query_one("#secret")
            seen["masked"] = bool(secret.password)
            await pilot.press(*pin, "enter")
            await wait_for(
                pilot,
                lambda: step(app) == "file-done" or app.screen.query_one("FaultPanel").fault,
                timeout=60,
            )
        panel = app.screen.query_one("FaultPanel").fault
        seen["fault"] = None if panel is None else {"code": panel.code, "message": panel.message}
        seen["step"] = step(app)
        seen["summary"] = screen_text(app) if step(app) == "file-done" else None
        seen["running"] = app.is_running
    return seen


def main() -> int:
    reports, pin = Path(sys.argv[1]), sys.argv[2]
    print(json.dumps(asyncio.run(drive(reports, pin))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
