"""`sochi clients list|show|add|detach` and `sochi poa list` — served taxpayers and POAs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._operator import complete_client_inn

if TYPE_CHECKING:
    from sochi_cli.api.models import Client
    from sochi_cli.commands._context import AppContext

EXIT_CODES = (
    "Exit codes: 0 ok; 2 bad option or no confirmation; 4 invalid INN or POA dates; "
    "5 not logged in; 6 refused (not a tax representative, client exists or detached…); "
    "7 unavailable; 9 no such client. A name that matches several clients is exit 2 and "
    "lists them."
)
clients_app = typer.Typer(
    help="Taxpayers you represent and their powers of attorney (clauses 3.2, 4.3.10).",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi clients list\n\n  sochi clients show 02010201910123\n\n"
    "  sochi clients add 02010201910123 --name 'Ak-Suu Trade' --poa-scan poa.pdf "
    "--poa-number 17 --issued 2026-01-10 --valid-until 2027-01-10\n\n"
    "  sochi clients show 'Ak-Suu'\n\n"
    "  sochi clients renew 'Naryn Agro' --poa-scan poa-18.pdf --poa-number 18 "
    "--issued 2026-11-01 --valid-until 2027-11-01\n\n"
    "  sochi clients detach 02010201910123 --reason 'contract ended' --yes\n\n"
    "  sochi clients attach 02010201910123 --poa-scan poa-19.pdf --poa-number 19 "
    "--issued 2026-12-01 --valid-until 2027-12-01\n\n" + EXIT_CODES,
)
poa_app = typer.Typer(
    help="Powers of attorney of your clients.",
    no_args_is_help=True,
    epilog="Example:\n\n  sochi poa list --expiring 30d\n\n" + EXIT_CODES,
)

InnArg = Annotated[
    str, typer.Argument(help="Client INN (14 digits).", autocompletion=complete_client_inn)
]
ClientArg = Annotated[
    str,
    typer.Argument(
        help="Client INN, name or the first letters of a name.",
        autocompletion=complete_client_inn,
        metavar="CLIENT",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(clients_app, name="clients")
    app.add_typer(poa_app, name="poa")


def _client_json(c: Client) -> dict[str, Any]:
    return c.to_json()


def _client_row(c: Client) -> tuple[Any, ...]:
    poa = c.poa
    return (
        c.inn,
        c.name,
        c.kind,
        c.status,
        poa.number if poa else None,
        poa.valid_until if poa else None,
        c.poa_state,
    )


@clients_app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="active or detached (default: all).")
    ] = None,
) -> None:
    """All clients with their power of attorney state."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.clients import list_clients

    app = app_context(ctx)
    with connect(app) as client:
        items = list_clients(client, app.profile, status)
    app.out.result(
        items,
        lambda: app.out.table(
            [_client_row(c) for c in items],
            ["INN", "NAME", "KIND", "STATUS", "POA", "VALID UNTIL", "POA STATE"],
        ),
    )


