"""`sochi audit list|verify` — the tamper-evident log of every action (clause 6.5)."""

from __future__ import annotations

from typing import Annotated

import typer

from sochi_cli.commands._context import app_context

audit_app = typer.Typer(
    help="The hash-chained audit log: who did what, when, with which certificate.",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi audit list --since 2026-11-01 --action submit\n\n"
    "  sochi audit head > audit-head.txt\n\n"
    '  sochi audit verify --head "$(cat audit-head.txt)"',
)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("list")
def audit_list(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", help="ISO date/time (Bishkek unless offset given).")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Action name or prefix (e.g. submit).")
    ] = None,
) -> None:
    """Audit records, oldest first."""
    from sochi_cli.commands._records import journal_reader
    from sochi_cli.errors import UsageError
    from sochi_cli.store.audit import AuditLog
    from sochi_cli.timeutil import parse_instant

    app = app_context(ctx)
    try:
        moment = parse_instant(since) if since else None
    except ValueError:
        raise UsageError(f"--since: {since!r} is not an ISO date or date-time") from None
    records = []
    journal = journal_reader(app)
    if journal is not None:
        with journal:
            records = AuditLog(journal).records(since=moment, action=action)

    def render() -> None:
        if not records:
            app.out.info("no audit records match")
            return
        app.out.table(
            [
                (
                    r.seq,
                    parse_instant(r.at),
                    r.actor.get("certificate_serial") or r.actor.get("local_user") or "-",
                    r.action,
                    _details(r.details),
                )
                for r in records
            ],
            ["SEQ", "AT", "ACTOR", "ACTION", "DETAILS"],
        )

    app.out.result([r.to_json() for r in records], render)


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    head: Annotated[
        list[str] | None,
        typer.Option(
            "--head",
            help="A head kept elsewhere (SEQ:HASH from `sochi audit head`); repeatable.",
        ),
    ] = None,
) -> None:
    """Walk the hash chain and check it against the head file and --head (exit 4 if broken)."""
    from sochi_cli.errors import ExitCode
    from sochi_cli.services.records import verify_audit

    app = app_context(ctx)
    result = verify_audit(app.profile, head or ())

    def render() -> None:
        app.out.fields(
            [
                ("ok", result.ok),
                ("records", result.records),
                ("head", f"{result.head_seq}:{result.head_hash}"),
                ("anchors", ", ".join(a.split(":")[0] for a in result.anchors) or "-"),
            ]
        )

    app.out.result(result.to_json(), render)
    for warning in result.warnings:
        app.out.warn(warning)
    if not result.ok:
        app.out.error(f"audit chain broken at record {result.broken_seq}: {result.reason}")
        raise typer.Exit(int(ExitCode.VALIDATION))


@audit_app.command("head")
def audit_head(ctx: typer.Context) -> None:
    """The chain's last record as SEQ:HASH: keep it elsewhere, check later with --head."""
    from sochi_cli.errors import ExitCode
    from sochi_cli.services.records import audit_head as read_head

    app = app_context(ctx)
    report = read_head(app.profile)

    def render() -> None:
        app.out.line(report.head.anchor)
        if report.head.at:
            app.out.info(f"record {report.head.seq} of {report.head.at} (UTC)")

    app.out.result(report.to_json(), render)
    if report.problem:
        app.out.error(report.problem)
        raise typer.Exit(int(ExitCode.VALIDATION))


def _details(details: dict[str, object]) -> str:
    """Every detail, never cut (a terminal table folds long text, a pipe keeps it whole);
    texts as they are, anything else as compact JSON (`counts={"accepted":12}`)."""
    import json

    def text(value: object) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)

    return ", ".join(f"{k}={text(v)}" for k, v in details.items())
