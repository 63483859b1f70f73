"""`sochi events [--after CURSOR] [--follow] [--wait S]` — the operator's feed of state changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from sochi_cli.commands._context import app_context

if TYPE_CHECKING:
    from sochi_cli.api.models import Event
    from sochi_cli.commands._context import AppContext

EPILOG = (
    "Examples:\n\n  sochi events\n\n  sochi events --follow --json | jq .type\n\n"
    "  sochi events --after 42 --wait 30\n\n"
    "Without --after it continues after the cursor the last run stopped at (kept per "
    "profile); --from-start reads the whole feed. With --follow it long-polls until Ctrl-C "
    "(exit 130, cursor remembered); with --json each event is one JSON object per line.\n\n"
    "Exit codes: 0 ok; 2 bad --wait; 5 not logged in; 7 operator unavailable; "
    "130 stopped with Ctrl-C (--follow)."
)


def register(app: typer.Typer) -> None:
    app.command("events", epilog=EPILOG)(events)


def _event_row(e: Event) -> tuple[Any, ...]:
    from sochi_cli.services.events import event_subject

    return (e.cursor, e.at, e.type, event_subject(e), e.status)


def _event_json(e: Event) -> dict[str, Any]:
    return e.to_json()


def events(
    ctx: typer.Context,
    after: Annotated[
        str | None, typer.Option("--after", help="Only events after this cursor.")
    ] = None,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Ignore the remembered cursor.")
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep long-polling until Ctrl-C.")
    ] = False,
    wait: Annotated[
        int | None,
        typer.Option("--wait", help="Seconds to wait for new events, 0–60 (follow: 30)."),
    ] = None,
) -> None:
    """Submission state changes and new inbox items, in order, as they come."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services import events as feed

    app = app_context(ctx)
    seconds = feed.check_wait(wait if wait is not None else (30 if follow else 0))
    api_url = str(app.config.get("api_url"))
    start = after
    if start is None and not from_start:
        start = feed.saved_cursor(app.profile, api_url)
    with connect(app) as client:
        if follow:
            _follow(app, client, start, seconds, api_url)
            return
        read = feed.read_events(client, start, seconds)
    feed.save_cursor(app.profile, api_url, read.next_cursor)
    data = {"events": [_event_json(e) for e in read.events], "next_cursor": read.next_cursor}

    def render() -> None:
        if not read.events:
            app.out.info("no new events")
            return
        app.out.table(
            [_event_row(e) for e in read.events], ["CURSOR", "AT", "TYPE", "SUBJECT", "STATUS"]
        )

    app.out.result(data, render)


def _follow(app: AppContext, client: Any, start: str | None, wait: int, api_url: str) -> None:
    from sochi_cli.commands._output import dumps
    from sochi_cli.services import events as feed

    cursor = start

    def on_events(batch: list[Event], next_cursor: str | None) -> None:
        nonlocal cursor
        for e in batch:
            if app.out.json_mode:
                app.out.line(dumps(_event_json(e)))
            else:
                app.out.line("\t".join(_cell(v) for v in _event_row(e)))
        app.out.stdout.flush()
        cursor = next_cursor
        feed.save_cursor(app.profile, api_url, next_cursor)

    def on_pause(seconds: float) -> None:
        minutes = max(1, round(seconds / 60))
        app.out.info(f"operator in maintenance (about {minutes} min left): waiting, Ctrl-C to stop")

    app.out.info(f"following events after {cursor or 'the beginning'}; Ctrl-C to stop")
    try:
        feed.follow_events(client, cursor, wait, on_events, on_pause=on_pause)
    except KeyboardInterrupt:
        feed.save_cursor(app.profile, api_url, cursor)
        app.out.info(f"stopped; the next `sochi events` continues after {cursor or 'the start'}")
        raise typer.Exit(130) from None


def _cell(value: Any) -> str:
    from datetime import datetime

    from sochi_cli.timeutil import format_local

    if value is None:
        return "-"
    if isinstance(value, datetime):
        return format_local(value)
    return str(value)


__all__ = ["register"]
