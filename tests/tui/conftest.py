"""Fixtures for the TUI tests: the real sandbox operator on 127.0.0.1, a logged-in profile,
and helpers to drive `SochiApp` with Textual's Pilot."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
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
    """A demo sandbox whose clock stands still at FIXED_NOW (for snapshots), with its filing
    history, a token, and a journal, archive and audit log of one batch filed at FIXED_NOW.

    The token is obtained by signing the challenge with signingTime = the sandbox's clock,
    so it works whatever this machine's date is; it never expires on a frozen clock. The
    batch is filed with this machine's clock moved to FIXED_NOW (time-machine), so its
    signatures, journal and audit times are the same on every run; `home` holds its data.
    """
    from cryptography.hazmat.primitives.serialization import Encoding

    from sochi_cli.cms import sign_detached
    from sochi_cli.sandbox import create_app
    from sochi_cli.token.file import KeySigner
    from tests.api.servers import serve

    data_dir = tmp_path_factory.mktemp("frozen-operator")
    app = create_app(data_dir, seed="demo", bulk_clients=3, now=FIXED_NOW, history=True)
    facts = json.loads((data_dir / "demo" / "demo.json").read_text())
    with serve(app, lifespan=True) as root:
        api = root + "/api/v1"
        put = httpx.put(f"{api}/sandbox/clock", json={"now": FIXED_NOW.isoformat(), "frozen": True})
        put.raise_for_status()
        signer = KeySigner.from_pkcs12(Path(facts["representative"]["pkcs12"]), b"sochi-demo")
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
        access = token.json()["access_token"]
        home = tmp_path_factory.mktemp("frozen-home")
        file_a_batch(api, access, facts, home)
        yield {"api": api, "token": access, "facts": facts, "home": home}


def file_a_batch(api: str, token: str, facts: dict[str, Any], home: Path) -> None:
    """`sochi submit` of three reports (one broken) to the frozen sandbox at FIXED_NOW."""
    import time_machine

    from sochi_cli.sandbox.samples import write_samples

    httpx.put(
        f"{api}/sandbox/agency", json={"delivery_delay_seconds": 0, "verdict_delay_seconds": 0}
    ).raise_for_status()
    reports = home / "reports"
    write_samples(reports, clients=3, invalid=1, period="2026-10", today=FIXED_NOW.date())
    (reports / "samples.json").unlink()  # the folder is the batch, not a manifest
    # the clock stands still: every signature says the same signingTime on every run
    with pytest.MonkeyPatch.context() as env, time_machine.travel(FIXED_NOW, tick=False):
        for name in [n for n in os.environ if n.startswith("SOCHI_")]:
            env.delenv(name)
        for name, where in (("CONFIG", "config"), ("DATA", "data"), ("CACHE", "cache")):
            env.setenv(f"SOCHI_{name}_DIR", str(home / where))
        env.setenv("SOCHI_API_URL", api)
        env.setenv("SOCHI_ACCESS_TOKEN", token)
        env.setenv("SOCHI_KEY_FILE", facts["representative"]["pkcs12"])
        env.setenv("SOCHI_KEY_PASSPHRASE", facts["passphrase"])
        env.chdir(reports)
        args = ["submit", ".", "--concurrency", "1", "--wait-timeout", "60"]
        env.setattr(sys, "argv", ["sochi", *args])  # what the journal records as the command
        filed = run_cli(*args)
    assert filed.code == 8, filed.stderr  # partial: the broken report is invalid


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
