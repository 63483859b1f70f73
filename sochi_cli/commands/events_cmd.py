"""`sochi events [--after CURSOR] [--follow] [--wait S]` — the operator's feed of state changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._progress import ProgressMode, ProgressOpt, progress_display

if TYPE_CHECKING:
    from sochi_cli.api.models import Event
    from sochi_cli.commands._context import AppContext
    from sochi_cli.services.progress import ProgressCallback

EPILOG = (
    "Examples:\n\n  sochi events\n\n  sochi events --json | jq -r '.events[].type'\n\n"
    "  sochi events --ack 160\n\n  sochi events --follow --json | jq .type\n\n"
    "  sochi events --after 42 --wait 30\n\n  sochi events --reset\n\n"
    "The cursor: without --after, events come after the acknowledged cursor of this profile. "
    "On a terminal what was shown counts as acknowledged. In a pipe or a file nothing is "
    "acknowledged by being written (a reader such as `head` may throw lines away): each "
    "event carries its cursor, and a script acknowledges what it has processed with "
    "`sochi events --ack CURSOR` (a cursor the operator never issued is refused); until "
    "then the same events come again. --from-start reads the whole feed; --reset forgets "
    "the acknowledged cursor (after the operator's feed was reset). With --follow it "
    "long-polls until Ctrl-C (exit 130) or until its reader goes away (exit 0); with "
    "--json each event is one JSON object per line.\n\n"
    "Exit codes: 0 ok; 2 bad --wait, or a cursor the operator never issued (--ack, "
    "--after, the acknowledged one); 5 not logged in; 7 operator unavailable; "
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
        str | None,
        typer.Option("--after", metavar="CURSOR", help="Only events after this cursor."),
    ] = None,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Read the whole feed, not after the cursor.")
    ] = False,
    ack: Annotated[
        str | None,
        typer.Option(
            "--ack",
            metavar="CURSOR",
            help="Acknowledge every event up to CURSOR (processed); the next run starts after "
            "it. Reads nothing.",
        ),
    ] = None,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Forget the acknowledged cursor (the next run reads the whole feed). Reads "
            "nothing.",
        ),
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep long-polling until Ctrl-C.")
    ] = False,
    wait: Annotated[
        int | None,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            help="Wait up to this long for new events, 0–60 (default: 0; with --follow 30).",
        ),
    ] = None,
    progress: ProgressOpt = ProgressMode.AUTO,
) -> None:
    """Submission state changes and new inbox items, in order, as they come."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services import events as feed

    app = app_context(ctx)
    api_url = str(app.config.get("api_url"))
    if reset:
        feed.forget_cursor(app.profile)
        app.out.result(
            {"acknowledged": None},
            lambda: app.out.info("forgot the acknowledged cursor; the next run reads the feed"),
        )
        return
    if ack is not None:
        _acknowledge(app, api_url, ack)
        return
    seconds = feed.check_wait(wait if wait is not None else (30 if follow else 0))
    start = after
    if start is None and not from_start:
        start = feed.saved_cursor(app.profile, api_url)
    # What a terminal shows, a person has seen; what goes into a pipe may be thrown away.
    seen_by_a_person = app.out.stdout_tty
    with connect(app) as client:
        try:
            if follow:
                with progress_display(app, progress, command="events") as report:
                    _follow(app, client, start, seconds, api_url, report, seen_by_a_person)
                return
            read = feed.read_events(client, start, seconds)
        except feed.CursorNotIssued:
            raise feed.rejected_cursor(start or "", saved=after is None, api_url=api_url) from None
    data = {
        "events": [_event_json(e) for e in read.events],
        "next_cursor": read.next_cursor,
        "acknowledged": seen_by_a_person,
    }

    def render() -> None:
        if not read.events:
            app.out.info("no new events")
            return
        app.out.table(
            [_event_row(e) for e in read.events], ["CURSOR", "AT", "TYPE", "SUBJECT", "STATUS"]
        )

    app.out.result(data, render)
    if seen_by_a_person:
        feed.save_cursor(app.profile, api_url, read.next_cursor)
    elif read.events and read.next_cursor:
        app.out.info(
            f"{len(read.events)} event(s) up to cursor {read.next_cursor}; once processed, "
            f"acknowledge them: sochi events --ack {read.next_cursor}"
        )


def _acknowledge(app: AppContext, api_url: str, cursor: str) -> None:
    from sochi_cli.commands._operator import connect
    from sochi_cli.services import events as feed

    with connect(app) as client:
        confirmed = feed.confirm_cursor(client, cursor)
    feed.save_cursor(app.profile, api_url, confirmed)
    app.out.result(
        {"acknowledged": confirmed},
        lambda: app.out.info(f"acknowledged events up to cursor {confirmed}"),
    )


def _follow(
    app: AppContext,
    client: Any,
    start: str | None,
    wait: int,
    api_url: str,
    report: ProgressCallback,
    acknowledge: bool,
) -> None:
    from sochi_cli.pipes import ReaderGone, stop_when_reader_leaves
    from sochi_cli.services import events as feed
    from sochi_cli.services.progress import ProgressEvent

    cursor = start
    received = 0

    def on_events(batch: list[Event], next_cursor: str | None) -> None:
        nonlocal cursor, received
        for e in batch:
            if app.out.json_mode:
                app.out.json_line(_event_json(e))
            else:
                app.out.row(_event_row(e))
        app.out.stdout.flush()
        if app.out.reader_gone:
            raise ReaderGone
        cursor = next_cursor
        received += len(batch)
        report(ProgressEvent("follow", counts={"events": received}))
        if acknowledge:
            feed.save_cursor(app.profile, api_url, next_cursor)

    def on_pause(seconds: float) -> None:
        report(ProgressEvent("maintenance", counts={"events": received}, seconds_left=seconds))

    app.out.info(f"following events after {cursor or 'the beginning'}; Ctrl-C to stop")
    report(ProgressEvent("follow", message=f"waiting for events after {cursor or 'the start'}"))
    try:
        # The reader may leave while the long poll waits: stop then, not on the next write.
        with stop_when_reader_leaves(app.out.stdout):
            feed.follow_events(client, cursor, wait, on_events, on_pause=on_pause)
    except ReaderGone:
        return
    except KeyboardInterrupt:
        if acknowledge:
            feed.save_cursor(app.profile, api_url, cursor)
            app.out.info(
                f"stopped; the next `sochi events` continues after {cursor or 'the start'}"
            )
        else:
            app.out.info(
                f"stopped after cursor {cursor or 'the start'}; acknowledge what was processed "
                "with `sochi events --ack CURSOR`"
            )
        raise typer.Exit(130) from None


__all__ = ["register"]
