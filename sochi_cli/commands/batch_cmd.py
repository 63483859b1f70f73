"""`sochi batch list|show|report|resume` — batches in the profile's journal, outcomes, resume."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sochi_cli.commands._context import AppContext, app_context
from sochi_cli.commands._output import ForceOpt, SummaryOpt, refuse_existing
from sochi_cli.commands._progress import ProgressMode, ProgressOpt, progress_display
from sochi_cli.commands._signer_opts import SignerChoice, signer_parameters
from sochi_cli.commands._submit_opts import (
    ConcurrencyOpt,
    NoWaitMaintenanceOpt,
    WaitOpt,
    WaitTimeoutOpt,
)

if TYPE_CHECKING:
    from sochi_cli.store.journal import Batch, Journal

batch_app = typer.Typer(
    help="Batches of submissions: list them, show one, export its outcome report.",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi batch list\n\n  sochi batch show last\n\n"
    "  sochi batch report 12 --format csv --out outcomes.csv",
)


class ReportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")


BatchId = Annotated[str, typer.Argument(help="Batch number, or 'last'.", metavar="ID")]


def _journal(app: AppContext) -> Journal | None:
    """The journal opened read-only: inspecting batches works on a read-only copy too."""
    from sochi_cli.commands._records import journal_reader

    return journal_reader(app)


def _resolve(journal: Journal | None, ident: str) -> Batch:
    from sochi_cli.errors import NotFound, UsageError

    if journal is None:
        raise NotFound("no batches yet in this profile", hint="file reports with `sochi submit`")
    if ident.lower() in ("last", "latest"):
        batch = journal.latest_batch()
        if batch is None:
            raise NotFound(
                "no batches yet in this profile", hint="file reports with `sochi submit`"
            )
        return batch
    if not ident.isdigit():
        raise UsageError(f"batch id must be a number or 'last', not {ident!r}")
    return journal.batch(int(ident))


@batch_app.command("list")
def batch_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest N batches.")] = 20,
) -> None:
    """Batches of this profile, newest first, with counts per state."""
    from sochi_cli.services.batch_report import batch_summary

    app = app_context(ctx)
    journal = _journal(app)
    summaries = [batch_summary(journal, b) for b in journal.batches(limit=limit)] if journal else []

    def render() -> None:
        if not summaries:
            app.out.info("no batches yet")
            return
        app.out.table(
            [
                (
                    s.batch.id,
                    _instant(s.batch.created_at),
                    _status(app, s.status),
                    s.batch.item_count,
                    ", ".join(f"{k} {v}" for k, v in sorted(s.counts.items())),
                    s.batch.command,
                )
                for s in summaries
            ],
            ["ID", "CREATED", "STATUS", "ITEMS", "STATES", "COMMAND"],
        )

    app.out.result([s.to_json() for s in summaries], render)


@batch_app.command("show")
def batch_show(ctx: typer.Context, ident: BatchId, summary: SummaryOpt = False) -> None:
    """One batch: its status, counts per state and every item's outcome.

    On a terminal the summary comes first, then the items; in a pipe only the items (one
    line each), or with --summary only the summary.
    """
    from sochi_cli.services.batch_report import RowContext, batch_outcomes, batch_summary

    app = app_context(ctx)
    journal = _journal(app)
    batch = _resolve(journal, ident)
    assert journal is not None
    found = batch_summary(journal, batch)
    rows = batch_outcomes(journal, batch.id, RowContext.load(app.profile))
    pairs = [
        ("batch", batch.id),
        ("status", _status(app, found.status)),
        ("created", _instant(batch.created_at)),
        ("command", batch.command),
        ("items", batch.item_count),
        ("states", ", ".join(f"{k} {v}" for k, v in sorted(found.counts.items()))),
        ("in flight", found.in_flight),
        ("next", found.follow_up),
    ]
    tty = app.out.stdout_tty
    app.out.result(
        {**found.to_json(), "items": [r.to_json() for r in rows]},
        lambda: app.out.record(
            pairs,
            rows=[
                (
                    r.seq,
                    r.client_inn,
                    r.client_name,
                    r.form,
                    r.period,
                    r.state
                    + (f" ({r.in_flight_stage} in flight)" if r.in_flight_stage and tty else "")
                    + (" (late)" if r.late and tty else ""),
                    r.fee,
                    r.submission_id,
                    r.error or r.error_code,
                    *(() if tty else (r.late,)),  # a pipe gets it as a last column
                )
                for r in rows
            ],
            headers=["#", "INN", "CLIENT", "FORM", "PERIOD", "STATE", "FEE", "SUBMISSION", "ERROR"]
            + ([] if tty else ["LATE"]),
            under={"ERROR"},
            summary=summary,
        ),
    )


def _instant(text: str) -> datetime:
    from sochi_cli.timeutil import parse_instant

    return parse_instant(text)


def _status(app: AppContext, status: str) -> str:
    """`pending verdicts` for people; the JSON value (`pending_verdicts`) for scripts."""
    return status.replace("_", " ") if app.out.stdout_tty else status


@batch_app.command("report")
def batch_report(
    ctx: typer.Context,
    ident: BatchId,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="csv (default) or json.")
    ] = ReportFormat.CSV,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Per-item outcome report (client INN and name, form, period, file, state, submission,
    receipt, error, fee in som, late) — what a firm invoices its clients from."""
    from sochi_cli.services.batch_report import (
        RowContext,
        batch_outcomes,
        outcomes_csv,
        outcomes_json,
    )
    from sochi_cli.store.files import atomic_write_text, own_file

    app = app_context(ctx)
    if out is not None and not force:
        refuse_existing(out)
    journal = _journal(app)
    batch = _resolve(journal, ident)
    assert journal is not None
    rows = batch_outcomes(journal, batch.id, RowContext.load(app.profile))
    use_json = fmt is ReportFormat.JSON or app.out.json_mode
    text = outcomes_json(batch, rows) if use_json else outcomes_csv(rows)
    if out is None:
        app.out.stdout.write(text)
        return
    with own_file(out, "report", hint="choose a writable --out file"):
        atomic_write_text(out, text)
    app.out.info(f"wrote {len(rows)} rows to {out}")


