"""`sochi inbox list|show|ack` — documents from agencies; ack sends your signed receipt."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._signer_opts import SignerChoice, signer_parameters

EXIT_CODES = (
    "Exit codes: 0 ok; 2 a PIN is needed but stdin is not a terminal (use --pin-file or "
    "SOCHI_PIN), an unreadable --file/--attach or a reply to a notice; 5 not logged in, "
    "PIN/key refused, certificate unusable or a signature does "
    "not verify; 7 operator unavailable; 9 no such inbox item."
)
inbox_app = typer.Typer(
    help="Notices and requests from agencies; acknowledging sends a signed receipt.",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi inbox list --unread\n\n  sochi inbox show inb_3Qx\n\n"
    "  SOCHI_PIN=... sochi inbox ack inb_3Qx --signer pkcs11\n\n"
    "  SOCHI_PIN=... sochi inbox reply inb_3Qx --file answer.xml --attach scan.pdf\n\n"
    + EXIT_CODES,
)

IdArg = Annotated[str, typer.Argument(help="Inbox item id (inb_…).")]


def register(app: typer.Typer) -> None:
    app.add_typer(inbox_app, name="inbox")


@inbox_app.command("list")
def list_(
    ctx: typer.Context,
    unread: Annotated[
        bool, typer.Option("--unread", help="Only items not acknowledged yet.")
    ] = False,
) -> None:
    """Inbox items, oldest first."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.clients import names_for
    from sochi_cli.services.inbox import list_items

    app = app_context(ctx)
    with connect(app) as client:
        items = list_items(client, unread=unread)
        names = names_for(client, app.profile, (i.client_inn for i in items))
    data = []
    for item in items:
        row = item.to_json()
        row["client_name"] = names.get(item.client_inn or "")
        row.pop("document", None)
        row.pop("signature", None)
        data.append(row)
    app.out.result(
        data,
        lambda: app.out.table(
            [
                (
                    i.id,
                    i.agency.code,
                    i.kind,
                    i.client_inn,
                    names.get(i.client_inn or "", None),
                    *(() if app.out.stdout_tty else (i.submission_id,)),  # `inbox show` has it
                    i.received_at,
                    "replied" if i.replied_at else ("acknowledged" if i.acknowledged_at else "new"),
                    i.subject,
                )
                for i in items
            ],
            [
                "ID",
                "AGENCY",
                "KIND",
                "CLIENT",
                "NAME",
                *(() if app.out.stdout_tty else ("SUBMISSION",)),
                "RECEIVED",
                "STATE",
                "SUBJECT",
            ],
            under={"SUBJECT"},
        ),
    )


@inbox_app.command("show")
def show(ctx: typer.Context, item_id: IdArg) -> None:
    """One item with its text and the agency's signature checked.

    In a pipe: `key<TAB>value` lines, the text as the last one (`body`, newlines as \\n).
    """
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.clients import names_for
    from sochi_cli.services.inbox import show_item
    from sochi_cli.services.receipts import describe, operator_trust

    app = app_context(ctx)
    trust = operator_trust(app.profile, str(app.config.get("api_url")))
    with connect(app) as client:
        shown = show_item(client, item_id, trust)
        name = names_for(client, app.profile, [shown.item.client_inn]).get(
            shown.item.client_inn or ""
        )
    item = shown.item

    pairs: list[tuple[str, Any]] = [
        ("id", item.id),
        ("agency", f"{item.agency.code} {item.agency.name}".strip()),
        ("kind", item.kind),
        ("subject", item.subject),
        ("received", item.received_at),
        ("client", item.client_inn),
        ("client name", name),
        ("submission", item.submission_id),
        ("acknowledged", item.acknowledged_at),
        ("replied", item.replied_at),
        ("signature", describe(shown.signature) if shown.signature else "none"),
    ]
    app.out.result(
        {**shown.to_json(), "client_name": name}, lambda: app.out.record(pairs, text=item.body)
    )


@inbox_app.command("ack")
@signer_parameters
def ack(
    ctx: typer.Context,
    item_id: IdArg,
    chosen: SignerChoice = SignerChoice(),
) -> None:
    """Acknowledge an item: sign its document with your key and send it (idempotent)."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.inbox import acknowledge
    from sochi_cli.services.receipts import describe
    from sochi_cli.services.signers import build_signer
    from sochi_cli.services.signing import trust_material

    app = app_context(ctx)
    options = chosen.options(app)
    trust = trust_material(
        app.profile, api_url=app.config.get("api_url"), fetch_missing=True, refresh=True
    )
    with connect(app) as client:
        result = acknowledge(
            client,
            item_id,
            build_signer(options, app.config),
            trust=trust,
            on_warning=app.out.warn,
            keep_in=app.profile,
        )

    def render() -> None:
        how = "already acknowledged" if result.already else "acknowledged"
        app.out.fields(
            [
                ("inbox item", result.item.id),
                ("status", how),
                ("acknowledged", result.item.acknowledged_at),
                ("receipt", result.receipt.id),
                ("receipt signature", describe(result.receipt_signature)),
                ("archived", f"{result.archived} object(s)"),
            ]
        )

    app.out.result(result.to_json(), render)


@inbox_app.command("reply")
@signer_parameters
def reply(
    ctx: typer.Context,
    item_id: IdArg,
    file: Annotated[Path, typer.Option("--file", help="The answer document (signed and sent).")],
    attach: Annotated[
        list[Path] | None,
        typer.Option("--attach", help="A file to send along (signed too); repeatable."),
    ] = None,
    chosen: SignerChoice = SignerChoice(),
) -> None:
    """Answer an agency's request with a signed document (and signed attachments)."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.clients import names_for
    from sochi_cli.services.inbox import reply as send_reply
    from sochi_cli.services.receipts import describe
    from sochi_cli.services.signers import build_signer
    from sochi_cli.services.signing import trust_material

    app = app_context(ctx)
    options = chosen.options(app)
    trust = trust_material(
        app.profile, api_url=app.config.get("api_url"), fetch_missing=True, refresh=True
    )
    with connect(app) as client:
        result = send_reply(
            client,
            item_id,
            file,
            build_signer(options, app.config),
            trust=trust,
            attachments=attach or [],
            on_warning=app.out.warn,
            keep_in=app.profile,
        )
        name = names_for(client, app.profile, [result.item.client_inn]).get(
            result.item.client_inn or ""
        )
    app.out.result(
        {**result.to_json(), "client_name": name},
        lambda: app.out.fields(
            [
                ("inbox item", result.item.id),
                ("client", result.item.client_inn),
                ("client name", name),
                ("submission", result.item.submission_id),
                ("replied", result.item.replied_at),
                ("receipt", result.receipt.id),
                ("receipt signature", describe(result.receipt_signature)),
                ("archived", f"{result.archived} object(s)"),
            ]
        ),
    )


__all__ = ["register"]
