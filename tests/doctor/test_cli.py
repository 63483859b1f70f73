"""`sochi doctor` as scripts use it: the JSON document, TSV lines, exit codes (0, 11 for
warnings only, the first failure's code), option errors as one line."""

from __future__ import annotations

import json
from pathlib import Path

from sochi_cli.errors import ExitCode
from sochi_cli.services.diagnostics import GROUPS, all_checks
from tests.doctor.conftest import Sandbox, doctor_json, login
from tests.support import run_cli

FIELDS = {"id", "group", "result", "title", "summary", "evidence", "fix", "clause",
          "exit_code", "duration_ms"}  # fmt: skip


def test_json_document_and_exit_code_zero() -> None:
    code, data = doctor_json("--only", "setup", "--offline")
    assert code == 0
    assert data["result"] == "ok" and data["exit_code"] == 0 and data["offline"] is True
    assert data["only"] == ["setup"] and data["checked_at"].endswith("Z")
    assert data["counts"] == {"ok": 7, "warn": 0, "fail": 0, "skipped": 0}
    for check in data["checks"]:
        assert set(check) == FIELDS
        assert check["group"] == "setup" and check["id"].startswith("setup.")


def test_warnings_only_exit_11(sb: Sandbox) -> None:
    code, data = doctor_json("--only", "signing", "--offline")  # no CRL cached yet
    assert data["result"] == "warn" and code == ExitCode.WARNINGS == data["exit_code"] == 11
    crl = next(c for c in data["checks"] if c["id"] == "signing.crl")
    assert crl["result"] == "warn" and crl["fix"] == "sochi crl fetch" and crl["clause"]


def test_first_failure_decides_the_exit_code(sb: Sandbox) -> None:
    login(sb)
    sb.control("PUT", "balance", {"inn": sb.rep["inn"], "balance": 0})
    code, data = doctor_json("--only", "account,representation")
    failed = [c for c in data["checks"] if c["result"] == "fail"]
    assert [c["id"] for c in failed] == ["account.balance", "representation.poa"]
    assert code == ExitCode.REFUSED == failed[0]["exit_code"]


def test_plain_output_is_one_line_per_check() -> None:
    result = run_cli("doctor", "--only", "setup,trouble", "--offline")
    lines = result.stdout.splitlines()
    assert len(lines) == 9 and all(len(line.split("\t")) == 5 for line in lines)
    assert lines[0].startswith("setup.config\tok\t")
    assert "0 failed, 0 warning(s), 9 ok, 0 skipped — exit 0" in result.stderr


def test_every_check_names_a_group_it_belongs_to_and_ids_are_unique() -> None:
    checks = all_checks()
    assert len({c.id for c in checks}) == len(checks)
    assert {c.group for c in checks} == set(GROUPS)
    assert [c.group for c in checks] == sorted(
        (c.group for c in checks), key=GROUPS.index
    )  # shown group by group, in the documented order


def test_option_errors_are_one_line(tmp_path: Path) -> None:
    cases = [
        (("doctor", "--only", "netwrk"), "unknown check group 'netwrk'"),
        (("doctor", "--no-mask"), "--no-mask and --force go with --bundle"),
        (("doctor", "--read", "x.zip", "--offline"), "--read shows a bundle"),
    ]
    pin = tmp_path / "pin"
    pin.write_text("1234\n")
    pin.chmod(0o644)
    cases.append((("doctor", "--pin-file", str(pin)), "readable by other users"))
    for args, message in cases:
        result = run_cli(*args)
        assert result.code == ExitCode.USAGE, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_json_error_object_for_a_usage_error() -> None:
    result = run_cli("--json", "doctor", "--only", "nope")
    assert json.loads(result.stdout)["error"]["exit_code"] == ExitCode.USAGE


def test_service_reports_progress_and_can_be_stopped_between_checks() -> None:
    """What the TUI's Doctor screen relies on: a callback per check, a cancel flag."""
    import pytest

    from sochi_cli.errors import Interrupted
    from sochi_cli.services.diagnostics import DoctorOptions, run_doctor

    steps = []
    report = run_doctor(DoctorOptions(only=["setup"], offline=True), progress=steps.append)
    assert [(s.index, s.finding is None) for s in steps[:2]] == [(0, True), (0, False)]
    assert len(steps) == 2 * len(report.findings) and steps[-1].total == 7
    assert steps[-1].finding == report.findings[-1]
    done: list[str] = []

    def record(step: object) -> None:
        done.append(getattr(step, "check_id", ""))

    with pytest.raises(Interrupted):
        run_doctor(
            DoctorOptions(only=["setup"], cancelled=lambda: len(done) >= 4),
            progress=record,
        )
    assert len(done) == 4  # stopped after two checks, before the third started
