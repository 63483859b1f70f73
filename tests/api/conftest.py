"""Fixtures: the real sandbox operator on a loopback socket (uvicorn thread), demo-seeded,
its clock on the next Wednesday noon in Bishkek (outside the Friday maintenance window)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina

from tests.api.servers import serve
from tests.support import Result, run_cli


def _next_wednesday_noon() -> datetime:
    """The next Wednesday 12:00 Bishkek (06:00 UTC) after now: never in a maintenance window,
    and ahead of this machine's clock, so signing times made now are never "in the future"."""
    now = datetime.now(UTC)
    moment = now.replace(hour=6, minute=0, second=0, microsecond=0)
    moment += timedelta(days=(2 - moment.weekday()) % 7)
    return moment if moment > now else moment + timedelta(days=7)


WEDNESDAY_NOON = _next_wednesday_noon()


@dataclass
class Sandbox:
    root: str  # http://127.0.0.1:PORT
    api: str  # …/api/v1
    data_dir: Path
    facts: dict[str, Any]
    app: Any

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.api}/sandbox/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    @property
    def rep(self) -> dict[str, Any]:
        return dict(self.facts["representative"])

    @property
    def self_filer(self) -> dict[str, Any]:
        return dict(self.facts["self_filer"])


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from sochi_cli.sandbox import create_app

    data_dir = tmp_path_factory.mktemp("sandbox")
    app = create_app(data_dir, seed="demo", bulk_clients=3, now=WEDNESDAY_NOON)
    facts = json.loads((data_dir / "demo" / "demo.json").read_text())
    with serve(app, lifespan=True) as root:
        yield Sandbox(root, root + "/api/v1", data_dir, facts, app)


@pytest.fixture
def sb(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox with a clean clock, no chaos and the profile pointed at it."""
    sandbox.control("PUT", "clock", {"now": WEDNESDAY_NOON.isoformat(), "frozen": False})
    sandbox.control(
        "PUT",
        "chaos",
        {"error_rate": 0, "latency_ms": 0, "drop_after_commit_rate": 0, "drop_mode": "error"},
    )
    yield sandbox
    sandbox.control(
        "PUT",
        "chaos",
        {"error_rate": 0, "latency_ms": 0, "drop_after_commit_rate": 0, "drop_mode": "error"},
    )


@pytest.fixture
def cli_env(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    monkeypatch.setenv("SOCHI_API_URL", sb.api)
    monkeypatch.setenv("SOCHI_KEY_FILE", sb.rep["pkcs12"])
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", sb.facts["passphrase"])
    return sb


@pytest.fixture
def logged_in(cli_env: Sandbox) -> Sandbox:
    result = run_cli("login")
    assert result.code == 0, result.stderr
    return cli_env


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    """Retries happen (bounded attempts) but without real waiting."""
    with stamina.set_testing(True, attempts=3):
        yield


def ok(result: Result) -> Result:
    assert result.code == 0, result.stderr
    return result


def as_json(result: Result) -> Any:
    return json.loads(ok(result).stdout)
