"""`sochi tui` with a real PKCS#11 token (SoftHSM2): log in with it, file with it, the PIN in a
masked dialog that shows what the token says (tries left after a wrong PIN), a token not
plugged in, and a token pulled out in the middle of a batch — the app stays up, the journal
keeps what was filed, and the batch resumes exactly once.

Each scenario runs in its own process (tests/tui/softhsm_flow.py): the PKCS#11 library reads
SOFTHSM2_CONF once per process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.batch.operator import Operator, access_token, write_reports
from tests.reliability.checks import assert_filed_exactly_once
from tests.support import run_sochi
from tests.tui.conftest import cli

PIN = "48151623"
LABEL = "sochi-tui"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def token(tmp_path: Path, operator: Operator) -> Iterator[dict[str, str]]:
    """The representative's key on a throwaway SoftHSM2 token (imported by `sochi token import`);
    one per test, since the PIN's state and the token's presence are part of what is tested."""
    from tests.signing import softhsm as sh

    conf = sh.write_config(tmp_path / "softhsm")
    sh.init_token(conf, LABEL, pin=PIN)
    env = {"SOFTHSM2_CONF": str(conf), "SOCHI_PKCS11_LIB": str(sh.LIBRARY)}
    imported = run_sochi(
        "token", "import", "--p12", operator.rep["pkcs12"], "--token-label", LABEL,
        "--id", "01", "--label", "demo",
        env={**env, "SOCHI_PIN": PIN, "SOCHI_KEY_PASSPHRASE": operator.facts["passphrase"]},
    )  # fmt: skip
    assert imported.code == 0, imported.stderr
    yield {**env, "SOCHI_TOKEN_LABEL": LABEL}


def drive(scenario: str, reports: Path, env: dict[str, str], *pins: str) -> dict[str, Any]:
    environment = {k: v for k, v in os.environ.items() if k != "SOCHI_PIN"}
    environment.update(env)
    environment["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.tui.softhsm_flow", scenario, str(reports), *pins],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert PIN not in proc.stdout + proc.stderr  # never shown nor logged
    return result


async def test_logging_in_with_the_token_inside_the_tui_then_filing_with_it(
    op: Operator, token: dict[str, str], tmp_path: Path
) -> None:
    assert (await cli("logout")).code == 0
    write_reports(tmp_path, count=3, period="2023-07")
    seen = drive("login-and-file", tmp_path, token, PIN)
    assert f"{LABEL} (PIN ok)" in seen["login_dialog"]  # the tokens present, before any PIN
    for prompt in ("login_pin", "file_pin"):
        assert seen[prompt]["masked"] is True
        assert f"token {LABEL}: PIN ok" in seen[prompt]["text"]
    assert seen["logged_in"] == op.rep["inn"]
    assert seen["remembered"] == {"signer": "pkcs11", "token_label": LABEL}  # like `sochi login`
    assert seen["signer_kind"] == "pkcs11"  # filing starts from the remembered signer
    assert seen["fault"] is None and "accepted 3" in seen["summary"], seen
    assert len(op.submissions(access_token(), "2023-07")) == 3


async def test_a_missing_token_and_a_wrong_pin_send_nothing_and_the_tries_left_are_shown(
    op: Operator, token: dict[str, str], tmp_path: Path
) -> None:
    reports = tmp_path / "2023-08"
    write_reports(reports, count=2, period="2023-08")
    seen = drive("wrong-pins", reports, {**token, "SOCHI_SIGNER": "pkcs11"}, PIN, "00000000")
    missing = seen["missing"]
    assert missing["code"] == "token_missing" and "pulled-out" in missing["message"], missing
    assert "--token" not in seen["missing_said"]  # said in the TUI's words
    assert seen["first_pin"]["warning"] is False and "PIN ok" in seen["first_pin"]["text"]
    wrong = seen["wrong"]
    assert wrong["code"] == "pin_wrong" and "wrong PIN" in wrong["message"], wrong
    assert seen["sent_after_wrong"] == 0 and seen["running"] is True
    # SoftHSM2 sets CKF_USER_PIN_COUNT_LOW after a wrong PIN: the next dialog says so
    second = seen["second_pin"]
    assert "few tries left" in second["text"] and second["warning"] is True, second
    assert seen["fault"] is None and "accepted 2" in seen["summary"], seen
    assert len(op.submissions(access_token(), "2023-08")) == 2


async def test_a_token_pulled_out_mid_batch_keeps_what_was_filed_and_the_batch_resumes(
    op: Operator, token: dict[str, str], tmp_path: Path
) -> None:
    period, count = "2023-09", 40
    write_reports(tmp_path, count=count, period=period)
    seen = drive("pulled-out", tmp_path, {**token, "SOCHI_SIGNER": "pkcs11"}, PIN)
    fault = seen["fault"]
    assert fault is not None and fault["code"] == "token_error", seen
    assert "plugged in" in fault["hint"] and "R resumes it" in fault["hint"]  # what to do
    assert seen["running"] is True and seen["step"] == "file-check"  # the app stays up
    batch = fault["batch"]
    assert batch is not None and f"batch {batch} keeps what was filed: R resumes it" in seen["said"]
    filed = len(op.submissions(access_token(), period))
    assert 0 < seen["signed_before"] <= filed < count  # the first chunk went out, no more
    shown = await cli("--json", "batch", "show", str(batch))
    assert json.loads(shown.stdout)["status"] == "interrupted", shown.stdout
    shutil.move(seen["away"], seen["token_dir"])  # plugged back in
    resumed = run_sochi(
        "--json", "batch", "resume", str(batch), "--no-wait", env={**token, "SOCHI_PIN": PIN}
    )
    assert resumed.code == 0, resumed.stderr
    assert_filed_exactly_once(op, period, count)
