"""`sochi archive list|export|verify` — the local copy of everything filed (clause 16.5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._output import ForceOpt, refuse_existing
from sochi_cli.commands._progress import ProgressMode, ProgressOpt, progress_display

archive_app = typer.Typer(
    help="Your own archive of reports, signatures, receipts and protocols.",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi archive list --client 02010201910123 --period 2026-10\n\n"
    "  sochi archive export --period 2026-10 --out 2026-10.zip\n\n  sochi archive verify\n\n"
    "  sochi archive reconcile --period 2026-10",
)

Client = Annotated[
    str | None,
    typer.Option(
        "--client", help="Client INN, or a name/prefix from the last `sochi clients list`."
    ),
]


def _client(profile: str, value: str | None) -> str | None:
    from sochi_cli.services.clients import resolve_client_offline

    return resolve_client_offline(profile, value) if value is not None else None


Period = Annotated[str | None, typer.Option("--period", help="Period: YYYY, YYYY-MM, YYYY-Qn.")]
Form = Annotated[str | None, typer.Option("--form", help="Form code, e.g. STI-077.")]


def register(app: typer.Typer) -> None:
    app.add_typer(archive_app, name="archive")


@archive_app.command("list")
def archive_list(
    ctx: typer.Context,
    client: Client = None,
    period: Period = None,
    form: Form = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="Object kind: report, signature, attachment, receipt, protocol, "
            "inbox_document, ack_signature, or a *_signature of them.",
        ),
    ] = None,
) -> None:
    """Archived objects, optionally for one client, period, form or kind."""
    from sochi_cli.commands._records import journal_reader
    from sochi_cli.store.archive import Archive

    app = app_context(ctx)
    entries = []
    journal = journal_reader(app)
    if journal is not None:
        with journal:
            entries = Archive(journal).entries(
                client=_client(app.profile, client), period=period, form=form, kind=kind
            )

    def render() -> None:
        if not entries:
            app.out.info("nothing archived matches")
            return
        app.out.table(
            [
                (
                    e.client_inn,
                    e.period,
                    e.form,
                    e.kind,
                    e.filename,
                    e.submission_id,
                    e.size,
                    e.sha256[:16] + "…" if app.out.stdout_tty else e.sha256,
                )
                for e in entries
            ],
            ["CLIENT", "PERIOD", "FORM", "KIND", "FILE", "SUBMISSION", "BYTES", "SHA-256"],
        )

    app.out.result([e.to_json() for e in entries], render)


@archive_app.command("export")
def archive_export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory, or a FILE.zip.")],
    client: Client = None,
    period: Period = None,
    form: Form = None,
    force: ForceOpt = False,
    progress: ProgressOpt = ProgressMode.AUTO,
) -> None:
    """Copy objects to a directory or zip laid out as CLIENT_INN/PERIOD/FORM/ + manifest.json."""
    from sochi_cli.services.progress import ProgressEvent
    from sochi_cli.services.records import export_archive

    app = app_context(ctx)
    if not force:
        refuse_existing(out)
    with progress_display(app, progress, command="archive export") as report:
        result, warning = export_archive(
            app.profile,
            out,
            client=_client(app.profile, client),
            period=period,
            form=form,
            on_file=lambda done, total: report(ProgressEvent("export", total, done)),
        )
    if warning:
        app.out.warn(warning)
    app.out.result(
        {**result.to_json(), "warnings": [warning] if warning else []},
        lambda: app.out.info(f"exported {result.files} files ({result.bytes} bytes) to {out}"),
    )


@archive_app.command("verify")
def archive_verify(ctx: typer.Context) -> None:
    """Recompute every object's SHA-256; list missing, corrupt and unindexed objects (exit 4)."""
    from sochi_cli.errors import ExitCode
    from sochi_cli.services.records import verify_archive

    app = app_context(ctx)
    check = verify_archive(app.profile)

    def render() -> None:
        for sha in check.missing:
            app.out.line(f"missing\t{sha}")
        for sha in check.corrupt:
            app.out.line(f"corrupt\t{sha}")
        for name in check.unindexed:
            app.out.line(f"unindexed\t{name}")
        if check.temporary:
            app.out.info(
                f"{len(check.temporary)} temporary file(s) left by an interrupted write "
                "(never indexed; safe to delete)"
            )
        if check.ok:
            app.out.info(f"archive ok: {check.checked} objects verified")

    app.out.result(check.to_json(), render)
    if not check.ok:
        for problem in check.problems:
            app.out.error(problem)
        app.out.error(
            f"archive damaged: {len(check.missing)} missing, {len(check.corrupt)} corrupt, "
            f"{len(check.unindexed)} unindexed of {check.checked} indexed objects — restore "
            "missing or corrupt ones from a backup or an export; `sochi archive reconcile` "
            "indexes and fetches what the operator holds"
        )
        raise typer.Exit(int(ExitCode.VALIDATION))


