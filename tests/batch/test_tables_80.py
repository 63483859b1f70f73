"""The tables a representative reads every day, on an 80-column terminal against the real
sandbox: every line fits, identifiers (INN, submission and batch ids) are whole on one
line, and free text (a name, an error) is folded or under its row, never cut."""

from __future__ import annotations

import json
import re
from pathlib import Path
from unittest import mock

import pytest

from sochi_cli.commands._table import lay_out
from tests.batch.operator import Operator
from tests.support import Result, run_cli


def _tty(monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    with mock.patch("sochi_cli.commands._output._isatty", return_value=True):
        return run_cli(*args)


def _fits_and_keeps(lines: list[str], identifiers: set[str], texts: set[str]) -> None:
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    for ident in identifiers:
        assert any(re.search(rf"(^|\s){re.escape(ident)}(\s|$)", line) for line in lines), ident
    squeezed = re.sub(r"\s+", "", "".join(lines))
    for text in texts:
        assert re.sub(r"\s+", "", text) in squeezed, text  # folded, nothing cut


def test_submit_and_batch_show_at_80_columns_keep_ids_whole_and_errors_under_the_row(
    op: Operator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = tmp_path / "reports"
    made = run_cli(
        "sandbox", "sample-reports", "--out", str(reports), "--clients", "4",
        "--invalid", "1", "--rejected", "1",
    )  # fmt: skip
    assert made.code == 0, made.stderr
    filed = _tty(monkeypatch, "submit", str(reports), "--wait")
    assert filed.code == 8, filed.stderr  # partial: one invalid, one rejected
    rows = json.loads(run_cli("batch", "show", "last", "--json").stdout)["items"]
    ids = {r["submission_id"] for r in rows if r["submission_id"]}
    inns = {r["client_inn"] for r in rows}
    errors = {r["error"] for r in rows if r["error"]}
    assert ids and len(errors) == 2
    lines = filed.stdout.splitlines()
    assert lines[0].split() == ["#", "INN", "CLIENT", "FORM", "PERIOD", "STATE", "SUBMISSION"] or (
        lines[0].split() == ["#", "INN", "FORM", "PERIOD", "STATE", "SUBMISSION"]
    )
    _fits_and_keeps(lines, ids | inns, errors)
    shown = _tty(monkeypatch, "batch", "show", "last")
    assert shown.code == 0, shown.stderr
    _fits_and_keeps(shown.stdout.splitlines(), ids | inns, errors)
    listed = _tty(monkeypatch, "batch", "list")
    (batch,) = json.loads(run_cli("batch", "list", "--json").stdout)
    _fits_and_keeps(listed.stdout.splitlines(), set(), {batch["command"]})
    subs = _tty(monkeypatch, "submissions", "list", "--limit", "10")
    listing = run_cli("submissions", "list", "--limit", "10", "--json").stdout
    _fits_and_keeps(subs.stdout.splitlines(), {s["id"] for s in json.loads(listing)}, set())
    charges = _tty(monkeypatch, "account", "charges", "--limit", "10")
    _fits_and_keeps(charges.stdout.splitlines(), set(), {"for"})
    clients = _tty(monkeypatch, "clients", "list")
    _fits_and_keeps(clients.stdout.splitlines(), inns, set())
    inbox = _tty(monkeypatch, "inbox", "list")
    items = json.loads(run_cli("inbox", "list", "--json").stdout)
    _fits_and_keeps(inbox.stdout.splitlines(), {i["id"] for i in items}, set())
    assert "\t" in run_cli("batch", "show", "last").stdout  # a pipe keeps its columns


def test_a_table_folds_text_then_puts_it_under_the_row_and_never_breaks_an_identifier() -> None:
    headers = ["#", "INN", "CLIENT", "STATE", "SUBMISSION", "ERROR"]
    rows = [
        ["1", "00101202000001", "Client 00001 LLC", "rejected (late)", "sub_" + "a" * 20,
         "header/inn: the taxpayer is not registered as a sales tax payer (STI-081 does not apply)"],
    ]  # fmt: skip
    wide = [line.text for line in lay_out(headers, rows, 200)]
    assert len(wide) == 2 and "Client 00001 LLC" in wide[1] and "apply)" in wide[1]
    narrow = [line.text for line in lay_out(headers, rows, 58, under={5})]
    assert all(len(line) <= 58 for line in narrow)
    assert "00101202000001" in narrow[1] and "sub_" + "a" * 20 in narrow[1]
    assert narrow[2].split() == ["(late)"]  # a short text folds between words
    assert narrow[3] == "   Client 00001 LLC"  # the name would fold on three: under its row
    assert narrow[4].startswith("   header/inn:")
    folded = [line.text for line in lay_out(headers, rows, 72, under={5})]
    assert folded[1].split()[2:4] == ["Client", "00001"] and folded[2].split() == ["LLC", "(late)"]
    tiny = [line.text for line in lay_out(headers, rows, 40, under={5})]
    assert any("sub_" + "a" * 20 in line for line in tiny)  # longer than 40: still whole
    dated = lay_out(["AT", "WHAT"], [["2026-11-30 03:32 (Bishkek)", "topup " * 10]], 40)
    assert dated[1].text.startswith("2026-11-30 03:32")  # a date and its time stay together
