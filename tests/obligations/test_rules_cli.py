"""The filing rules as a user meets them at the CLI, against the demo-seeded sandbox: what
`submit` refuses or warns about before signing, late shown in every output, client names
in every path, the states of `sochi due` pinned to the day, and the Kyrgyz calendar
(a deadline on a public holiday, `sochi status`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from unittest import mock

import holidays
import pytest

from sochi_cli.sandbox.history import agreeing_values, month_back
from sochi_cli.sandbox.samples import body_values, report_xml
from sochi_cli.sandbox.seed import REPRESENTATIVE_INN, bulk_client_inn, bulk_client_name
from sochi_cli.timeutil import BISHKEK
from tests.batch.operator import Operator, running_operator
from tests.obligations.support import as_json, sandbox_today
from tests.support import Result, run_cli

KG = holidays.country_holidays("KG", years=range(2020, 2031))


def _balance() -> str:
    return str(as_json("account", "balance")[1]["balance"])  # type: ignore[index]


def _report(folder: Path, index: int, period: str, *, correction: int = 0) -> Path:
    """An STI-077 of generated client `index` that passes every local check."""
    import random

    inn = bulk_client_inn(index)
    values = agreeing_values(body_values("STI-077", random.Random(period)), inn, "STI-077", period)
    path = folder / f"STI-077_{inn}_{period}_{correction}.xml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(
        report_xml(
            form_code="STI-077",
            client_inn=inn,
            client_name=bulk_client_name(index),
            period=period,
            correction=correction,
            values=values,
            filer_inn=REPRESENTATIVE_INN,
        )
    )
    return path


def _tty(monkeypatch: pytest.MonkeyPatch, *args: str, columns: int = 80) -> Result:
    """`sochi ARGS` as on a terminal without colour, 80 columns wide unless told."""
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("NO_COLOR", "1")
    with mock.patch("sochi_cli.commands._output._isatty", return_value=True):
        return run_cli(*args)


def _refused_before_signing(result: Result, code: str) -> None:
    assert result.code == 4, result.stderr
    assert code in result.stdout
    assert "submit: validate" in result.stderr and "submit: sign" not in result.stderr


def test_submit_decides_early_out_of_order_and_late_before_signing_and_names_every_row(
    op: Operator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = sandbox_today(op)
    client = bulk_client_inn(2)
    balance = _balance()

    # a period that does not fit the form: invalid, named from the client list (none cached)
    quarter = tmp_path / "q" / "r.xml"
    quarter.parent.mkdir()
    quarter.write_text(_report(tmp_path / "x", 2, month_back(today, 6)).read_text().replace(
        f"<period>{month_back(today, 6)}</period>", f"<period>{today.year}-Q1</period>"
    ))  # fmt: skip
    result = run_cli("submit", str(quarter), "--progress", "lines")
    assert result.code == 4
    (row,) = result.stdout.splitlines()
    assert row.split("\t")[1:6] == [client, "Client 00002 LLC", "STI-077", f"{today.year}-Q1",
                                    "invalid"]  # fmt: skip

    # the current month has not ended: refused before signing, nothing charged or filed
    early = _report(tmp_path / "early", 2, month_back(today, 0))
    _refused_before_signing(
        run_cli("submit", str(early), "--progress", "lines"), "period_not_ended"
    )

    # correction 2 while the history holds only the original of two months back
    two_back = month_back(today, 2)
    jump = _report(tmp_path / "jump", 2, two_back, correction=2)
    result = run_cli("submit", str(jump), "--progress", "lines")
    _refused_before_signing(result, "correction_out_of_order")
    assert "file correction 1 next" in result.stdout

    assert _balance() == balance
    for period in (month_back(today, 0), two_back):
        where = ["--client", client, "--form", "STI-077", "--period", period]
        _, filed = as_json("submissions", "list", *where)
        assert [s["correction"] for s in filed] == ([0] if period == two_back else [])  # type: ignore[union-attr]
    _, signatures = as_json("archive", "list", "--kind", "signature")
    assert signatures == []

    # long past its deadline: filed, after a warning said before signing
    late_period = month_back(today, 6)
    late = _report(tmp_path / "late", 2, late_period)
    result = run_cli("submit", str(late), "--progress", "lines", "--wait-timeout", "60")
    assert result.code == 0, result.stderr
    lines = result.stderr.splitlines()
    warned = next(n for n, line in enumerate(lines) if "will be filed late" in line)
    signing = next(n for n, line in enumerate(lines) if line.startswith("submit: sign"))
    assert warned < signing and "Client 00002 LLC" in lines[warned]
    assert _balance() != balance

    # late in every output: the last column in a pipe, "(late)" on a terminal, JSON
    (row,) = result.stdout.splitlines()
    assert row.split("\t")[2] == "Client 00002 LLC" and row.split("\t")[-1] == "yes"
    where = ["--client", client, "--form", "STI-077", "--period", late_period]
    (due,) = run_cli("due", *where).stdout.splitlines()
    assert due.split("\t")[5] == "accepted" and due.split("\t")[-1] == "yes"
    assert "accepted (late)" in _tty(monkeypatch, "due", *where).stdout
    (shown,) = run_cli("batch", "show", "last").stdout.splitlines()
    assert shown.split("\t")[5] == "accepted" and shown.split("\t")[-1] == "yes"
    assert "accepted (late)" in _tty(monkeypatch, "batch", "show", "last", columns=160).stdout
    (listed,) = run_cli("submissions", "list", *where).stdout.splitlines()
    assert listed.split("\t")[5] == "accepted" and listed.split("\t")[-1] == "yes"
    assert "accepted (late)" in _tty(monkeypatch, "submissions", "list", *where, columns=160).stdout
    assert as_json("due", *where)[1]["obligations"][0]["late"] is True  # type: ignore[index]
    assert as_json("batch", "show", "last")[1]["items"][0]["late"] is True  # type: ignore[index]
    assert as_json("submissions", "list", *where)[1][0]["late"] is True  # type: ignore[index]

    # a rerun of the finished submit: already filed, still named, no late warning this time
    again = run_cli("submit", str(late))
    assert again.code == 0 and "will be filed late" not in again.stderr
    (row,) = again.stdout.splitlines()
    assert row.split("\t")[2:6] == ["Client 00002 LLC", "STI-077", late_period, "already_filed"]


def _set_clock(op: Operator, day: date) -> None:
    """The sandbox's clock at noon, Bishkek, on `day` (outside any maintenance window)."""
    noon = datetime.combine(day, time(12, 0), tzinfo=BISHKEK).astimezone(UTC)
    op.control("PUT", "clock", {"now": noon.isoformat(), "frozen": True})


