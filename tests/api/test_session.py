"""Login by signed challenge, whoami, logout; tokens stored 0600; refresh on expiry."""

from __future__ import annotations

import json
import stat

import pytest

from sochi_cli.errors import ExitCode
from sochi_cli.services.session import session_path
from tests.api.conftest import Sandbox, as_json, ok
from tests.support import run_cli


def test_login_stores_tokens_0600_and_whoami_confirms(cli_env: Sandbox) -> None:
    data = as_json(run_cli("login", "--json"))
    assert data["subscriber"]["inn"] == cli_env.rep["inn"]
    path = session_path("sandbox")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    who = as_json(run_cli("whoami", "--json"))
    assert who["inn"] == cli_env.rep["inn"] and who["kind"] == "tax_representative"
    assert "access_token" not in json.dumps(who)
    plain = ok(run_cli("whoami"))
    assert f"inn\t{cli_env.rep['inn']}" in plain.stdout


def test_logout_deletes_the_session(logged_in: Sandbox) -> None:
    assert as_json(run_cli("logout", "--json"))["logged_out"] is True
    assert not session_path("sandbox").exists()
    result = run_cli("whoami")
    assert result.code == ExitCode.AUTH
    assert result.stderr.strip() == "error: not logged in (profile sandbox) — run `sochi login`"


def test_expired_access_token_is_refreshed_transparently(logged_in: Sandbox) -> None:
    before = json.loads(session_path("sandbox").read_text())
    logged_in.control("POST", "clock/advance", {"seconds": 1000})  # access tokens live 900 s
    who = as_json(run_cli("whoami", "--json"))
    assert who["inn"] == logged_in.rep["inn"]
    after = json.loads(session_path("sandbox").read_text())
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]


def test_expired_refresh_token_says_login(logged_in: Sandbox) -> None:
    logged_in.control("POST", "clock/advance", {"seconds": 31 * 86400})
    before = session_path("sandbox").read_bytes()
    result = run_cli("account", "show")
    assert result.code == ExitCode.AUTH
    assert "session has expired" in result.stderr and "sochi login" in result.stderr
    assert session_path("sandbox").read_bytes() == before  # nothing untrue written


def test_wrong_passphrase_is_an_auth_error(
    cli_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", "wrong")
    result = run_cli("login")
    assert result.code == ExitCode.AUTH
    assert not session_path("sandbox").exists()


def test_passphrase_needed_without_terminal_names_the_variable(
    cli_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOCHI_KEY_PASSPHRASE")
    result = run_cli("login")
    assert result.code == ExitCode.USAGE
    assert "SOCHI_KEY_PASSPHRASE" in result.stderr


def test_access_token_from_environment(logged_in: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    token = json.loads(session_path("sandbox").read_text())["access_token"]
    session_path("sandbox").unlink()
    monkeypatch.setenv("SOCHI_ACCESS_TOKEN", token)
    assert as_json(run_cli("account", "show", "--json"))["inn"] == logged_in.rep["inn"]


def test_parallel_commands_with_an_expired_token_all_refresh_once_and_succeed(
    logged_in: Sandbox,
) -> None:
    """Scripts run sochi in parallel: when the access token has expired, every process needs
    a refresh, refresh tokens are single use — one process refreshes, the others wait for it
    and use the tokens it saved (real processes, 6 at a time, 2 rounds)."""
    import os
    import subprocess
    import sys

    commands = [["whoami"], ["account", "balance"], ["clients", "list"]] * 2
    for _ in range(2):
        logged_in.control("POST", "clock/advance", {"seconds": 1000})  # access tokens live 900 s
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "sochi_cli", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=dict(os.environ),
            )
            for args in commands
        ]
        try:
            outcomes = [(p.wait(timeout=60), p.stderr.read().decode()) for p in procs]  # type: ignore[union-attr]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        assert [code for code, _ in outcomes] == [0] * len(commands), outcomes
    assert as_json(run_cli("whoami", "--json"))["inn"] == logged_in.rep["inn"]
