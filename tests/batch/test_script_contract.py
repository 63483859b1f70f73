"""The script contract against the real sandbox: the signer login remembers, progress off a
terminal, batch states that tell the truth, E-Cloud one-time codes from a FIFO or a command."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import stamina

from tests.batch.operator import Operator, write_reports
from tests.support import run_cli


@pytest.fixture
def op(operator: Operator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Operator]:
    """The sandbox, the profile pointed at it, no signer configured anywhere yet (unlike the
    package's `op`, which logs in with a key file from the environment)."""
    operator.calm()
    monkeypatch.setenv("SOCHI_API_URL", operator.api)
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", operator.facts["passphrase"])
    with stamina.set_testing(True, attempts=3):
        yield operator
    operator.calm()


def _secret_file(path: Path, value: str) -> Path:
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def _login_with_key_file(op: Operator, tmp_path: Path) -> None:
    passphrase = _secret_file(tmp_path / "pass", op.facts["passphrase"])
    result = run_cli("login", "--key-file", op.rep["pkcs12"], "--passphrase-file", str(passphrase))
    assert result.code == 0, result.stderr
    assert "signer remembered in profile sandbox: file" in result.stderr


def test_login_remembers_the_signer_for_every_signing_command(op: Operator, tmp_path: Path) -> None:
    _login_with_key_file(op, tmp_path)
    key_file = json.loads(run_cli("config", "get", "key_file", "--json").stdout)
    assert key_file == {"key": "key_file", "value": op.rep["pkcs12"], "source": "file"}
    (report,) = [s.path for s in write_reports(tmp_path / "in", count=1, period="2023-01")]
    signed = run_cli("sign", str(report))  # no --key-file: the profile knows it
    assert signed.code == 0, signed.stderr
    assert Path(f"{report}.p7s").is_file()
    shown = json.loads(run_cli("cert", "show", "--json").stdout)
    assert shown["serial"] == op.rep["serial"] and shown["signer"] == "file"
    filed = run_cli("--json", "submit", str(report), "--no-wait")
    assert filed.code == 0, filed.stderr


def test_login_remembers_a_pkcs11_signer_in_place_of_the_key_file(
    op: Operator, tmp_path: Path
) -> None:
    """A SoftHSM2 token, as a RuToken: `login --signer pkcs11 …` is remembered (and the key
    file of the login before is forgotten), so `sign` needs only the PIN."""
    from tests.signing import softhsm
    from tests.support import run_sochi

    _login_with_key_file(op, tmp_path)
    conf = softhsm.write_config(tmp_path / "softhsm")
    softhsm.init_token(conf, "sochi-login")
    token_env = {"SOFTHSM2_CONF": str(conf)}
    pin = _secret_file(tmp_path / "pin", softhsm.PIN)
    imported = run_sochi(
        "token", "import", "--p12", op.rep["pkcs12"], "--token-label", "sochi-login",
        "--id", "0c", "--pkcs11-lib", str(softhsm.LIBRARY), "--pin-file", str(pin),
        env=token_env,
    )  # fmt: skip
    assert imported.code == 0, imported.stderr
    login = run_sochi(
        "login", "--signer", "pkcs11", "--pkcs11-lib", str(softhsm.LIBRARY),
        "--token", "sochi-login", "--key-id", "0c", "--pin-file", str(pin),
        env=token_env,
    )  # fmt: skip
    assert login.code == 0, login.stderr
    assert "signer remembered in profile sandbox: pkcs11 (token_label sochi-login" in login.stderr
    settings = json.loads(run_cli("--json", "config", "list").stdout)["settings"]
    in_file = {s["key"]: s["value"] for s in settings if s["source"] == "file"}
    assert in_file["signer"] == "pkcs11" and in_file["token_label"] == "sochi-login"
    assert in_file["key_id"] == "0c" and in_file["pkcs11_lib"] == str(softhsm.LIBRARY)
    assert "key_file" not in in_file  # the key file signer's setting did not outlive it
    (report,) = [s.path for s in write_reports(tmp_path / "in", count=1, period="2023-01")]
    signed = run_sochi("--json", "sign", str(report), "--pin-file", str(pin), env=token_env)
    assert signed.code == 0, signed.stderr
    assert json.loads(signed.stdout)["signer"] == "pkcs11"


def test_cert_commands_speak_human_and_share_one_renewal_decision(
    op: Operator, tmp_path: Path
) -> None:
    _login_with_key_file(op, tmp_path)
    human = run_cli("cert", "show").stdout
    assert f"subject\tserialNumber={op.rep['inn']}," in human and "title=" in human
    assert "key usage\tdigital signature, non-repudiation" in human
    assert "2.5.4." not in human and "['" not in human and "(Bishkek)" not in human  # a pipe
    status = json.loads(run_cli("cert", "status", "--json").stdout)
    listed = json.loads(run_cli("cert", "list", "--json").stdout)
    mine = next(c for c in listed if c["serial"] == status["serial"])
    renewed = json.loads(
        run_cli("cert", "renew", "--serial", status["serial"], "--early", "--json").stdout
    )
    assert status["renewal"] == mine["renewal"] == renewed["path"] == "office-visit"
    assert renewed["state"] == "office_visit_required"


def test_a_secret_needed_without_a_terminal_names_the_ways_to_give_it(
    op: Operator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _login_with_key_file(op, tmp_path)
    monkeypatch.delenv("SOCHI_KEY_PASSPHRASE")
    (report,) = [s.path for s in write_reports(tmp_path / "in", count=1, period="2023-02")]
    result = run_cli("sign", str(report))
    assert result.code == 2
    assert result.stderr == (
        "error: key passphrase needed but stdin is not a terminal — "
        "set SOCHI_KEY_PASSPHRASE or pass --passphrase-file FILE\n"
    )


def test_off_a_terminal_progress_is_lines_retries_included_and_no_library_logs(
    op: Operator, tmp_path: Path
) -> None:
    _login_with_key_file(op, tmp_path)
    write_reports(tmp_path / "in", count=12, period="2023-03")
    op.control(
        "PUT",
        "chaos",
        {"error_rate": 0.3, "latency_ms": 0, "drop_after_commit_rate": 0, "drop_mode": "error"},
    )
    # ~25 calls at 30 % failures: some retry (all succeed within 10 attempts: 0.3**10)
    with stamina.set_testing(True, attempts=10):
        result = run_cli("submit", str(tmp_path / "in"), "--no-wait", "--concurrency", "2")
    op.calm()
    assert result.code == 0, result.stderr
    lines = result.stderr.splitlines()
    for phase in ("plan", "validate", "preflight", "send"):
        assert any(line.startswith(f"submit: {phase}") for line in lines), result.stderr
    assert any("operator 503, retrying in" in line for line in lines), result.stderr
    assert "stamina" not in result.stderr and "retry_scheduled" not in result.stderr
    assert "httpx" not in result.stderr and "WARNING" not in result.stderr
    quiet = run_cli("-q", "batch", "resume", "last")
    assert quiet.stderr.count("\n") <= 2  # -q: no progress (an error line at most)


def test_quiet_keeps_results_and_errors_and_the_summary_lists_every_warning(
    op: Operator, tmp_path: Path
) -> None:
    """-q printed the late-filing and key-file warnings; --json said `warnings: []`."""
    _login_with_key_file(op, tmp_path)
    write_reports(tmp_path / "in", count=2, period="2023-06")  # long past its deadline
    quiet = run_cli("-q", "--json", "submit", str(tmp_path / "in"), "--no-wait")
    assert quiet.code == 0 and quiet.stderr == "", quiet.stderr
    warnings = json.loads(quiet.stdout)["warnings"]
    assert sum(w.startswith("late: STI-077 2023-06 of ") for w in warnings) == 2
    assert "signing with a key file: development use only, not for real filings" in warnings
    (report,) = [s.path for s in write_reports(tmp_path / "one", count=1, period="2023-06")]
    signed = run_cli("-q", "--json", "sign", str(report))
    assert signed.code == 0 and signed.stderr == ""
    assert json.loads(signed.stdout)["warnings"] == [
        "signing with a key file: development use only, not for real filings"
    ]
    loud = run_cli("sign", str(report), "--force", "--progress", "none")
    assert "warning: signing with a key file" in loud.stderr  # without -q it is said


def test_json_progress_is_json_lines_on_stderr(op: Operator, tmp_path: Path) -> None:
    _login_with_key_file(op, tmp_path)
    write_reports(tmp_path / "in", count=2, period="2023-04")
    result = run_cli("submit", str(tmp_path / "in"), "--no-wait", "--progress", "json")
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {e["command"] for e in events} == {"submit"}
    assert [e["event"] for e in events][-1] == "done"
    assert {"plan", "validate", "send"} <= {e.get("phase") for e in events}


def test_batch_states_tell_the_truth(op: Operator, tmp_path: Path, monkeypatch) -> None:
    _login_with_key_file(op, tmp_path)
    write_reports(tmp_path / "in", count=2, period="2023-05")
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", "wrong")
    failed = run_cli("submit", str(tmp_path / "in"), "--no-wait")
    assert failed.code == 5, failed.stderr
    (batch,) = json.loads(run_cli("batch", "list", "--json").stdout)
    assert batch["status"] == "failed" and batch["follow_up"] is None  # not "running"
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", op.facts["passphrase"])
    fixed = run_cli("--json", "submit", str(tmp_path / "in"), "--no-wait")
    assert fixed.code == 0, fixed.stderr
    data = json.loads(fixed.stdout)
    assert data["batch_id"] == batch["id"] and data["resumed"] is True  # the same batch
    assert data["status"] == "pending_verdicts" and data["error"] is None
    for again in (
        run_cli("submit", str(tmp_path / "in"), "--no-wait"),
        run_cli("batch", "resume", "last", "--no-wait"),
    ):
        assert again.code == 0, again.stderr
        assert f"nothing to do: every report is already filed or final in batch {batch['id']}" in (
            again.stderr
        )
    assert len(json.loads(run_cli("batch", "list", "--json").stdout)) == 1  # no new batch
    nothing = json.loads(run_cli("--json", "batch", "resume", "last", "--no-wait").stdout)
    assert nothing["nothing_to_do"] is True and nothing["batch_id"] == batch["id"]
    write_reports(tmp_path / "more", count=2, period="2023-06")
    op.control("PUT", "balance", {"inn": op.rep["inn"], "balance": 1})
    refused = run_cli("submit", str(tmp_path / "more"))
    assert refused.code == 6, refused.stderr
    newest = json.loads(run_cli("batch", "list", "--json").stdout)[0]
    assert newest["status"] == "refused" and newest["follow_up"].startswith("sochi batch resume")


def test_validate_takes_folders_and_globs_like_submit(op: Operator, tmp_path: Path) -> None:
    write_reports(tmp_path / "in" / "sub", count=2, period="2023-07")
    folder = run_cli("--json", "validate", str(tmp_path / "in"))
    assert folder.code == 0, folder.stderr
    assert json.loads(folder.stdout)["files"] == 2
    pattern = run_cli("--json", "validate", str(tmp_path / "in" / "**" / "*.xml"))
    assert json.loads(pattern.stdout)["files"] == 2
    empty = run_cli("validate", str(tmp_path / "in" / "*.none"))
    assert empty.code == 2 and "no file matches this pattern" in empty.stderr


# -- E-Cloud ---------------------------------------------------------------------------------
def _outbox(op: Operator) -> list[dict[str, str]]:
    credential = op.facts["self_filer"]["credential_id"]
    response = httpx.get(f"{op.api}/sandbox/otp", params={"credential": credential}, timeout=10)
    return list(response.json()["messages"])


def test_e_cloud_codes_come_from_a_command_or_a_fifo_one_per_batch(
    op: Operator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filer = op.facts["self_filer"]
    pin = _secret_file(tmp_path / "pin", filer["pin"])
    url = f"{op.api}/sandbox/otp?credential={filer['credential_id']}"
    fetch = (
        f'{sys.executable} -c "import json, urllib.request; '
        f"print(json.load(urllib.request.urlopen('{url}'))['messages'][-1]['otp'])\""
    )
    login = run_cli(
        "login", "--signer", "cloud", "--inn", filer["inn"], "--pin-file", str(pin),
        "--otp-command", fetch,
    )  # fmt: skip
    assert login.code == 0, login.stderr
    assert f"cloud_credential {filer['credential_id']}" in login.stderr
    monkeypatch.setenv("SOCHI_PIN", filer["pin"])
    reports = [s.path for s in write_reports(tmp_path / "in", count=3, period="2023-08")]
    fifo = tmp_path / "otp.fifo"
    os.mkfifo(fifo, 0o600)
    sent_before = len(_outbox(op))

    def type_the_code() -> None:  # the person (or helper) who reads the SMS
        deadline = time.monotonic() + 30
        while len(_outbox(op)) == sent_before and time.monotonic() < deadline:
            time.sleep(0.05)
        with fifo.open("w") as writer:
            writer.write(_outbox(op)[-1]["otp"] + "\n")

    typist = threading.Thread(target=type_the_code, daemon=True)
    typist.start()
    signed = run_cli("sign", *map(str, reports), "--otp-file", str(fifo))  # signer remembered
    typist.join(timeout=30)
    assert signed.code == 0, signed.stderr
    assert len(_outbox(op)) == sent_before + 1  # one code for the three signatures
    assert f"waiting for the one-time code (SMS) in {fifo} (up to 300 s)…\n" in signed.stderr
    # a FIFO nobody writes to: said while waiting, and not waited on past the code's life
    monkeypatch.setattr("sochi_cli.commands._prompts.FIFO_WAIT", 0.5)
    silent = run_cli("sign", str(reports[0]), "--force", "--otp-file", str(fifo))
    assert silent.code == 5, silent.stderr
    assert silent.stderr.endswith(
        f"error: {fifo}: no one-time code (SMS) came through the FIFO within 0.5 s — write it "
        f"while sochi waits: echo CODE > {fifo}\n"
    )
    refused = run_cli("sign", str(reports[0]), "--force")
    assert refused.code == 2 and "--otp-file FILE (a FIFO works) or --otp-command" in (
        refused.stderr
    )
    monkeypatch.setenv("SOCHI_OTP", "123456")
    stale = run_cli("sign", str(reports[0]), "--force")
    assert stale.code == 2 and "SOCHI_OTP cannot work" in stale.stderr