def _state(*where: str) -> tuple[str, int]:
    _, data = as_json("due", *where)
    (found,) = data["obligations"]  # type: ignore[index]
    return found["state"], found["days_left"]


def test_not_filed_is_missing_until_the_deadline_and_overdue_the_day_after(op: Operator) -> None:
    # client 6's SF-001 of last month is not in the history
    where = ["--client", bulk_client_inn(6), "--form", "SF-001", "--period", month_back(sandbox_today(op), 1)]  # fmt: skip
    _, data = as_json("due", *where)
    deadline = date.fromisoformat(data["obligations"][0]["deadline"])  # type: ignore[index]
    _set_clock(op, deadline)
    assert _state(*where) == ("missing", 0)
    _set_clock(op, deadline + timedelta(days=1))
    assert _state(*where) == ("overdue", -1)


def _holiday_deadline(before: date) -> tuple[str, date]:
    """The latest month before `before` whose STI-077 deadline (the 20th of the month after)
    falls on a weekday public holiday of the Kyrgyz Republic: (period, the 20th)."""
    month = before.replace(day=1)
    for _ in range(120):
        month = (month - timedelta(days=1)).replace(day=1)
        nominal = (month + timedelta(days=31)).replace(day=20)
        if nominal.weekday() < 5 and nominal in KG:
            return f"{month:%Y-%m}", nominal
    raise AssertionError("no STI-077 deadline on a weekday public holiday in ten years")