@archive_app.command(
    "reconcile",
    epilog="Examples:\n\n  sochi archive reconcile --period 2026-10\n\n"
    "  sochi --json archive reconcile --client 02010201910123\n\n"
    "Exit codes: 0 journal, archive and operator agree (after fetching what was missing); "
    "4 the journal holds filings the operator does not know, or a download did not check "
    "out; 5 not logged in; 7 operator unavailable; 10 the journal cannot be written or is "
    "in use by a running batch.",
)
def archive_reconcile(
    ctx: typer.Context,
    period: Period = None,
    client: Client = None,
    progress: ProgressOpt = ProgressMode.AUTO,
) -> None:
    """Compare with the operator's submissions; fetch and record what is missing here."""
    import sys

    from sochi_cli.errors import ExitCode
    from sochi_cli.services.progress import ProgressEvent
    from sochi_cli.services.reconcile import reconcile

    app = app_context(ctx)
    with progress_display(app, progress, command="archive reconcile") as report:
        result = reconcile(
            app.config,
            period=period,
            client=_client(app.profile, client),
            command=" ".join(["sochi", *sys.argv[1:]]) if sys.argv else "sochi archive reconcile",
            progress=lambda done, total: report(ProgressEvent("reconcile", total, done)),
        )

    def render() -> None:
        rows = [
            (how, r["client_inn"], r["form"], r["period"], r["submission_id"], r["state"])
            for how, found in (("recovered", result.recovered), ("updated", result.updated))
            for r in found
        ]
        rows += [
            ("local only", r["client_inn"], r["form"], r["period"], r["submission_id"], r["state"])
            for r in result.local_only
        ]
        if rows:
            app.out.table(rows, ["WHAT", "CLIENT", "FORM", "PERIOD", "SUBMISSION", "STATE"])
        app.out.info(
            f"operator: {result.operator_submissions} submission(s); already complete here: "
            f"{result.complete}; recovered: {len(result.recovered)}; updated: "
            f"{len(result.updated)}"
            + (f" (batch {result.batch_id})" if result.batch_id is not None else "")
            + (f"; no documents there: {len(result.unavailable)}" if result.unavailable else "")
        )
        if result.set_aside:
            app.out.info(
                f"{len(result.set_aside)} object file(s) known neither to the journal nor to "
                "the operator (e.g. signatures made by a run that was killed) were moved to "
                "the archive's unindexed/ folder"
            )
        for row in result.unsent:
            app.out.info(
                f"not filed yet: {row['client_inn']} {row['form']} {row['period']} "
                f"(`sochi batch resume {row['batch_id']}` sends it)"
            )

    app.out.result(result.to_json(), render)
    if result.unavailable:  # one line, however many: `--json` lists them
        first = result.unavailable[0]
        app.out.warn(
            f"{len(result.unavailable)} submission(s) at the operator have no documents to "
            f"download (e.g. {first['submission_id']}: no {', no '.join(first['missing'])}): "
            "your archive cannot hold a copy of them — `--json` lists them as `unavailable`"
        )
    for problem in result.problems:
        app.out.error(f"{problem['submission_id']}: {problem['message']}")
    if result.local_only:
        app.out.error(
            f"{len(result.local_only)} filing(s) in the journal are unknown to the operator — "
            "check them with `sochi submissions show ID` and the operator's support"
        )
    if not result.ok:
        raise typer.Exit(int(ExitCode.VALIDATION))