@batch_app.command(
    "resume",
    epilog="Examples:\n\n  sochi batch resume last\n\n  sochi batch resume 12 --no-wait\n\n"
    "A batch with nothing left to do is reported as such and left alone.\n\n"
    "Exit codes: as `sochi submit`.",
)
@signer_parameters
def batch_resume(
    ctx: typer.Context,
    ident: BatchId,
    concurrency: ConcurrencyOpt = None,
    wait: WaitOpt = True,
    wait_timeout: WaitTimeoutOpt = 1800.0,
    no_wait_maintenance: NoWaitMaintenanceOpt = False,
    progress: ProgressOpt = ProgressMode.AUTO,
    chosen: SignerChoice = SignerChoice(),
) -> None:
    """Continue an interrupted batch from the journal: same items, keys and signatures."""
    import sys

    from sochi_cli.commands.submit_cmd import make_signer_factory, show_result
    from sochi_cli.services.submit import resume
    from sochi_cli.services.submit_model import SubmitOptions

    app = app_context(ctx)
    journal = _journal(app)
    try:
        batch = _resolve(journal, ident)
    finally:
        if journal is not None:
            journal.close()
    options = SubmitOptions(
        concurrency=concurrency or int(app.config.get("concurrency")),
        wait=wait,
        wait_maintenance=not no_wait_maintenance,
        wait_timeout=wait_timeout,
        command=" ".join(["sochi", *sys.argv[1:]]),
    )
    factory = make_signer_factory(app, chosen)
    with progress_display(app, progress, command="batch resume") as report:
        result = resume(
            app.config,
            batch.id,
            options,
            signer_factory=factory,
            progress=report,
            warn=app.out.warn,
        )
    show_result(app, result)
