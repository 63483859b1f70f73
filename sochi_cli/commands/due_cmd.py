"""`sochi due` — what is due, for whom, by when (the obligations service)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._operator import complete_client_inn, complete_form_code

if TYPE_CHECKING:
    from sochi_cli.commands._output import Output
    from sochi_cli.services.obligations import Obligation, ObligationReport

# On a terminal, what needs you comes first: to file now, to file before the deadline, at
# the agency, not fileable yet; accepted last, and only with --all.
ATTENTION = {
    "overdue": 0,
    "rejected": 0,
    "missing": 1,
    "unsent": 1,
    "in_progress": 2,
    "upcoming": 3,
    "accepted": 4,
}
STATE_STYLE = {
    "overdue": "bold red",
    "rejected": "bold red",
    "missing": "yellow",
    "unsent": "yellow",
    "in_progress": "cyan",
    "upcoming": "dim",
    "accepted": "green",
}

EXIT_CODES = (
    "Exit codes: 0 the report was made, whatever is due or overdue (it is a report); 2 bad "
    "option (period syntax for the form, --within, an ambiguous client prefix); 5 not logged "
    "in; 7 operator unavailable; 9 unknown client or form."
)


def register(app: typer.Typer) -> None:
    app.command(
        "due",
        epilog="Examples:\n\n  sochi due\n\n  sochi due --all\n\n  sochi due --overdue\n\n"
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
    show_all: Annotated[
        bool,
        typer.Option(
            "--all",
            help="On a terminal, list the accepted ones too; they are already listed with "
            "--client, --period or --form, and pipes and --json always have every row.",
        ),
    ] = False,
) -> None:
    """What is due, for whom, by when: every client's forms, periods, deadlines and states."""
    from sochi_cli.commands._operator import connect, parse_date
    from sochi_cli.services.obligations import (
        DueQuery,
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

    def render() -> None:
        if app.out.stdout_tty:
            narrowed = client is not None or period is not None or form is not None
            _for_people(app.out, report, show_all or narrowed)
        else:  # scripts: every row and column, tab-separated, soonest deadline first
            app.out.table(
                [
                    (o.deadline, o.client_name, o.client_inn, o.form, o.period, o.state,
                     o.days_left, o.submission_id, note(o), o.late)
                    for o in report.obligations
                ],
                ["DUE", "CLIENT", "INN", "FORM", "PERIOD", "STATE", "DAYS", "SUBMISSION", "NOTE",
                 "LATE"],
            )  # fmt: skip
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
        summary = (
            f"{len(report.obligations)} obligation(s) of {report.taxpayers} taxpayer(s), deadlines "
            f"{report.since} – {report.until} (today {report.today}, Bishkek): {counts or 'none'}"
        )
        if app.out.stderr_tty and not app.out.quiet:  # folded between words, not mid-word
            app.out.folded(summary, err=True)
        else:
            app.out.info(summary)
        for warning in report.warnings:
            app.out.warn(warning)

    app.out.result(report.to_json(), render)


def _for_people(out: Output, report: ObligationReport, show_all: bool) -> None:
    """What needs attention first; accepted ones last and only with `show_all` (the firm-wide
    view is a to-do list, a client's or a form's view its whole picture); a moved deadline
    marked `*` and explained once under the table; a rejection reason on the lines under
    its row. The name says who (the INN and ids are in pipes and --json)."""
    from rich.text import Text

    shown = sorted(
        (o for o in report.obligations if show_all or o.state != "accepted"),
        key=lambda o: (ATTENTION.get(o.state, 5), o.deadline, o.client_name.casefold(), o.form),
    )
    hidden = len(report.obligations) - len(shown)
    if shown:
        out.table_with_notes(
            [
                (
                    f"{o.deadline}{'*' if o.deadline_moved_because else ''}",
                    o.client_name,
                    o.form,
                    o.period,
                    Text(_state(o), style=STATE_STYLE.get(o.state, "")),
                    o.days_left,
                )
                for o in shown
            ],
            ["DUE", "CLIENT", "FORM", "PERIOD", "STATE", "DAYS"],
            [o.reason for o in shown],
            fold=1,
            right={5},
        )
    elif report.obligations:
        out.line("Nothing needs filing.")
    moves = sorted(
        {
            (o.deadline, o.nominal_deadline, o.deadline_moved_because)
            for o in shown
            if o.deadline_moved_because
        }
    )
    if moves:
        out.folded(
            "* moved to the next working day: "
            + ", ".join(f"{rule} ({why}) → {due}" for due, rule, why in moves),
            style="dim",
        )
    if hidden:
        out.folded(f"{hidden} accepted not listed: sochi due --all lists them", style="dim")


def _state(o: Obligation) -> str:
    return o.state + (" (late)" if o.late and o.state in ("accepted", "in_progress") else "")


__all__ = ["register"]
