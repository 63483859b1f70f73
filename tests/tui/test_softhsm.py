"""The TUI's filing flow with a real PKCS#11 token (SoftHSM2): PIN in a masked modal with the
token's PIN state, a wrong PIN reported without a crash, a missing token named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.batch.operator import Operator, access_token, write_reports
from tests.support import run_sochi

PIN = "48151623"
LABEL = "sochi-tui"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory, operator: Operator) -> Iterator[dict[str, str]]:
    """The representative's key on a throwaway SoftHSM2 token (imported by `sochi token import`)."""
    from tests.signing import softhsm as sh

    conf = sh.write_config(tmp_path_factory.mktemp("tui-softhsm"))
    sh.init_token(conf, LABEL, pin=PIN)
    env = {"SOFTHSM2_CONF": str(conf), "SOCHI_PKCS11_LIB": str(sh.LIBRARY)}
    imported = run_sochi(
        "token", "import", "--p12", operator.rep["pkcs12"], "--token-label", LABEL,
        "--id", "01", "--label", "demo",
        env={**env, "SOCHI_PIN": PIN, "SOCHI_KEY_PASSPHRASE": operator.facts["passphrase"]},
    )  # fmt: skip
    assert imported.code == 0, imported.stderr
    yield env


def drive(reports: Path, typed_pin: str, env: dict[str, str]) -> dict[str, Any]:
    environment = {k: v for k, v in os.environ.items() if k != "SOCHI_PIN"}
    environment.update(env)
    environment.update({"SOCHI_SIGNER": "pkcs11", "PYTHONPATH": str(ROOT)})
    proc = subprocess.run(
        [sys.executable, "-m", "tests.tui.softhsm_flow", str(reports), typed_pin],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert PIN not in proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_filing_with_a_token_asks_the_pin_masked_and_files(
    op: Operator, token: dict[str, str], tmp_path: Path
) -> None:
    write_reports(tmp_path, count=3, period="2023-07")
    seen = drive(tmp_path, PIN, {**token, "SOCHI_TOKEN_LABEL": LABEL})
    assert seen["signer_kind"] == "pkcs11"
    assert seen["masked"] is True
    assert f"token {LABEL}: PIN ok" in seen["pin_prompt"]
    assert seen["fault"] is None and seen["step"] == "file-done", seen
    assert "accepted 3" in seen["summary"]
    assert len(op.submissions(access_token(), "2023-07")) == 3


def test_a_wrong_pin_is_reported_and_nothing_is_sent(
    op: Operator, token: dict[str, str], tmp_path: Path
) -> None:
    write_reports(tmp_path, count=2, period="2023-08")
    seen = drive(tmp_path, "00000000", {**token, "SOCHI_TOKEN_LABEL": LABEL})
    assert seen["fault"]["code"] == "pin_wrong", seen
    assert "wrong PIN" in seen["fault"]["message"] and seen["running"] is True
    assert op.submissions(access_token(), "2023-08") == []


def test_a_missing_token_is_named_and_the_app_stays_up(
    op: Operator, token: dict[str, str], tmp_path: Path
) -> None:
    write_reports(tmp_path, count=1, period="2023-09")
    seen = drive(tmp_path, PIN, {**token, "SOCHI_TOKEN_LABEL": "pulled-out"})
    assert seen["fault"]["code"] == "token_missing", seen
    assert "pulled-out" in seen["fault"]["message"] and seen["running"] is True
    assert op.submissions(access_token(), "2023-09") == []
