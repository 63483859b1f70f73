"""Doctor, operator group: maintenance now and soon (clause 4.2.1), announced outages (4.1),
the session: missing, refreshed, ending, no longer refreshable."""

from __future__ import annotations

import json
from datetime import timedelta

from sochi_cli.errors import ExitCode
from tests.api.conftest import WEDNESDAY_NOON
from tests.batch.operator import friday_evening
from tests.doctor.conftest import Sandbox, bishkek_date, finding, login, result_of, run
from tests.support import run_cli


def _at(sb: Sandbox, moment: object, *, frozen: bool = False) -> None:
    sb.control("PUT", "clock", {"now": moment.isoformat(), "frozen": frozen})  # type: ignore[attr-defined]


def test_operator_up_outside_the_window(sb: Sandbox) -> None:
    login(sb)
    report = run(sb, "operator")
    status = finding(report, "operator.status")
    assert status.result.value == "ok" and status.summary.startswith("up; next maintenance")
    assert "17:30–20:30 (Bishkek)" in status.summary
    assert result_of(report, "operator.notices") == "ok"
    assert result_of(report, "operator.session") == "ok"


def test_maintenance_now_fails_with_its_end(sb: Sandbox) -> None:
    login(sb)
    _at(sb, friday_evening(WEDNESDAY_NOON), frozen=True)  # Friday 18:00 Bishkek
    report = run(sb, "operator", "account")
    status = finding(report, "operator.status")
    assert status.result.value == "fail" and status.exit_code == ExitCode.UNAVAILABLE
    assert status.summary == (
        "in planned maintenance until 20:30 (Bishkek), window "
        f"{bishkek_date(sb.now())} 17:30–20:30 (ends in 2h 30m)"
    )
    assert "sochi batch resume last" in status.fix and status.clause == "4.2.1"
    assert status.evidence["active"] is True
    # the operator answers 503 to everything else: those checks say why they did not run
    for check in ("operator.session", "account.balance"):
        skipped = finding(report, check)
        assert skipped.result.value == "skipped"
        assert skipped.summary == "the operator is in planned maintenance (see operator.status)"
    assert report.exit_code == ExitCode.UNAVAILABLE
    # every command refused by the weekly window says it is the weekly one
    events = run_cli("events")
    assert events.code == ExitCode.UNAVAILABLE
    assert "planned weekly maintenance (every Friday 17:30–20:30 Bishkek)" in events.stderr


def test_maintenance_soon_warns(sb: Sandbox) -> None:
    _at(sb, friday_evening(WEDNESDAY_NOON) - timedelta(hours=1, minutes=30))  # 16:30 Bishkek
    status = finding(run(sb, "operator"), "operator.status")
    assert status.result.value == "warn" and "maintenance starts soon" in status.summary


def test_announced_window_counts_too(sb: Sandbox) -> None:
    start = WEDNESDAY_NOON + timedelta(days=20)
    sb.control(
        "POST",
        "maintenance",
        {
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "title": "Database upgrade",
        },
    )
    login(sb)
    _at(sb, start + timedelta(minutes=5))
    status = finding(run(sb, "operator"), "operator.status")
    assert status.result.value == "fail" and status.evidence["current"]["kind"] == "announced"
    # a command refused by it names this window's own times, not the weekly Friday one
    events = run_cli("events")
    assert events.code == ExitCode.UNAVAILABLE
    day = bishkek_date(start)
    assert f"announced maintenance window {day} 12:00–14:00 (Bishkek)" in events.stderr
    assert "Friday" not in events.stderr


def test_maintenance_across_midnight_names_the_day_it_ends(sb: Sandbox) -> None:
    start = WEDNESDAY_NOON + timedelta(days=30, hours=11)  # 23:00 Bishkek
    sb.control(
        "POST",
        "maintenance",
        {
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=3)).isoformat(),
            "title": "Storage migration",
        },
    )
    _at(sb, start + timedelta(minutes=30), frozen=True)
    status = finding(run(sb, "operator"), "operator.status")
    night, morning = bishkek_date(start), bishkek_date(start + timedelta(hours=3))
    assert status.summary == (
        f"in planned maintenance until {morning} 02:00 (Bishkek), window {night} "
        f"23:00–{morning} 02:00 (ends in 2h 30m)"
    )


def test_announced_outage_warns(sb: Sandbox) -> None:
    # its own moment, long before the other tests' Wednesday: the outage is over by then
    moment = WEDNESDAY_NOON - timedelta(days=40)
    _at(sb, moment)
    sb.control(
        "POST",
        "notices",
        {
            "kind": "outage",
            "title": "Delivery to the Social Fund is interrupted",
            "starts_at": moment.isoformat(),
            "ends_at": (moment + timedelta(hours=4)).isoformat(),
        },
    )
    notices = finding(run(sb, "operator"), "operator.notices")
    assert notices.result.value == "warn" and "Social Fund is interrupted" in notices.summary
    assert notices.clause == "4.1" and "clause 4.3.4" in notices.fix
    _at(sb, moment + timedelta(hours=5))
    assert result_of(run(sb, "operator"), "operator.notices") == "ok"


def test_not_logged_in(sb: Sandbox) -> None:
    session = finding(run(sb, "operator"), "operator.session")
    assert session.result.value == "fail" and session.fix == "sochi login"
    assert session.exit_code == ExitCode.AUTH


def test_expired_access_token_is_refreshed(sb: Sandbox) -> None:
    login(sb)
    sb.control("POST", "clock/advance", {"seconds": 1800})  # access tokens live 900 s
    session = finding(run(sb, "operator"), "operator.session")
    assert session.result.value == "ok" and session.evidence["refreshed"] is True


def test_refresh_failing_needs_a_new_login(sb: Sandbox) -> None:
    login(sb)
    sb.control("POST", "clock/advance", {"seconds": 31 * 86400})  # refresh tokens live 30 days
    report = run(sb, "operator", "account")
    session = finding(report, "operator.session")
    assert session.result.value == "fail" and session.fix == "sochi login"
    assert "cannot be refreshed" in session.summary
    assert finding(report, "account.balance").summary == "needs a session (see operator.session)"


def test_session_ending_soon_warns(sb: Sandbox) -> None:
    from sochi_cli.services.session import session_path

    login(sb)
    path = session_path("sandbox")
    data = json.loads(path.read_text())
    started = sb.now() - timedelta(days=28)  # the refresh token is 28 days old
    data["obtained_at"] = started.isoformat().replace("+00:00", "Z")
    path.write_text(json.dumps(data))
    session = finding(run(sb, "operator"), "operator.session")
    assert session.result.value == "warn" and session.fix == "sochi login"
