"""Fixtures for `sochi doctor`: one demo-seeded sandbox on a loopback socket for the session,
reset before each test; helpers to log in, run the doctor in-process and pick a finding.

The doctor's view of "this machine's clock" is the sandbox clock unless a test says
otherwise (the clock tests use the real one), so certificate and POA dates line up with the
operator's pinned Wednesday.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import stamina

from tests.api.conftest import WEDNESDAY_NOON
from tests.api.conftest import Sandbox as BaseSandbox
from tests.api.servers import serve
from tests.support import Result, bearer_call, run_cli

QUIET = {"error_rate": 0, "latency_ms": 0, "drop_after_commit_rate": 0, "drop_mode": "error"}
REP_BALANCE = 5_000_000
SELF_BALANCE = 300_000


@dataclass
class Sandbox(BaseSandbox):
    def now(self) -> datetime:
        """The operator's clock (in-process: the app is ours)."""
        return self.app.state.sandbox.clock.now()  # type: ignore[no-any-return]

    def api_call(self, method: str, path: str, token: str, body: Any = None) -> Any:
        return bearer_call(self.api, method, path, token, body)

    def new_certificate(self, directory: Path, passphrase: str = "", **fields: Any) -> Path:
        """A fresh key + certificate of the representative (any validity), as a .p12 file
        under the demo passphrase (what SOCHI_KEY_PASSPHRASE holds) unless told another."""
        from sochi_cli.sandbox.seed import DEMO_PASSPHRASE

        passphrase = passphrase or DEMO_PASSPHRASE
        body = {"inn": self.rep["inn"], "owner_name": "Aida Beishenova", **fields}
        body["passphrase"] = passphrase
        issued = self.control("POST", "certificates", body)
        path = directory / f"cert-{issued['serial']}.p12"
        path.write_bytes(base64.b64decode(issued["pkcs12"]))
        path.chmod(0o600)
        return path


@pytest.fixture(scope="session")
def doctor_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from sochi_cli.sandbox import create_app

    data_dir = tmp_path_factory.mktemp("doctor-sandbox")
    app = create_app(data_dir, seed="demo", bulk_clients=2, now=WEDNESDAY_NOON)
    facts = json.loads((data_dir / "demo" / "demo.json").read_text())
    with serve(app, lifespan=True) as root:
        yield Sandbox(root, root + "/api/v1", data_dir, facts, app)


