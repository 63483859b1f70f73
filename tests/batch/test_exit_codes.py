"""The exit-code table of docs/cli.md, case by case: code, the stderr line, the --json object.

docs/cli.md "Exit codes by case" is the source: every row there is a case here (and the
other way round), run against the real sandbox operator on loopback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from sochi_cli.errors import ExitCode
from tests.batch.operator import Operator, friday_evening, write_reports
from tests.support import Result, run_cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def unprivileged(*args: str) -> Result:
    """`sochi ARGS` in a subprocess that file permissions apply to, even when run as root."""
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    command = [sys.executable, "-m", "sochi_cli", *args]
    proc = subprocess.run(
        prefix + command if os.geteuid() == 0 else command,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


# -- the cases -------------------------------------------------------------------------------
Runner = Callable[[Operator, Path, bool], Result]  # (operator, work dir, --json?) → result


def _cli(args: list[str], json_mode: bool) -> Result:
    return run_cli(*(["--json"] if json_mode else []), *args)


def missing_input(op: Operator, tmp: Path, json_mode: bool) -> Result:
    return _cli(["submit", str(tmp / "missing.xml")], json_mode)


def unreadable_file(op: Operator, tmp: Path, json_mode: bool) -> Result:
    (report,) = [s.path for s in write_reports(tmp, count=1, period="2025-01")]
    report.chmod(0)
    return unprivileged(*(["--json"] if json_mode else []), "validate", str(report))


def unreadable_folder(op: Operator, tmp: Path, json_mode: bool) -> Result:
    write_reports(tmp / "reports", count=1, period="2025-01")
    locked = tmp / "reports" / "locked"
    write_reports(locked, count=1, period="2025-02")
    locked.chmod(0)
    return unprivileged(*(["--json"] if json_mode else []), "submit", str(tmp / "reports"))


def missing_in_manifest(op: Operator, tmp: Path, json_mode: bool) -> Result:
    (sample,) = write_reports(tmp, count=1, period="2025-01")
    manifest = tmp / "october.csv"
    manifest.write_text(f"file\n{sample.path.name}\nmissing.xml\n")
    return _cli(["submit", "--manifest", str(manifest)], json_mode)


def unreadable_in_manifest(op: Operator, tmp: Path, json_mode: bool) -> Result:
    (sample,) = write_reports(tmp, count=1, period="2025-01")
    sample.path.rename(tmp / "locked.xml")
    (tmp / "locked.xml").chmod(0)
    manifest = tmp / "lock.csv"
    manifest.write_text("file\nlocked.xml\n")
    return unprivileged(*(["--json"] if json_mode else []), "submit", "--manifest", str(manifest))


def unknown_form(op: Operator, tmp: Path, json_mode: bool) -> Result:
    (report,) = [s.path for s in write_reports(tmp, count=1, period="2025-01")]
    return _cli(["validate", "--form", "NOPE-1", str(report)], json_mode)


def _duplicate_manifest(tmp: Path, period: str) -> Path:
    samples = write_reports(tmp, count=2, period=period)
    rows = [f"{s.client_inn},STI-077,{period},0,{s.path.name}" for s in samples]
    manifest = tmp / "october.csv"
    manifest.write_text("\n".join(["client,form,period,correction,file", *rows, rows[0]]) + "\n")
    return manifest


def dry_run_duplicate_row(op: Operator, tmp: Path, json_mode: bool) -> Result:
    manifest = _duplicate_manifest(tmp, "2025-03" if json_mode else "2025-04")
    return _cli(["submit", "--manifest", str(manifest), "--dry-run"], json_mode)


def real_run_duplicate_row(op: Operator, tmp: Path, json_mode: bool) -> Result:
    manifest = _duplicate_manifest(tmp, "2025-05" if json_mode else "2025-06")
    return _cli(["submit", "--manifest", str(manifest), "--no-wait"], json_mode)


def nothing_valid(op: Operator, tmp: Path, json_mode: bool) -> Result:
    write_reports(tmp, count=2, invalid=2, period="2025-07" if json_mode else "2025-08")
    return _cli(["submit", str(tmp), "--no-wait"], json_mode)


def balance_too_low(op: Operator, tmp: Path, json_mode: bool) -> Result:
    write_reports(tmp, count=2, period="2025-09")
    op.control("PUT", "balance", {"inn": op.rep["inn"], "balance": 1})
    return _cli(["submit", str(tmp)], json_mode)


def expired_poa(op: Operator, tmp: Path, json_mode: bool) -> Result:
    (sample,) = write_reports(tmp, count=1, period="2024-04" if json_mode else "2024-05")
    naryn = tmp / "naryn.xml"  # Naryn Agro, whose power of attorney expired
    expired = op.facts["clients"]["expired_poa"][0]
    naryn.write_text(sample.path.read_text().replace(sample.client_inn, expired))
    sample.path.unlink()
    return _cli(["submit", str(naryn)], json_mode)


def maintenance(op: Operator, tmp: Path, json_mode: bool) -> Result:
    write_reports(tmp, count=1, period="2025-10")
    op.control("PUT", "clock", {"now": friday_evening(op.now).isoformat(), "frozen": True})
    return _cli(["submit", str(tmp), "--no-wait-maintenance"], json_mode)


def announced_window(op: Operator, tmp: Path, json_mode: bool) -> Result:
    start = op.now + timedelta(days=20, hours=1 if json_mode else 3)  # not a Friday evening
    window = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()}
    op.control("POST", "maintenance", {**window, "title": "Database upgrade"})
    op.control("PUT", "clock", {"now": (start + timedelta(minutes=5)).isoformat(), "frozen": True})
    return _cli(["events"], json_mode)


def partial(op: Operator, tmp: Path, json_mode: bool) -> Result:
    write_reports(tmp, count=3, invalid=1, period="2025-11" if json_mode else "2025-12")
    return _cli(["submit", str(tmp), "--no-wait"], json_mode)


def wait_timeout(op: Operator, tmp: Path, json_mode: bool) -> Result:
    write_reports(tmp, count=2, period="2024-01" if json_mode else "2024-02")
    op.control("PUT", "agency", {"delivery_delay_seconds": 0, "verdict_delay_seconds": 3600})
    return _cli(["submit", str(tmp), "--wait-timeout", "1"], json_mode)


def not_logged_in(op: Operator, tmp: Path, json_mode: bool) -> Result:
    run_cli("logout")
    return _cli(["whoami"], json_mode)


def bad_config_value(op: Operator, tmp: Path, json_mode: bool) -> Result:
    config = Path(os.environ["SOCHI_CONFIG_DIR"]) / "config.toml"  # [profiles.sandbox] last
    if "timeout = true" not in config.read_text():
        config.write_text(config.read_text() + "timeout = true\n")
    return _cli(["config", "list"], json_mode)


def read_only_folder(op: Operator, tmp: Path, json_mode: bool) -> Result:
    (report,) = [s.path for s in write_reports(tmp / "signed", count=1, period="2025-01")]
    (tmp / "signed").chmod(0o555)
    return unprivileged(*(["--json"] if json_mode else []), "sign", str(report))


@dataclass(frozen=True)
class Case:
    name: str  # as in docs/cli.md "Exit codes by case"
    run: Runner
    code: int
    line: str  # a regular expression the one `error:` line matches (or a `note:` line)
    error: str | None  # `error.code` of the --json output; None: a summary with error null


CASES = [
    Case("missing input", missing_input, 2, r"missing\.xml: no such file or folder", "usage"),
    Case("unreadable file", unreadable_file, 2, r"cannot read the file", "usage"),
    Case("unreadable folder", unreadable_folder, 2, r"locked: cannot read the folder", "usage"),
    Case(
        "missing file named in a manifest",
        missing_in_manifest,
        2,
        r"october\.csv:3: file: 'missing\.xml': no such file — every file a manifest names",
        "usage",
    ),
    Case(
        "unreadable file named in a manifest",
        unreadable_in_manifest,
        2,
        r"lock\.csv:2: file: \S*locked\.xml: cannot read: permission denied",
        "usage",
    ),
    Case("unknown form", unknown_form, 9, r"unknown form 'NOPE-1'", "form_not_found"),
    Case(
        "dry run of a manifest with a duplicate row",
        dry_run_duplicate_row,
        0,
        r"^note: october\.csv:4: duplicate of october\.csv:2 .*filed once",
        None,
    ),
    Case(
        "real run of the same manifest",
        real_run_duplicate_row,
        0,
        r"^note: october\.csv:4: duplicate of october\.csv:2 .*filed once",
        None,
    ),
    Case(
        "nothing valid", nothing_valid, 4, r"batch \d+ failed: nothing filed", "validation_failed"
    ),
    Case("balance too low", balance_too_low, 6, r"short — top up", "balance_insufficient"),
    Case(
        "power of attorney expired",
        expired_poa,
        6,
        r"batch \d+ refused: 1 of 1 report\(s\) refused, nothing filed \(\d+ STI-077 "
        r"2024-0[45]: the power of attorney .*`sochi clients renew CLIENT …`",
        "poa_expired",
    ),
    Case("maintenance, told not to wait", maintenance, 7, r"in maintenance", "maintenance"),
    Case(
        "any operator call in a window",
        announced_window,
        7,
        r"^error: Database upgrade: .*announced maintenance window \S+ \d\d:\d\d–\d\d:\d\d "
        r"\(Bishkek\); try after it ends",
        "maintenance",
    ),
    Case("partial", partial, 8, r"batch \d+ partial: 1 of 3 report", "partial"),
    Case(
        "wait timeout",
        wait_timeout,
        12,
        r"batch (\d+): every report filed, 2 agency verdict\(s\) still pending .*"
        r"`sochi batch resume \1`",
        "verdicts_pending",
    ),
    Case("not logged in", not_logged_in, 5, r"not logged in", "unauthorized|not_logged_in"),
    Case(
        "a value of the wrong type in the config",
        bad_config_value,
        3,
        r"config\.toml:\d+: profiles\.sandbox\.timeout: expected a number, not a boolean",
        "config",
    ),
    Case(
        "a folder that cannot be written",
        read_only_folder,
        10,
        r"cannot write the signature at .*\.p7s: permission denied \(is its folder writable\?\)",
        "storage",
    ),
]


def documented_cases() -> dict[str, int]:
    """`| case | example | code | … |` rows of docs/cli.md "Exit codes by case"."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### Exit codes by case", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([^|]+?) \| `[^|]+` \| (\d+) \|", section, re.M)
    return {name: int(code) for name, code in rows}


