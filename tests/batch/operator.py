"""A real sandbox operator on 127.0.0.1 for batch and reliability tests, plus report helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.api.servers import serve
from tests.support import bearer_call

QUIET_CHAOS = {"error_rate": 0, "latency_ms": 0, "drop_after_commit_rate": 0, "drop_mode": "error"}


def next_wednesday_noon() -> datetime:
    """Wednesday 12:00 Bishkek after now: outside maintenance, ahead of this machine's clock."""
    now = datetime.now(UTC)
    moment = now.replace(hour=6, minute=0, second=0, microsecond=0)
    moment += timedelta(days=(2 - moment.weekday()) % 7)
    return moment if moment > now else moment + timedelta(days=7)


def friday_evening(after: datetime) -> datetime:
    """Friday 18:00 Bishkek (12:00 UTC) after `after`: inside the weekly maintenance window."""
    moment = after.replace(hour=12, minute=0, second=0, microsecond=0)
    return moment + timedelta(days=(4 - moment.weekday()) % 7)


def behind_this_clock() -> datetime:
    """An hour behind this machine's clock, outside the weekly maintenance window: the
    operator then refuses what is signed here as `signature_invalid`
    (`signing_time_in_future`), a refusal no local check foresees."""
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    while moment.weekday() == 4 and (11, 0) <= (moment.hour, moment.minute) < (15, 0):
        moment -= timedelta(hours=1)
    return moment


@dataclass
class Operator:
    root: str
    api: str
    data_dir: Path
    facts: dict[str, Any]
    now: datetime

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.api}/sandbox/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    @property
    def rep(self) -> dict[str, Any]:
        return dict(self.facts["representative"])

    def env(self) -> dict[str, str]:
        """Environment for `sochi` as the demo tax representative with the file signer."""
        return {
            "SOCHI_API_URL": self.api,
            "SOCHI_KEY_FILE": self.rep["pkcs12"],
            "SOCHI_KEY_PASSPHRASE": self.facts["passphrase"],
        }

    def calm(self) -> None:
        self.control("PUT", "chaos", QUIET_CHAOS)
        self.control("PUT", "clock", {"now": self.now.isoformat(), "frozen": False})
        self.control("PUT", "agency", {"delivery_delay_seconds": 0, "verdict_delay_seconds": 0})
        self.control("PUT", "balance", {"inn": self.rep["inn"], "balance": 10**10})
        self.control("PUT", "limits", {"requests_per_second": 100000, "burst": 100000})

    def api_call(self, method: str, path: str, token: str, body: Any = None) -> Any:
        return bearer_call(self.api, method, path, token, body)

    def submissions(self, token: str, period: str) -> list[dict[str, Any]]:
        """Every submission the operator holds for `period` (all pages)."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = {"period": period, "limit": "500"}
            if cursor:
                params["cursor"] = cursor
            response = httpx.get(
                f"{self.api}/submissions",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            response.raise_for_status()
            page = response.json()
            found.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return found


@contextmanager
def running_operator(
    data_dir: Path, *, bulk_clients: int, history: bool = False
) -> Iterator[Operator]:
    """The demo-seeded sandbox under uvicorn in a thread on 127.0.0.1; stopped on exit."""
    from sochi_cli.sandbox import create_app

    now = next_wednesday_noon()
    app = create_app(data_dir, seed="demo", bulk_clients=bulk_clients, now=now, history=history)
    facts = json.loads((data_dir / "demo" / "demo.json").read_text())
    with serve(app, lifespan=True) as root:
        operator = Operator(root, root + "/api/v1", data_dir, facts, now)
        operator.calm()
        yield operator


def write_reports(
    out: Path, *, count: int, period: str, invalid: int = 0, today: date | None = None
) -> list[Any]:
    """`count` STI-077 reports for the generated clients (`invalid` of them broken)."""
    from sochi_cli.sandbox.samples import write_samples

    return write_samples(
        out, clients=count, invalid=invalid, form_code="STI-077", period=period, today=today
    )


def second_key(
    control: Any, inn: str, directory: Path, passphrase: str = "pw2"
) -> tuple[str, Path]:
    """(serial, PKCS#12 path, 0600) of a new key + certificate for `inn`, valid by this
    machine's clock (the sandbox's is ahead of it); `control` is a `/sandbox/…` caller."""
    import base64

    now = datetime.now(UTC).replace(microsecond=0)
    issued = control(
        "POST",
        "certificates",
        {
            "inn": inn,
            "owner_name": "Aida Beishenova",
            "position": "Chief accountant",
            "passphrase": passphrase,
            "not_before": (now - timedelta(days=1)).isoformat(),
            "not_after": (now + timedelta(days=365)).isoformat(),
        },
    )
    key = directory / f"{issued['serial']}.p12"
    key.write_bytes(base64.b64decode(issued["pkcs12"]))
    key.chmod(0o600)
    return str(issued["serial"]), key


def access_token() -> str:
    """The access token `sochi login` stored for the default (sandbox) profile."""
    from os import environ

    from sochi_cli.services.session import FileTokens

    token = FileTokens("sandbox", environ["SOCHI_API_URL"]).access_token()
    assert token
    return token
