"""End to end over a real loopback socket: `sochi sandbox serve --port 0` in a subprocess,
the CLI in subprocesses, a PIN on a SoftHSM2 token — and no secret in any output or log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sochi_cli.errors import ExitCode
from tests.api.conftest import WEDNESDAY_NOON
from tests.support import run_sochi, serving

pytestmark = pytest.mark.e2e
PIN = "73915046"  # distinctive, so a leak is found by grep


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:  # type: ignore[type-arg]
    data_dir = tmp_path_factory.mktemp("served-sandbox")
    seeded = ("--seed", "demo", "--bulk-clients", "2", "--data-dir", str(data_dir))
    with serving(*seeded) as (_, ready):
        api = ready["api_url"]
        assert api.startswith("http://127.0.0.1:")
        clock = {"now": WEDNESDAY_NOON.isoformat(), "frozen": False}
        httpx.put(f"{api}/sandbox/clock", json=clock, timeout=30).raise_for_status()
        facts = json.loads((data_dir / "demo" / "demo.json").read_text())
        yield api, facts


@pytest.fixture(scope="module")
def token(
    served: tuple[str, dict], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:  # type: ignore[type-arg]
    """The representative's key and certificate imported into a throwaway SoftHSM2 token.

    The import runs in a subprocess (`sochi token import`): a PKCS#11 library reads
    SOFTHSM2_CONF once per process, so loading it here would hide other suites' tokens.
    """
    from tests.signing import softhsm as sh

    _api, facts = served
    conf = sh.write_config(tmp_path_factory.mktemp("e2e-softhsm"))
    sh.init_token(conf, "sochi-e2e", pin=PIN)
    env = {
        "SOFTHSM2_CONF": str(conf),
        "SOCHI_PKCS11_LIB": str(sh.LIBRARY),
        "SOCHI_TOKEN_LABEL": "sochi-e2e",
    }
    imported = run_sochi(
        "token",
        "import",
        "--p12",
        facts["representative"]["pkcs12"],
        "--token-label",
        "sochi-e2e",
        "--id",
        "01",
        "--label",
        "demo",
        env={**env, "SOCHI_PIN": PIN, "SOCHI_KEY_PASSPHRASE": facts["passphrase"]},
    )
    assert imported.code == 0, imported.stderr
    yield env


def test_pkcs11_login_and_commands_never_leak_pin_or_tokens(
    served: tuple[str, dict],
    token: dict[str, str],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    api, facts = served
    log = tmp_path / "sochi.log"
    env = {**token, "SOCHI_API_URL": api, "SOCHI_PIN": PIN, "SOCHI_LOG_FILE": str(log)}
    runs = [run_sochi("login", "--signer", "pkcs11", "--verbose", env=env)]
    assert runs[0].code == 0, runs[0].stderr
    from sochi_cli.services.session import session_path

    session = json.loads(session_path("sandbox").read_text())
    secrets = {PIN, session["access_token"], session["refresh_token"], facts["passphrase"]}
    for args in (
        ("whoami", "--verbose"),
        ("whoami", "--json", "-v"),
        ("status", "--verbose"),
        ("clients", "list", "--verbose"),
        ("account", "show", "--json", "--verbose"),
    ):
        runs.append(run_sochi(*args, env=env))
        assert runs[-1].code == 0, runs[-1].stderr
    assert facts["representative"]["inn"] in runs[1].stdout
    bad = run_sochi(
        "account",
        "show",
        "--verbose",
        env={**env, "SOCHI_ACCESS_TOKEN": session["access_token"] + "x"},
    )
    assert bad.code == ExitCode.AUTH
    runs.append(bad)
    logged = log.read_text()
    assert "GET" in logged or "HTTP Request" in logged  # the log really was written
    for number, secret in enumerate(sorted(secrets - {facts["passphrase"]})):
        for index, run in enumerate(runs):
            assert secret not in run.stdout, f"secret #{number} in stdout of run {index}"
            assert secret not in run.stderr, f"secret #{number} in stderr of run {index}"
        assert secret not in logged, f"secret #{number} in the log file"


def test_wrong_pin_is_an_auth_error_and_no_session(
    served: tuple[str, dict],
    token: dict[str, str],  # type: ignore[type-arg]
) -> None:
    api, _facts = served
    result = run_sochi(
        "login", "--signer", "pkcs11", env={**token, "SOCHI_API_URL": api, "SOCHI_PIN": "00000000"}
    )
    assert result.code == ExitCode.AUTH
    assert "00000000" not in result.stderr
    from sochi_cli.services.session import session_path

    assert not session_path("sandbox").exists()
