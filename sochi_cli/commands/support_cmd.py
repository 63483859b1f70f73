"""`sochi support` — operator contacts and whether the call centre is open now (clause 3.8)."""

from __future__ import annotations

import typer

from sochi_cli.commands._context import app_context


def register(app: typer.Typer) -> None:
    app.command(
        "support",
        epilog="Example:\n\n  sochi support\n\nExit codes: 0 always (no network needed).",
    )(support)


def support(ctx: typer.Context) -> None:
    """Call centre, hours (Asia/Bishkek) and portal; no network needed."""
    from sochi_cli.services.support import PHONE, PORTAL, support_info
    from sochi_cli.timeutil import utcnow

    app = app_context(ctx)
    info = support_info(utcnow())

    def render() -> None:
        if info.open_now:
            state = f"open now, until {_hm(info.closes_at)}"
        else:
            why = f" ({info.closed_because})" if info.closed_because else ""
            state = f"closed now{why}; opens {_when(info.next_opening)}"
        app.out.fields(
            [
                ("call centre", PHONE),
                ("hours", "working days 09:00–17:30 (Bishkek)"),
                ("now", state),
                ("portal", PORTAL),
                ("e-mail", "support form of the portal (use your registered e-mail)"),
            ]
        )

    app.out.result(info.to_json(), render)


def _hm(moment: object) -> str:
    from datetime import datetime

    from sochi_cli.timeutil import to_bishkek

    return to_bishkek(moment).strftime("%H:%M") if isinstance(moment, datetime) else "-"


def _when(moment: object) -> str:
    from datetime import datetime

    from sochi_cli.timeutil import format_local

    return format_local(moment) if isinstance(moment, datetime) else "-"


__all__ = ["register"]
