"""Doctor evidence: plain JSON data in every finding, and one renderer (`evidence_lines`)
that the terminal output, the TUI's Doctor screen and `--read` of a bundle all show —
instants in Bishkek time, lists of records as lines, never a Python repr."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.doctor.conftest import Sandbox, finding, login, run

REPRS = ("datetime.", "date(", "{'", "[{", "Decimal(", "object at 0x")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _every_line(report: Any) -> str:
    from sochi_cli.services.diagnostics import evidence_lines

    return "\n".join(line for f in report.findings for line in evidence_lines(f))


def test_every_finding_holds_plain_json_and_reads_without_reprs(sb: Sandbox) -> None:
    login(sb)
    report = run(sb)  # every group: dates, instants, lists of records, nested mappings
    for f in report.findings:
        assert json.loads(json.dumps(f.evidence)) == f.evidence, f.id  # no default= needed
    text = _every_line(report)
    assert not [r for r in REPRS if r in text], text
    poa = finding(report, "representation.poa")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", poa.evidence["expired"][0]["issued_on"])  # a date
    from sochi_cli.services.diagnostics import evidence_lines

    lines = evidence_lines(poa)
    assert "expired:" in lines and "expiring: none" in lines
    assert any(line.startswith("  - inn=02201202010011, name=Naryn Agro LLC") for line in lines), (
        lines
    )
    expiry = finding(report, "signing.expiry")
    assert expiry.evidence["not_after"].endswith("Z")  # JSON: UTC
    assert any(
        line.startswith("not after: ") and line.endswith("(Bishkek)")
        for line in evidence_lines(expiry)
    )  # people: Bishkek time


def test_a_bundle_read_back_shows_the_same_evidence(sb: Sandbox, tmp_path: Path) -> None:
    from sochi_cli.services.diagnostics import evidence_lines
    from sochi_cli.services.diagnostics_bundle import read_bundle, write_bundle

    login(sb)
    report = run(sb, "operator", "signing", "account", "representation")
    write_bundle(tmp_path / "b.zip", report, mask=False)
    again = read_bundle(tmp_path / "b.zip").report
    assert [f.id for f in again.findings] == [f.id for f in report.findings]
    for fresh, read in zip(report.findings, again.findings, strict=True):
        assert evidence_lines(read) == evidence_lines(fresh), fresh.id


def test_terminal_output_shows_the_evidence_of_a_failure_only(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sochi_cli.commands._context import AppContext
    from sochi_cli.commands._output import Output
    from sochi_cli.commands.doctor_cmd import render_report

    monkeypatch.setenv("COLUMNS", "200")
    login(sb)
    report = run(sb, "representation")
    stdout = _Terminal()
    render_report(AppContext(Output(stdout=stdout, no_color=True)), report)
    text = stdout.getvalue()
    assert "- inn=02201202010011, name=Naryn Agro LLC" in text  # under the POA failure
    assert "clause 3.2" in text and "fix: get a new power of attorney" in text
    assert "detached:" not in text  # an ok check: its summary only
    assert not [r for r in REPRS if r in text]
    # at 80 columns a list item folds under its own text, not back under the dash
    monkeypatch.setenv("COLUMNS", "80")
    narrow = _Terminal()
    render_report(AppContext(Output(stdout=narrow, no_color=True)), report)
    lines = [line.rstrip() for line in narrow.getvalue().splitlines()]
    at = next(i for i, line in enumerate(lines) if "- inn=02201202010011" in line)
    dash = lines[at].index("- inn=")
    assert lines[at + 1].index("number=") == dash + 2, "\n".join(lines[at : at + 3])
    assert max(map(len, lines)) <= 80


def test_a_long_evidence_is_cut_on_the_terminal_and_says_where_the_rest_is() -> None:
    from sochi_cli.services.diagnostics import Finding, Result, evidence_lines

    many = Finding(
        "trouble.submissions", "trouble", Result.WARN, "Recent", "…",
        evidence={"items": [{"batch": 1, "seq": n} for n in range(30)]},
    )  # fmt: skip
    lines = evidence_lines(many, limit=8)
    assert len(lines) == 8 and lines[-1] == "… 24 more line(s): sochi doctor --json"
    assert len(evidence_lines(many)) == 31


def test_a_records_empty_fields_are_left_out_of_its_line_not_out_of_the_json() -> None:
    """An item never sent has no submission id: its line does not say `submission_id=-`."""
    from sochi_cli.services.diagnostics import Finding, Result, evidence_lines

    item = {"batch": 1, "seq": 2, "state": "invalid", "submission_id": None, "rejection": None}
    invalid = Finding(
        "trouble.submissions", "trouble", Result.WARN, "Recent", "…", evidence={"items": [item]}
    )
    assert evidence_lines(invalid) == ["items:", "  - batch=1, seq=2, state=invalid"]
    assert invalid.evidence["items"][0]["submission_id"] is None


def test_the_tui_shows_the_same_lines(sb: Sandbox) -> None:
    from sochi_cli.services.diagnostics import evidence_lines
    from sochi_cli.tui.screens.doctor import finding_text

    login(sb)
    poa = finding(run(sb, "representation"), "representation.poa")
    shown = finding_text(poa).plain
    assert "\n".join(evidence_lines(poa)) in shown
    assert not [r for r in REPRS if r in shown]
