"""No operator command writes the PIN or a session token to stdout, stderr or the log file:
a SoftHSM2 token with a distinctive PIN, every command run with --verbose and SOCHI_LOG_FILE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sochi_cli.services.session import session_path
from tests.api.conftest import Sandbox
from tests.operator.conftest import file_report
from tests.support import Result, run_sochi

PIN = "58203917"  # distinctive, so a leak is found by grep


@pytest.fixture
def token_env(logged_in: Sandbox, tmp_path: Path) -> dict[str, str]:
    """A throwaway SoftHSM2 token holding the representative's key, set up and used only in
    subprocesses: a PKCS#11 library is loaded once per process and reads its config then, so
    loading it here would hide other tests' tokens."""
    from tests.signing import softhsm as sh

    conf = sh.write_config(tmp_path / "softhsm")
    sh.init_token(conf, "sochi-ops", pin=PIN)
    env = {
        "SOFTHSM2_CONF": str(conf),
        "SOCHI_PKCS11_LIB": str(sh.LIBRARY),
        "SOCHI_TOKEN_LABEL": "sochi-ops",
        "SOCHI_PIN": PIN,
        "SOCHI_LOG_FILE": str(tmp_path / "sochi.log"),
    }
    imported = run_sochi(
        "token", "import", "--p12", logged_in.rep["pkcs12"], "--token-label", "sochi-ops",
        "--label", "demo", "--id", "01", env=env,
    )  # fmt: skip
    assert imported.code == 0, imported.stderr
    return env


def test_operator_commands_never_leak_pin_or_tokens(
    logged_in: Sandbox, token_env: dict[str, str], tmp_path: Path
) -> None:
    sb, env = logged_in, token_env
    runs: list[Result] = [run_sochi("login", "--signer", "pkcs11", "--verbose", env=env)]
    assert runs[0].code == 0, runs[0].stderr
    session = json.loads(session_path("sandbox").read_text())
    sub = file_report(sb, "2025-09").submission
    item = sb.control(
        "POST", "inbox",
        {"inn": sb.rep["inn"], "agency": "SF", "kind": "notice", "subject": "s", "body": "b"},
    )  # fmt: skip
    commands = [
        ("submissions", "list"),
        ("submissions", "show", sub.id, "--json"),
        ("submissions", "receipts", sub.id),
        ("submissions", "download", sub.id, "--out", str(tmp_path / "out")),
        ("events", "--from-start", "--json"),
        ("inbox", "list", "--json"),
        ("inbox", "show", item["id"]),
        ("inbox", "ack", item["id"], "--signer", "pkcs11", "--json"),
        ("cert", "list"),
        ("cert", "status", "--signer", "pkcs11", "--json"),
        ("cert", "renew", "--early", "--json"),
    ]
    for args in commands:
        runs.append(run_sochi(*args, "--verbose", env=env))
        assert runs[-1].code == 0, (args, runs[-1].stderr)
    assert json.loads(runs[8].stdout)["already_acknowledged"] is False  # the PIN was used
    log = Path(env["SOCHI_LOG_FILE"]).read_text()
    assert "GET" in log or "HTTP Request" in log  # the log really was written
    for number, secret in enumerate((PIN, session["access_token"], session["refresh_token"])):
        for index, run in enumerate(runs):
            assert secret not in run.stdout, f"secret #{number} in stdout of run {index}"
            assert secret not in run.stderr, f"secret #{number} in stderr of run {index}"
        assert secret not in log, f"secret #{number} in the log file"