@pytest.fixture
def sb(doctor_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The sandbox in its calm state, the profile pointed at it as the demo representative."""
    sandbox = doctor_sandbox  # calm: as created, and as every test leaves it
    monkeypatch.setenv("SOCHI_API_URL", sandbox.api)
    monkeypatch.setenv("SOCHI_KEY_FILE", sandbox.rep["pkcs12"])
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", sandbox.facts["passphrase"])
    yield sandbox
    _calm(sandbox)


def _calm(sandbox: Sandbox) -> None:
    sandbox.control("PUT", "clock", {"now": WEDNESDAY_NOON.isoformat(), "frozen": False})
    sandbox.control("PUT", "chaos", QUIET)
    sandbox.control("PUT", "geo", {"country": None, "ip": None})
    sandbox.control("PUT", "agency", {"delivery_delay_seconds": 0, "verdict_delay_seconds": 0})
    sandbox.control("PUT", "balance", {"inn": sandbox.rep["inn"], "balance": REP_BALANCE})
    sandbox.control("PUT", "balance", {"inn": sandbox.self_filer["inn"], "balance": SELF_BALANCE})


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    with stamina.set_testing(True, attempts=2):
        yield


def login(sb: Sandbox, who: str = "representative", monkeypatch: Any = None) -> Result:
    """`sochi login` with the demo key of `who` (environment switched to that key)."""
    if monkeypatch is not None:
        monkeypatch.setenv("SOCHI_KEY_FILE", sb.facts[who]["pkcs12"])
    result = run_cli("login")
    assert result.code == 0, result.stderr
    return result


def run(
    sb: Sandbox | None,
    *groups: str,
    clock: Callable[[], datetime] | None = None,
    offline: bool = False,
    pin: str | None = None,
) -> Any:
    """The doctor in-process (as the TUI calls it) on `groups`."""
    from sochi_cli.services.diagnostics import DoctorOptions, run_doctor

    if clock is None:
        clock = sb.now if sb is not None else (lambda: datetime.now(UTC))
    options = DoctorOptions(
        only=groups,
        offline=offline,
        clock=clock,
        pin=(lambda: pin) if pin else None,
        passphrase=lambda: os.environ.get("SOCHI_KEY_PASSPHRASE"),
    )
    return run_doctor(options)


def finding(report: Any, check_id: str) -> Any:
    found = [f for f in report.findings if f.id == check_id]
    assert found, f"no finding {check_id}: {[f.id for f in report.findings]}"
    return found[0]


def result_of(report: Any, check_id: str) -> str:
    return str(finding(report, check_id).result.value)


def bishkek_date(moment: datetime) -> str:
    return (moment + timedelta(hours=6)).date().isoformat()


@dataclass
class PlannedFile:
    path: Path
    sha256: str = "0" * 64
    size: int = 100


@dataclass
class PlannedItem:
    """What the journal needs of a plan item (`Journal.start_batch`), for crafted journals."""

    idempotency_key: str
    file: PlannedFile
    client_inn: str
    form: str = "STI-077"
    period: str = "2026-10"
    correction: int = 0
    attachments: tuple[()] = ()


def doctor_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("--json", "doctor", *args)
    return result.code, json.loads(result.stdout)


# -- SoftHSM2 tokens holding the demo representative's key ------------------------------------
# The PKCS#11 library is loaded once per process and reads SOFTHSM2_CONF only then: these
# tokens are created and used from subprocesses, so tests/signing keeps its own in-process.

_IMPORT = """
import sys
from pathlib import Path
from cryptography.hazmat.primitives.serialization import pkcs12
from sochi_cli.token import pkcs11 as p11
p12, library, pin, *labels = sys.argv[1:]
key, cert, chain = pkcs12.load_key_and_certificates(Path(p12).read_bytes(), b"sochi-demo")
for label in labels:
    p11.import_pkcs12(library=library, token=label, pin=pin, private_key=key,
                      certificate=cert, chain=chain, key_id=b"\\x01", label="demo")
"""


@dataclass
class Hsm:
    conf: Path
    library: Path
    pin: str  # unique per test session: the bundle test proves it never leaks
    labels: dict[str, str]  # state → token label

    def env(self, state: str, **extra: str) -> dict[str, str]:
        """Environment for a `sochi` subprocess signing with the token in `state`."""
        return {
            "SOFTHSM2_CONF": str(self.conf),
            "SOCHI_SIGNER": "pkcs11",
            "SOCHI_PKCS11_LIB": str(self.library),
            "SOCHI_TOKEN_LABEL": self.labels[state],
            **extra,
        }


@pytest.fixture(scope="session")
def hsm(doctor_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Hsm:
    """Tokens in four PIN states, each with the demo representative's key and certificate."""
    import secrets
    import subprocess
    import sys

    from tests.signing import softhsm as sh

    conf = sh.write_config(tmp_path_factory.mktemp("doctor-softhsm"))
    pin = "pin-" + secrets.token_hex(6)
    labels = {state: f"doctor-{state}" for state in ("ok", "low", "final", "locked")}
    for label in labels.values():
        sh.init_token(conf, label, pin)
    subprocess.run(
        [sys.executable, "-c", _IMPORT, doctor_sandbox.rep["pkcs12"], str(sh.LIBRARY), pin,
         *labels.values()],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )  # fmt: skip
    sh.lock_user_pin(conf, labels["final"], sh.CKF_USER_PIN_FINAL_TRY)
    sh.lock_user_pin(conf, labels["locked"])
    return Hsm(conf, sh.LIBRARY, pin, labels)
