"""`sochi status` — operator state, maintenance windows (Bishkek), notices, clock skew."""

from __future__ import annotations

from typing import Any

import typer

from sochi_cli.commands._context import app_context


def register(app: typer.Typer) -> None:
    app.command(
        "status",
        epilog="Example:\n\n  sochi status --json\n\n"
        "Exit codes: 0 the operator answered (even during maintenance); "
        "7 unreachable, TLS failure or a malformed answer.",
    )(status)


def status(ctx: typer.Context) -> None:
    """Is the operator up, when is the next maintenance window, and is my clock right?"""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.status import SKEW_WARNING_SECONDS, format_duration, operator_status
    from sochi_cli.timeutil import format_local

    app = app_context(ctx)
    with connect(app, authenticated=False) as client:
        report = operator_status(client)
    maintenance = report.status.maintenance

    def window_text(window: Any, prefix: str) -> str:
        seconds = report.countdown(window)
        ends = format_local(window.ends_at).split(" ", 1)[1]
        when = f"{format_local(window.starts_at).replace(' (Bishkek)', '')} – {ends}"
        left = format_duration(seconds or 0)
        return f"{when}, {prefix} {left} — {window.title}"

    def render() -> None:
        pairs: list[tuple[str, Any]] = [
            ("operator", report.api_url + ("  (sandbox)" if report.status.sandbox else "")),
            ("state", report.state),
            ("server time", report.status.server_time),
            ("clock skew", f"{report.skew_seconds:+.1f} s (server minus this machine)"),
            ("calendar", _calendar_text(report.calendar)),
        ]
        if maintenance.current is not None:
            pairs.append(("maintenance", window_text(maintenance.current, "ends in")))
        if maintenance.next is not None:
            pairs.append(("next window", window_text(maintenance.next, "starts in")))
        for notice in report.status.notices:
            pairs.append(("notice", f"[{notice.kind}] {notice.title}"))
        app.out.fields(pairs)
        if abs(report.skew_seconds) > SKEW_WARNING_SECONDS:
            app.out.warn(
                f"this machine's clock differs from the operator's by {report.skew_seconds:+.0f} s;"
                " signing times are checked against the operator's clock — sync the clock (NTP)"
            )

    app.out.result(report.to_json(), render)


def _calendar_text(calendar: dict[str, Any]) -> str:
    if calendar["working_day"]:
        return f"{calendar['date']} is a working day in Kyrgyzstan"
    return (
        f"{calendar['date']}: {calendar['closed_because']}; deadlines falling today move to "
        f"{calendar['next_working_day']}"
    )


__all__ = ["register"]
