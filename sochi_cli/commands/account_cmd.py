"""`sochi account show|update|balance|charges|tariffs` — requisites, money, tariffs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sochi_cli.commands._context import app_context

account_app = typer.Typer(
    help="Your account: requisites (clause 4.3.11), balance, charges and tariffs.",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi account show\n\n"
    "  sochi account update --set phone='+996 555 000 000'\n\n"
    "  sochi account balance --json\n\n"
    "  sochi account charges --limit 20\n\n"
    "  sochi account tariffs\n\n"
    "Exit codes: 0 ok; 2 bad option; 5 not logged in; 6 refused; 7 unavailable.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(account_app, name="account")


@account_app.command("show")
def show(ctx: typer.Context) -> None:
    """Account, registration state and requisites."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.account import get_account, som

    app = app_context(ctx)
    with connect(app) as client:
        account = get_account(client)

    def render() -> None:
        pairs: list[tuple[str, Any]] = [
            ("inn", account.inn),
            ("name", account.name),
            ("kind", account.kind),
            ("status", account.status),
            ("registration", f"{account.registration.state} ({account.registration.channel})"),
            (
                "e-cloud",
                f"{'yes' if account.ecloud.subscribed else 'no'}, "
                f"{som(account.ecloud.monthly_fee)} KGS/month",
            ),
        ]
        pairs += [(k, v) for k, v in account.requisites.to_json().items()]
        app.out.fields(pairs)

    app.out.result(account, render)


@account_app.command("update")
def update(
    ctx: typer.Context,
    assignments: Annotated[
        list[str],
        typer.Option("--set", help="FIELD=VALUE, repeatable (legal_name, email, phone, …)."),
    ],
) -> None:
    """Change requisites (only the fields given); shows the account afterwards."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.errors import UsageError
    from sochi_cli.services.account import update_requisites

    app = app_context(ctx)
    changes: dict[str, str] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--set '{item}' is not FIELD=VALUE")
        changes[name.strip()] = value
    with connect(app) as client:
        account = update_requisites(client, changes)
    app.out.result(
        account,
        lambda: app.out.fields([(k, account.requisites.to_json().get(k)) for k in changes]),
    )


@account_app.command("balance")
def balance(ctx: typer.Context) -> None:
    """Balance, this month's E-Cloud debit and the month-end when the balance runs out."""
    from sochi_cli.commands._operator import connect, today_bishkek
    from sochi_cli.services.account import balance_report, som

    app = app_context(ctx)
    with connect(app) as client:
        report = balance_report(client, today_bishkek(), app.profile)
    runs_out = report.runs_out_on.isoformat() if report.runs_out_on else "-"
    app.out.result(
        report.to_json(),
        lambda: app.out.fields(
            [
                ("balance", f"{som(report.balance.balance)} {report.balance.currency}"),
                ("status", report.balance.status),
                ("e-cloud fee", f"{som(report.monthly_fee)} per month"),
                (f"debit on {report.month_end}", som(report.month_end_debit)),
                (
                    "filing fees due",
                    f"{som(report.filing_fees)} for {report.filings} report(s) still to file "
                    f"by {report.month_end} (`sochi due`)",
                ),
                (
                    f"balance on {report.month_end}",
                    f"{som(report.projected_month_end_balance)} (projected)",
                ),
                ("runs out on", runs_out),
            ]
        ),
    )


@account_app.command("charges")
def charges(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Newest N only.")] = None,
    client_ref: Annotated[
        str | None,
        typer.Option("--client", help="Only filing fees for this client (INN, name or prefix)."),
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Only filing fees for this period.")
    ] = None,
) -> None:
    """Debits and top-ups of the personal account, oldest first; with --client/--period,
    the filing fees of that client and period (what to invoice it)."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.account import list_charges, som

    app = app_context(ctx)
    if client_ref is not None or period is not None:
        from sochi_cli.services.account import client_charges

        with connect(app) as client:
            rows = client_charges(client, app.profile, client_ref, period)
        if limit is not None:
            rows = rows[-limit:]
        total = sum(r.charge.amount for r in rows)

        def render() -> None:
            app.out.table(
                [
                    (r.charge.at, r.client_inn, r.client_name, r.form, r.period,
                     som(r.charge.amount), r.charge.submission_id)
                    for r in rows
                ],
                ["AT", "INN", "CLIENT", "FORM", "PERIOD", "AMOUNT", "SUBMISSION"],
            )  # fmt: skip
            app.out.info(f"{len(rows)} filing fee(s), total {som(total)} KGS")

        app.out.result([r.to_json() for r in rows], render)
        return
    with connect(app) as client:
        items = list_charges(client, limit)
    data = [
        {
            **c.to_json(),
            "amount": som(c.amount),
            "balance_after": None if c.balance_after is None else som(c.balance_after),
        }
        for c in items
    ]
    app.out.result(
        data,
        lambda: app.out.table(
            [
                (c.at, c.kind, som(c.amount), som(c.balance_after or 0), c.description)
                for c in items
            ],
            ["AT", "KIND", "AMOUNT", "BALANCE", "DESCRIPTION"],
        ),
    )


@account_app.command("tariffs")
def tariffs(ctx: typer.Context) -> None:
    """Prices of the operator's services (no login needed)."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.account import get_tariffs, som

    app = app_context(ctx)
    with connect(app, authenticated=False) as client:
        result = get_tariffs(client)
    data = {
        "currency": result.currency,
        "items": [{**t.to_json(), "amount": som(t.amount)} for t in result.items],
    }
    app.out.result(
        data,
        lambda: app.out.table(
            [(t.code, som(t.amount), t.unit, t.title) for t in result.items],
            ["CODE", "KGS", "UNIT", "TITLE"],
        ),
    )


__all__ = ["register"]
