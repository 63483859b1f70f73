"""`sochi submissions list|show|receipts|download` — what was filed, as the operator sees it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._operator import complete_client_inn, complete_form_code
from sochi_cli.commands._output import ForceOpt, refuse_existing

if TYPE_CHECKING:
    from sochi_cli.api.models import Submission
    from sochi_cli.commands._context import AppContext
    from sochi_cli.services.submissions import CheckedReceipt

EXIT_CODES = (
    "Exit codes: 0 ok; 2 bad option (period, status, date, limit); 4 invalid INN; "
    "5 not logged in or a receipt signature does not verify; 7 operator unavailable; "
    "9 no such submission; 10 the --out folder cannot be written."
)
submissions_app = typer.Typer(
    help="Submissions filed at the operator: states, receipts, protocols (clause 16).",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi submissions list --client 02010201910123 --period 2026-10\n\n"
    "  sochi submissions show sub_8Kf2 --json\n\n  sochi submissions receipts sub_8Kf2\n\n"
    "  sochi submissions download sub_8Kf2 --out evidence/\n\n" + EXIT_CODES,
)

IdArg = Annotated[str, typer.Argument(help="Submission id (sub_…).")]


def register(app: typer.Typer) -> None:
    app.add_typer(submissions_app, name="submissions")


def _row(s: Submission, tty: bool) -> tuple[Any, ...]:
    """Late as " (late)" after the status on a terminal, as a last column in a pipe."""
    if tty:
        status = s.status + (" (late)" if s.late else "")
        return (s.id, s.client_inn, s.form, s.period, s.correction, status, s.received_at)
    return (s.id, s.client_inn, s.form, s.period, s.correction, s.status, s.received_at, s.late)


@submissions_app.command("list")
def list_(
    ctx: typer.Context,
    client_inn: Annotated[
        str | None,
        typer.Option(
            "--client",
            help="Client INN, name or the first letters of a name.",
            autocompletion=complete_client_inn,
        ),
    ] = None,
    form: Annotated[
        str | None, typer.Option("--form", help="Form code.", autocompletion=complete_form_code)
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="YYYY-MM, YYYY-Qn or YYYY.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="received, delivered, accepted or rejected.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Received on or after, YYYY-MM-DD (Bishkek).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Only the newest N (after filtering).")
    ] = None,
) -> None:
    """Submissions, oldest first, narrowed by client, form, period, state and date."""
    from sochi_cli.commands._operator import connect, parse_date
    from sochi_cli.services.submissions import SubmissionFilter, list_submissions

    app = app_context(ctx)
    if client_inn is not None and not client_inn.strip().isdigit():
        from sochi_cli.services.clients import resolve_client

        with connect(app) as client:
            client_inn = resolve_client(client, app.profile, client_inn)
    wanted = SubmissionFilter(
        client_inn,
        form,
        period,
        status,
        parse_date(since, "--since") if since is not None else None,
        limit,
    ).checked()
    with connect(app) as client:
        items = list_submissions(client, wanted)
    app.out.result(
        items,
        lambda: app.out.table(
            [_row(s, app.out.stdout_tty) for s in items],
            ["ID", "CLIENT", "FORM", "PERIOD", "CORR", "STATUS", "RECEIVED"]
            + ([] if app.out.stdout_tty else ["LATE"]),
        ),
    )


@submissions_app.command("show")
def show(ctx: typer.Context, submission_id: IdArg) -> None:
    """One submission: state, times, fee, signer, report hash and the agency's protocol."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.submissions import get_submission

    app = app_context(ctx)
    with connect(app) as client:
        item = get_submission(client, submission_id)
    app.out.result(item, lambda: _render(app, item))


def _render(app: AppContext, s: Submission) -> None:
    from sochi_cli.services.account import som

    pairs: list[tuple[str, Any]] = [
        ("id", s.id),
        ("client", s.client_inn),
        ("filer", s.filer_inn),
        ("form", s.form),
        ("period", s.period),
        ("correction", s.correction),
        ("status", s.status),
        ("received", s.received_at),
        ("delivered", s.delivered_at),
        ("decided", s.decided_at),
        ("fee", f"{som(s.fee)} KGS"),
        ("late", s.late),
    ]
    if s.report is not None:
        pairs += [("report", s.report.filename), ("report sha256", s.report.sha256)]
    if s.signer is not None:
        from sochi_cli.names import readable_dn

        signer = readable_dn(s.signer.name) if s.signer.name else None
        pairs += [("signed by", signer), ("signing time", s.signer.signing_time)]
    pairs.append(("receipts", ", ".join(s.receipt_ids) or None))
    if s.protocol is not None:
        pairs.append(("verdict", s.protocol.verdict))
    pairs += [
        ("error", f"{error.path}: {error.message}" if error.path else error.message)
        for error in (s.protocol.errors if s.protocol else [])
    ]
    app.out.fields(pairs)


def _trust(app: AppContext) -> Any:
    from sochi_cli.services.receipts import operator_trust

    return operator_trust(app.profile, str(app.config.get("api_url")))


def _receipt_rows(items: list[CheckedReceipt]) -> list[tuple[Any, ...]]:
    from sochi_cli.services.receipts import describe

    return [
        (r.receipt.id, r.receipt.kind, r.receipt.issuer, r.receipt.issued_at, describe(r.check))
        for r in items
    ]


@submissions_app.command("receipts")
def receipts(ctx: typer.Context, submission_id: IdArg) -> None:
    """The delivery receipt and the agency protocol, each CMS signature verified."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.submissions import submission_receipts

    app = app_context(ctx)
    trust = _trust(app)
    with connect(app) as client:
        items = submission_receipts(client, submission_id, trust)
    if trust is None:
        app.out.warn("the operator's CA chain is unavailable: signer chains not checked")
    app.out.result(
        [r.to_json() for r in items],
        lambda: app.out.table(
            _receipt_rows(items), ["ID", "KIND", "ISSUER", "ISSUED", "SIGNATURE"]
        ),
    )
    if any(not r.check.verified for r in items):
        from sochi_cli.errors import SignatureError

        raise SignatureError(
            "a receipt signature does not verify", code="receipt_signature_invalid"
        )


@submissions_app.command("download")
def download(
    ctx: typer.Context,
    submission_id: IdArg,
    out: Annotated[Path, typer.Option("--out", help="Folder; files go to OUT/<id>/.")],
    force: ForceOpt = False,
) -> None:
    """Save the record, receipts (+ .p7s), protocol and archived report into OUT/<id>/.

    Every receipt signature is verified first; if one fails nothing is written.
    """
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.receipts import describe
    from sochi_cli.services.submissions import download_submission

    app = app_context(ctx)
    if not force:
        refuse_existing(out / submission_id, "--out")
    trust = _trust(app)
    with connect(app) as client:
        result = download_submission(client, submission_id, out, profile=app.profile, trust=trust)
    for line in result.missing:
        app.out.warn(f"not saved: {line}")

    def render() -> None:
        for f in result.files:
            app.out.line(str(result.folder / f["path"]))
        for r in result.receipts:
            app.out.info(f"receipt {r.receipt.id} ({r.receipt.kind}): {describe(r.check)}")
        app.out.info(f"saved {len(result.files)} files to {result.folder}")

    app.out.result(result.to_json(), render)


__all__ = ["register"]
