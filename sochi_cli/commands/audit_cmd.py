"""`sochi audit list|verify` — the tamper-evident log of every action (clause 6.5)."""

from __future__ import annotations

from typing import Annotated

import typer

from sochi_cli.commands._context import app_context

audit_app = typer.Typer(
    help="The hash-chained audit log: who did what, when, with which certificate.",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi audit list --since 2026-11-01 --action submit\n\n"
    "  sochi audit verify --json",
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
    from sochi_cli.errors import UsageError
    from sochi_cli.store.audit import AuditLog
    from sochi_cli.store.journal import Journal
    from sochi_cli.timeutil import parse_instant

    app = app_context(ctx)
    try:
        moment = parse_instant(since) if since else None
    except ValueError:
        raise UsageError(f"--since: {since!r} is not an ISO date or date-time") from None
    journal = Journal.existing(app.profile)
    records = AuditLog(journal).records(since=moment, action=action) if journal else []

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
def audit_verify(ctx: typer.Context) -> None:
    """Walk the hash chain; name the first broken record (exit 4 if any)."""
    from sochi_cli.errors import ExitCode
    from sochi_cli.store.audit import GENESIS, AuditLog, AuditVerification
    from sochi_cli.store.journal import Journal

    app = app_context(ctx)
    journal = Journal.existing(app.profile)
    result = AuditLog(journal).verify() if journal else AuditVerification(True, 0, GENESIS)
    app.out.result(
        result.to_json(),
        lambda: app.out.fields(
            [("ok", result.ok), ("records", result.records), ("head", result.head_hash)]
        ),
    )
    if not result.ok:
        app.out.error(f"audit chain broken at record {result.broken_seq}: {result.reason}")
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
