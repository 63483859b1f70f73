"""`sochi due` — what is due, for whom, by when (the obligations service)."""

from __future__ import annotations

from typing import Annotated

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._operator import complete_client_inn, complete_form_code

EXIT_CODES = (
    "Exit codes: 0 the report was made, whatever is due or overdue (it is a report); 2 bad "
    "option (period syntax for the form, --within, an ambiguous client prefix); 5 not logged "
    "in; 7 operator unavailable; 9 unknown client or form."
)


def register(app: typer.Typer) -> None:
    app.command(
        "due",
        epilog="Examples:\n\n  sochi due\n\n  sochi due --overdue\n\n"
        "  sochi due --within 7d --client 'Ak-Suu'\n\n"
        "  sochi due --period 2026-10 --form STI-077 --json\n\n" + EXIT_CODES,
    )(due)


def due(
    ctx: typer.Context,
    client: Annotated[
        str | None,
        typer.Option(
            "--client",
            help="INN, name or the first letters of a name.",
            autocompletion=complete_client_inn,
        ),
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Only this period: YYYY-MM, YYYY-Qn or YYYY.")
    ] = None,
    form: Annotated[
        str | None,
        typer.Option(
            "--form", help="Only this form, e.g. STI-077.", autocompletion=complete_form_code
        ),
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only what still needs filing after its deadline.")
    ] = False,
    within: Annotated[
        str | None,
        typer.Option(
            "--within", help="Only what is not accepted and due within e.g. 7d (overdue too)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Deadlines on/after YYYY-MM-DD [default: two months back]."),
    ] = None,
) -> None:
    """What is due, for whom, by when: every client's forms, periods, deadlines and states."""
    from sochi_cli.commands._operator import connect, parse_date
    from sochi_cli.services.obligations import (
        DueQuery,
        Obligation,
        obligations_report,
        parse_within,
    )

    app = app_context(ctx)
    query = DueQuery(
        client=client,
        period=period.strip() if period else None,
        form=form,
        overdue=overdue,
        within_days=parse_within(within) if within is not None else None,
        since=parse_date(since, "--since") if since is not None else None,
    )
    with connect(app) as operator:
        report = obligations_report(operator, app.profile, query)

    def note(o: Obligation) -> str:
        parts = [o.reason] if o.reason else []
        if o.deadline_moved_because:
            parts.append(f"moved from {o.nominal_deadline:%d %b} ({o.deadline_moved_because})")
        return "; ".join(parts)

    def state(o: Obligation) -> str:
        return o.state + (" (late)" if o.late and o.state in ("accepted", "in_progress") else "")

    def render() -> None:
        if app.out.stdout_tty:  # people: the name says who; the INN and ids are in --json
            app.out.table(
                [
                    (o.deadline, o.client_name, o.form, o.period, state(o), o.days_left, note(o))
                    for o in report.obligations
                ],
                ["DUE", "CLIENT", "FORM", "PERIOD", "STATE", "DAYS", "NOTE"],
            )
        else:  # scripts: every column, tab-separated, in a stable order
            app.out.table(
                [
                    (o.deadline, o.client_name, o.client_inn, o.form, o.period, o.state,
                     o.days_left, o.submission_id, note(o))
                    for o in report.obligations
                ],
                ["DUE", "CLIENT", "INN", "FORM", "PERIOD", "STATE", "DAYS", "SUBMISSION", "NOTE"],
            )  # fmt: skip
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
        app.out.info(
            f"{len(report.obligations)} obligation(s) of {report.taxpayers} taxpayer(s), deadlines "
            f"{report.since} – {report.until} (today {report.today}, Bishkek): {counts or 'none'}"
        )
        for warning in report.warnings:
            app.out.warn(warning)

    app.out.result(report.to_json(), render)


__all__ = ["register"]
