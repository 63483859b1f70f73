"""`sochi access abroad` — request service from abroad from a static IP (clauses 3.5–3.6)."""

from __future__ import annotations

from typing import Annotated

import typer

from sochi_cli.commands._context import app_context

access_app = typer.Typer(
    help="Access to the operator from outside Kyrgyzstan (clauses 3.5–3.6).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(access_app, name="access")


@access_app.command(
    "abroad",
    epilog="Example:\n\n  sochi access abroad --inn 00203202010077 --ip 92.62.72.10 "
    "--country DE --city Berlin --from 2026-12-01 --to 2026-12-20 --email office@example.kg\n\n"
    "Exit codes: 0 filed (state approved or pending); 2 bad option; 4 invalid INN, IP or "
    "period; 6 refused (e-mail not the registered one); 7 unavailable; 9 unknown account.",
)
def abroad(
    ctx: typer.Context,
    inn: Annotated[str, typer.Option("--inn", help="Subscriber INN.")],
    ip: Annotated[str, typer.Option("--ip", help="Static public IP you will connect from.")],
    country: Annotated[str, typer.Option("--country", help="Country, ISO alpha-2 (DE).")],
    city: Annotated[str, typer.Option("--city", help="City.")],
    date_from: Annotated[str, typer.Option("--from", help="First day abroad, YYYY-MM-DD.")],
    date_to: Annotated[str, typer.Option("--to", help="Last day abroad, YYYY-MM-DD.")],
    email: Annotated[str, typer.Option("--email", help="Your registered e-mail.")],
) -> None:
    """File the abroad-access request with the operator (from your registered e-mail)."""
    from sochi_cli.commands._operator import connect, parse_date
    from sochi_cli.services.access import AbroadInput, request_abroad

    app = app_context(ctx)
    req = AbroadInput(
        inn=inn,
        ip=ip,
        country=country,
        city=city,
        date_from=parse_date(date_from, "--from"),
        date_to=parse_date(date_to, "--to"),
        email=email,
    )
    with connect(app, authenticated=False) as client:
        result = request_abroad(client, req)
    app.out.result(
        result,
        lambda: app.out.fields(
            [
                ("request", result.id),
                ("state", result.state),
                ("inn", result.inn),
                ("ip", result.ip),
                ("where", f"{result.city}, {result.country}"),
                ("period", f"{result.from_} – {result.to}"),
            ]
        ),
    )


__all__ = ["register"]