@clients_app.command("show")
def show(ctx: typer.Context, who: ClientArg) -> None:
    """One client and its power of attorney (by INN, name or a unique prefix of a name)."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.clients import get_client, resolve_client

    app = app_context(ctx)
    with connect(app) as client:
        item = get_client(client, resolve_client(client, app.profile, who))
    _render_client(app, item)


def _render_client(app: AppContext, item: Client) -> None:
    poa = item.poa

    def render() -> None:
        pairs: list[tuple[str, Any]] = [
            ("inn", item.inn),
            ("name", item.name),
            ("kind", item.kind),
            ("status", item.status),
            ("added", item.added_at),
        ]
        if item.detached_at:
            pairs += [("detached", item.detached_at), ("reason", item.detach_reason)]
        if poa is not None:
            pairs += [
                ("poa number", poa.number),
                ("poa issued", poa.issued_on),
                ("poa valid until", poa.valid_until),
                ("poa notarised", poa.notarised),
                ("poa periods", _periods(poa.period_from, poa.period_to)),
                ("poa scan sha256", poa.scan_sha256),
            ]
        pairs.append(("poa state", item.poa_state or "missing"))
        taxpayer = item.taxpayer
        if taxpayer is not None:
            pairs.append(
                (
                    "taxpayer",
                    taxpayer.status
                    + (f" since {taxpayer.inactive_since}" if taxpayer.inactive_since else ""),
                )
            )
            pairs += [
                (
                    "registered as",
                    f"{r.kind} since {r.since}" + (f" until {r.until}" if r.until else ""),
                )
                for r in taxpayer.registrations
            ]
        app.out.fields(pairs)

    app.out.result(item, render)


def _periods(first: str | None, last: str | None) -> str:
    if first is None and last is None:
        return "all"
    return f"{first or 'any'} – {last or 'any'}"


@clients_app.command("add")
def add(
    ctx: typer.Context,
    inn: InnArg,
    name: Annotated[str, typer.Option("--name", help="Taxpayer's name as in the POA.")],
    poa_scan: Annotated[
        Path, typer.Option("--poa-scan", help="Scan of the signed POA (its SHA-256 is sent).")
    ],
    poa_number: Annotated[str, typer.Option("--poa-number", help="POA number.")],
    issued: Annotated[str, typer.Option("--issued", help="Issued on, YYYY-MM-DD.")],
    valid_until: Annotated[str, typer.Option("--valid-until", help="Valid until, YYYY-MM-DD.")],
    notarised: Annotated[
        bool, typer.Option("--notarised", help="The POA is notarised (natural persons).")
    ] = False,
    period_from: Annotated[
        str | None, typer.Option("--period-from", help="First month covered, YYYY-MM.")
    ] = None,
    period_to: Annotated[
        str | None, typer.Option("--period-to", help="Last month covered, YYYY-MM.")
    ] = None,
) -> None:
    """Add a taxpayer you represent, with its power of attorney."""
    from sochi_cli.commands._operator import connect, parse_date
    from sochi_cli.errors import UsageError
    from sochi_cli.services.clients import NewPoa, add_client

    app = app_context(ctx)
    if not poa_scan.is_file():
        raise UsageError(f"--poa-scan {poa_scan}: file not found")
    poa = NewPoa(
        number=poa_number,
        issued_on=parse_date(issued, "--issued"),
        valid_until=parse_date(valid_until, "--valid-until"),
        scan=poa_scan,
        notarised=notarised,
        period_from=period_from,
        period_to=period_to,
    )
    with connect(app) as client:
        item = add_client(client, inn, name, poa)
    app.out.info(f"added client {item.inn} ({item.name})")
    _render_client(app, item)


@clients_app.command("detach")
def detach(
    ctx: typer.Context,
    who: ClientArg,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why representation ended.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Stop representing a taxpayer: notifies the operator in writing (clause 4.3.10)."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.commands._prompts import confirm
    from sochi_cli.errors import Interrupted
    from sochi_cli.services.clients import detach_client, resolve_client

    app = app_context(ctx)
    with connect(app) as client:
        inn = resolve_client(client, app.profile, who)
        if not confirm(f"Notify the operator that you no longer represent {inn}?", assume_yes=yes):
            raise Interrupted("not detached", code="declined")
        item = detach_client(client, inn, reason)
    app.out.info(f"detached client {item.inn}; the operator has been notified")
    _render_client(app, item)


PoaScan = Annotated[
    Path, typer.Option("--poa-scan", help="Scan of the signed POA (its SHA-256 is sent).")
]
PoaNumber = Annotated[str, typer.Option("--poa-number", help="POA number.")]
Issued = Annotated[str, typer.Option("--issued", help="Issued on, YYYY-MM-DD.")]
ValidUntil = Annotated[str, typer.Option("--valid-until", help="Valid until, YYYY-MM-DD.")]
Notarised = Annotated[
    bool, typer.Option("--notarised", help="The POA is notarised (natural persons).")
]
PeriodFrom = Annotated[
    str | None, typer.Option("--period-from", help="First month covered, YYYY-MM.")
]
PeriodTo = Annotated[str | None, typer.Option("--period-to", help="Last month covered, YYYY-MM.")]


def _new_poa(
    scan: Path,
    number: str,
    issued: str,
    valid_until: str,
    notarised: bool,
    period_from: str | None,
    period_to: str | None,
) -> Any:
    from sochi_cli.commands._operator import parse_date
    from sochi_cli.errors import UsageError
    from sochi_cli.services.clients import NewPoa

    if not scan.is_file():
        raise UsageError(f"--poa-scan {scan}: file not found")
    return NewPoa(
        number=number,
        issued_on=parse_date(issued, "--issued"),
        valid_until=parse_date(valid_until, "--valid-until"),
        scan=scan,
        notarised=notarised,
        period_from=period_from,
        period_to=period_to,
    )


@clients_app.command("renew")
def renew(
    ctx: typer.Context,
    who: ClientArg,
    poa_scan: PoaScan,
    poa_number: PoaNumber,
    issued: Issued,
    valid_until: ValidUntil,
    notarised: Notarised = False,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
) -> None:
    """Record a new power of attorney (scan hash, number, dates), e.g. for an expired one."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.clients import renew_poa, resolve_client

    app = app_context(ctx)
    poa = _new_poa(poa_scan, poa_number, issued, valid_until, notarised, period_from, period_to)
    with connect(app) as client:
        item = renew_poa(client, resolve_client(client, app.profile, who), poa)
    app.out.info(f"recorded power of attorney {poa.number} for {item.inn} ({item.name})")
    _render_client(app, item)


@clients_app.command("attach")
def attach(
    ctx: typer.Context,
    who: ClientArg,
    poa_scan: PoaScan,
    poa_number: PoaNumber,
    issued: Issued,
    valid_until: ValidUntil,
    notarised: Notarised = False,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
    name: Annotated[str | None, typer.Option("--name", help="A new name, if it changed.")] = None,
) -> None:
    """Represent a detached client again, on a new power of attorney."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.clients import attach_client, resolve_client

    app = app_context(ctx)
    poa = _new_poa(poa_scan, poa_number, issued, valid_until, notarised, period_from, period_to)
    with connect(app) as client:
        item = attach_client(client, resolve_client(client, app.profile, who), poa, name)
    app.out.info(f"attached client {item.inn} ({item.name}) again")
    _render_client(app, item)


@poa_app.command("list")
def poa_list(
    ctx: typer.Context,
    expiring: Annotated[
        str | None,
        typer.Option("--expiring", help="Only POAs ending within this many days, e.g. 30d."),
    ] = None,
) -> None:
    """Powers of attorney of active clients, soonest expiry first."""
    from sochi_cli.commands._operator import connect, parse_days, today_bishkek
    from sochi_cli.services.clients import list_clients, poa_rows

    app = app_context(ctx)
    within = parse_days(expiring, "--expiring") if expiring is not None else None
    with connect(app) as client:
        clients = list_clients(client, app.profile, None)
    rows = poa_rows(clients, today_bishkek(), within)
    app.out.result(
        [r.to_json() for r in rows],
        lambda: app.out.table(
            [(r.inn, r.name, r.number, r.valid_until, r.days_left, r.state) for r in rows],
            ["INN", "NAME", "POA", "VALID UNTIL", "DAYS LEFT", "STATE"],
        ),
    )


__all__ = ["register"]
