"""Doctor checks of the operator: up or in maintenance (clause 4.2.1), announced outages
(clause 4.1), and the session: valid, ending soon, or no longer refreshable."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sochi_cli.errors import ExitCode, SochiError
from sochi_cli.services.diagnostics import Check, Finding
from sochi_cli.services.diagnostics_context import DoctorContext

MAINTENANCE_SOON = timedelta(hours=2)
SESSION_WARN = timedelta(days=3)
REFRESH_LIFETIME = timedelta(days=30)  # docs/api.md: refresh tokens live 30 days


def _window_text(window: Any, *, zone: bool = True) -> str:
    """`2026-12-04 17:30–20:30 (Bishkek)`; the end's date too when it is another day."""
    from sochi_cli.timeutil import local_span

    return local_span(window.starts_at, window.ends_at) + (" (Bishkek)" if zone else "")


def _until_text(moment: datetime, now: datetime) -> str:
    """`20:30 (Bishkek)` today (Bishkek, on the operator's clock), else with its date."""
    from sochi_cli.timeutil import format_local, to_bishkek

    if to_bishkek(moment).date() == to_bishkek(now).date():
        return f"{to_bishkek(moment):%H:%M} (Bishkek)"
    return format_local(moment)


def check_status(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.services.status import format_duration

    report = ctx.status()
    maintenance = report.status.maintenance
    evidence = report.to_json()["maintenance"]
    evidence.pop("announced", None)
    if maintenance.current is not None:
        window = maintenance.current
        left = format_duration(report.countdown(window) or 0)
        until = _until_text(window.ends_at, report.status.server_time)
        return check.fail(
            f"in planned maintenance until {until}, window {_window_text(window, zone=False)} "
            f"(ends in {left})",
            evidence=evidence,
            fix="wait for the end of the window: `sochi submit` waits by itself, "
            "`sochi batch resume last` continues a stopped batch",
            exit_code=int(ExitCode.UNAVAILABLE),
        )
    upcoming = maintenance.next
    if upcoming is not None:
        seconds = report.countdown(upcoming) or 0
        when = f"{_window_text(upcoming)}, in {format_duration(seconds)}"
        if timedelta(seconds=seconds) <= MAINTENANCE_SOON:
            return check.warn(
                f"maintenance starts soon: {when}",
                evidence=evidence,
                fix="file before the window or after it; a running batch waits it out",
            )
        return check.ok(f"up; next maintenance {when}", evidence=evidence)
    return check.ok("up; no maintenance window announced", evidence=evidence)


def _active(notice: Any, now: datetime) -> bool:
    started = notice.starts_at is None or notice.starts_at <= now
    ongoing = notice.ends_at is None or notice.ends_at > now
    return bool(started and ongoing)


def check_notices(ctx: DoctorContext, check: Check) -> Finding:
    report = ctx.status()
    now = report.status.server_time
    notices = report.status.notices
    evidence = {"notices": [n.to_json() for n in notices]}
    outages = [n for n in notices if n.kind == "outage" and _active(n, now)]
    if outages:
        titles = "; ".join(n.title for n in outages)
        return check.warn(
            f"the operator announced an outage: {titles} (restored within 24 h, clause 4.1.3)",
            evidence=evidence,
            fix="sochi status   (follow the notice; file on paper if a deadline cannot wait, "
            "clause 4.3.4)",
        )
    planned = [n for n in notices if n.kind == "planned_works" and (n.ends_at or now) >= now]
    if planned:
        return check.ok(
            "planned works announced: " + "; ".join(n.title for n in planned), evidence=evidence
        )
    return check.ok(f"no outage announced ({_plural(len(notices), 'notice')})", evidence=evidence)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _session_until(obtained_at: str | None) -> datetime | None:
    from sochi_cli.timeutil import parse_instant

    if not obtained_at:
        return None
    try:
        return parse_instant(obtained_at) + REFRESH_LIFETIME
    except ValueError:
        return None


def check_session(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.services.session import session_info, token_store
    from sochi_cli.timeutil import format_local

    config = ctx.require_config()
    token_before = token_store(config).access_token()
    try:
        before = session_info(config)
    except SochiError as err:
        return check.fail(
            f"not logged in (profile {config.profile})",
            evidence={"error": err.code},
            fix="sochi login",
            exit_code=int(ExitCode.AUTH),
        )
    try:
        account = ctx.account()  # refused from abroad: access.abroad's finding (run_check)
    except SochiError as err:
        if err.exit_code == ExitCode.AUTH:
            return check.fail(
                f"the session is no longer valid: {err.message}",
                evidence={"error": err.code, "source": before.source},
                fix="sochi login",
                exit_code=int(ExitCode.AUTH),
            )
        raise
    after = session_info(config)
    subscriber = after.subscriber or {}
    person = subscriber.get("person")
    ctx.note_names(subscriber.get("name"), person.get("name") if isinstance(person, dict) else None)
    until = _session_until(after.obtained_at)
    evidence: dict[str, Any] = {
        "source": after.source,
        "inn": account.inn,
        "refreshed": token_store(config).access_token() != token_before,
        "access_expires_at": after.access_expires_at,
        "session_ends_at": until,
    }
    who = f"{account.name} (INN {account.inn})"
    if after.source == "env":
        return check.ok(f"SOCHI_ACCESS_TOKEN accepted for {who}", evidence=evidence)
    now = ctx.options.clock()
    if until is not None and until - now <= SESSION_WARN:
        return check.warn(
            f"the session of {who} ends {format_local(until)} unless used before",
            evidence=evidence,
            fix="sochi login",
        )
    return check.ok(f"logged in as {who}", evidence=evidence)


CHECKS = [
    Check("operator.status", "Operator up, maintenance", check_status, "4.2.1", network=True),
    Check("operator.notices", "Announced outages", check_notices, "4.1", network=True),
    Check("operator.session", "Session", check_session, "1.5", network=True),
]

__all__ = ["CHECKS"]