def test_every_documented_case_is_run_here_and_no_other() -> None:
    assert documented_cases() == {case.name: case.code for case in CASES}


def test_every_exit_code_is_in_the_docs_table_and_the_readme_agrees() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    readme = (DOCS.parents[1] / "README.md").read_text(encoding="utf-8")
    table = re.compile(r"^\| (\d+) \| `(\w+)` \| (.+?) \|$", re.M)
    documented = {int(code): name for code, name, _ in table.findall(docs)}
    assert documented == {int(code): code.name.lower() for code in ExitCode}
    assert {int(code): name for code, name, _ in table.findall(readme)} == documented


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_exit_code_case(case: Case, op: Operator, tmp_path: Path) -> None:
    for json_mode in (False, True):
        work = tmp_path / ("json" if json_mode else "plain")
        work.mkdir()
        result = case.run(op, work, json_mode)
        op.calm()
        assert result.code == case.code, result.stderr
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        if case.code == 0:
            assert errors == []
            assert any(re.search(case.line, line) for line in result.stderr.splitlines())
        else:
            assert len(errors) == 1, result.stderr  # exactly one line says what went wrong
            assert re.search(case.line, errors[0]), errors[0]
        if json_mode:
            data = json.loads(result.stdout)
            error = data["error"]
            if case.error is None:
                assert error is None and data["exit_code"] == 0
                continue
            assert re.fullmatch(case.error, error["code"]), error
            assert error["exit_code"] == case.code
            assert errors[0] == "error: " + " ".join(
                (error["message"] + (f" — {error['hint']}" if error.get("hint") else "")).split()
            )
            if "status" in data:  # a batch summary: its fields agree with each other
                assert data["exit_code"] == case.code
                assert data["interrupted"] == (data["status"] == "interrupted")
