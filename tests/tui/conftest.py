"""Fixtures for the TUI tests: the real sandbox operator on 127.0.0.1, a logged-in profile,
and helpers to drive `SochiApp` with Textual's Pilot."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina

from tests.batch.operator import Operator, running_operator
from tests.support import run_cli

# Wednesday 25 November 2026, 12:00 Bishkek: the frozen clock of the snapshot sandbox
FIXED_NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The TUI's remembered state (screen, filters, widths) in a per-test directory."""
    path = tmp_path / "state"
    monkeypatch.setenv("SOCHI_STATE_DIR", str(path))
    return path


@pytest.fixture(scope="package")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    with running_operator(tmp_path_factory.mktemp("tui-operator"), bulk_clients=40) as found:
        yield found


@pytest.fixture
def op(operator: Operator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Operator]:
    """The operator calm again, this test's environment pointed at it and logged in."""
    operator.calm()
    for name, value in operator.env().items():
        monkeypatch.setenv(name, value)
    with stamina.set_testing(True, attempts=2):
        result = run_cli("login")
        assert result.code == 0, result.stderr
        yield operator


@pytest.fixture(scope="package")
def frozen_operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A demo sandbox whose clock stands still at FIXED_NOW (for snapshots) and a token.

    The token is obtained by signing the challenge with signingTime = the sandbox's clock,
    so it works whatever this machine's date is; it never expires on a frozen clock.
    """
    from cryptography.hazmat.primitives.serialization import Encoding

    from sochi_cli.cms import sign_detached
    from sochi_cli.sandbox import create_app
    from sochi_cli.token.file import KeySigner
    from tests.api.servers import serve

    data_dir = tmp_path_factory.mktemp("frozen-operator")
    app = create_app(data_dir, seed="demo", bulk_clients=3, now=FIXED_NOW)
    facts = json.loads((data_dir / "demo" / "demo.json").read_text())
    with serve(app, lifespan=True) as root:
        api = root + "/api/v1"
        put = httpx.put(f"{api}/sandbox/clock", json={"now": FIXED_NOW.isoformat(), "frozen": True})
        put.raise_for_status()
        signer = KeySigner.from_pkcs12(Path(facts["representative"]["pkcs12"]), b"sandbox")
        challenge = httpx.post(f"{api}/auth/challenge").json()
        nonce = base64.b64decode(challenge["nonce"])
        body = {
            "challenge_id": challenge["challenge_id"],
            "certificate": base64.b64encode(signer.certificate.public_bytes(Encoding.DER)).decode(),
            "signature": base64.b64encode(
                sign_detached(nonce, signer, signing_time=FIXED_NOW)
            ).decode(),
        }
        token = httpx.post(f"{api}/auth/token", json=body)
        token.raise_for_status()
        yield {"api": api, "token": token.json()["access_token"], "facts": facts}


async def wait_for(
    pilot: Any, condition: Callable[[], Any], *, timeout: float = 30.0, what: str = ""
) -> Any:
    """Let the app run until `condition()` is truthy (workers, network); fail after timeout.

    Generous on purpose: on a loaded 2-core machine a screen's first load can take seconds;
    a passing test waits only as long as the condition needs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception:  # a widget not mounted yet
            value = None
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


def screen_text(app: Any) -> str:
    """Everything the current screen shows, as plain text (what a user reads)."""
    from rich.console import Console
    from textual.widgets import OptionList, Static

    from sochi_cli.tui.widgets.record_table import RecordTable

    console = Console(width=200, record=True, color_system=None, file=open(os.devnull, "w"))  # noqa: SIM115
    parts = []
    for widget in app.screen.query("*"):
        if isinstance(widget, Static) and widget.display:
            content = widget.content
            if isinstance(content, str):
                parts.append(content)
            else:
                console.print(content)
                parts.append(console.export_text())
        if isinstance(widget, OptionList):
            parts.extend(
                str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count)
            )
        if isinstance(widget, RecordTable):
            parts.extend(" ".join(r.cells) for r in widget.records)
    return "\n".join(parts)


async def cli(*args: str) -> Any:
    """`run_cli` from an async test: the batch engine runs its own event loop, in a thread."""
    return await asyncio.to_thread(run_cli, *args)