def _working(day: date) -> bool:
    return day.weekday() < 5 and day not in KG


def test_a_deadline_on_a_public_holiday_moves_to_the_next_working_day(
    op: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before the seeded history (four months back), so nothing is filed for it
    period, nominal = _holiday_deadline(
        date.fromisoformat(month_back(sandbox_today(op), 4) + "-01")
    )
    moved = nominal + timedelta(days=1)
    while not _working(moved):
        moved += timedelta(days=1)
    where = ["--client", "Client 00003", "--form", "STI-077", "--period", period]
    _, data = as_json("due", *where)
    (found,) = data["obligations"]  # type: ignore[index]
    assert found["nominal_deadline"] == nominal.isoformat()
    assert found["deadline"] == moved.isoformat()
    assert found["deadline_moved_because"] == f"public holiday: {KG[nominal]}"
    text = " ".join(_tty(monkeypatch, "due", *where).stdout.split())  # the legend folds
    assert f"{moved}* Client 00003 LLC" in text
    assert f"{nominal} ({found['deadline_moved_because']}) → {moved}" in text
    # on the holiday itself and until the moved deadline it is not overdue yet
    _set_clock(op, nominal + timedelta(days=1))
    assert _state(*where) == ("missing", (moved - nominal).days - 1)
    _set_clock(op, moved + timedelta(days=1))
    assert _state(*where)[0] == "overdue"


def test_status_says_when_the_operators_date_is_a_public_holiday(op: Operator) -> None:
    today = sandbox_today(op)
    holiday = next(d for d in sorted(KG) if d > today and d.weekday() < 5)
    after = holiday + timedelta(days=1)
    while not _working(after):
        after += timedelta(days=1)
    _set_clock(op, holiday)
    _, data = as_json("status")
    assert data["calendar"] == {  # type: ignore[index]
        "date": holiday.isoformat(),
        "working_day": False,
        "closed_because": f"public holiday: {KG[holiday]}",
        "next_working_day": after.isoformat(),
    }
    plain = run_cli("status").stdout
    assert f"public holiday: {KG[holiday]}; deadlines falling today move to {after}" in plain
    _set_clock(op, today)  # the seed's Wednesday
    _, data = as_json("status")
    assert data["calendar"]["working_day"] is True  # type: ignore[index]
    assert "is a working day in Kyrgyzstan" in run_cli("status").stdout


def test_the_dashboard_lists_a_rejection_until_a_later_filing_answers_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sochi_cli.services.overview import account_overview
    from sochi_cli.services.profiles import load_config

    def rejections() -> list[str]:
        overview = account_overview(load_config(None))
        return [f"{a.title} · {a.detail}" for a in overview.attention if a.kind == "rejected"]

    # its own operator: the package's one has the seed's rejection answered by other tests
    with running_operator(tmp_path / "operator", bulk_clients=12, history=True) as own:
        for name, value in own.env().items():
            monkeypatch.setenv(name, value)
        assert run_cli("login").code == 0
        period, client = month_back(sandbox_today(own), 1), bulk_client_inn(7)
        [shown] = [r for r in rejections() if client in r]  # the seed's rejected report
        assert shown.startswith(f"Rejected: STI-077 {period} · Client 00007 LLC ({client}): ")
        again = _report(tmp_path, 7, period)  # a rejected report is not on file: filed anew
        result = run_cli("submit", str(again), "--progress", "lines", "--wait-timeout", "60")
        assert result.code == 0, result.stderr
        assert not [r for r in rejections() if client in r]  # answered: nothing left to do
