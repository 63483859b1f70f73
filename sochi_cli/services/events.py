"""The operator's event feed (`GET /events`, long poll) and the cursor remembered per profile.

The cursor lives in `<profile data dir>/events-cursor.json` with the API URL it belongs to,
so `sochi events` continues where the last run (or a Ctrl-C'd `--follow`) stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sochi_cli.errors import UsageError
from sochi_cli.store import paths

if TYPE_CHECKING:
    from sochi_cli.api.client import AsyncOperatorClient, OperatorClient
    from sochi_cli.api.models import Event

CURSOR_FILE = "events-cursor.json"
MAX_WAIT = 60
PAGE = 500
MAINTENANCE_RECHECK = 60.0  # seconds between polls while the operator is in maintenance


def cursor_path(profile: str) -> Path:
    return paths.profile_data_dir(profile) / CURSOR_FILE


def saved_cursor(profile: str, api_url: str) -> str | None:
    """The cursor the last run stopped at, for this API URL only."""
    try:
        data = json.loads(cursor_path(profile).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("api_url") != api_url:
        return None
    cursor = data.get("cursor")
    return cursor if isinstance(cursor, str) and cursor else None


def save_cursor(profile: str, api_url: str, cursor: str | None) -> None:
    """Remember `cursor` as acknowledged; StorageError (exit 10) when it cannot be kept —
    then nothing is acknowledged and the same events come again (none is lost)."""
    from sochi_cli.store.files import atomic_write_text, own_file

    if not cursor:
        return
    path = cursor_path(profile)
    with own_file(path, "events cursor", hint=_NOT_ACKNOWLEDGED):
        paths.ensure_private_dir(path.parent)
        atomic_write_text(path, json.dumps({"api_url": api_url, "cursor": cursor}), mode=0o600)


def forget_cursor(profile: str) -> None:
    from sochi_cli.store.files import own_file

    path = cursor_path(profile)
    with own_file(path, "events cursor", hint="the acknowledged cursor is kept as it was"):
        path.unlink(missing_ok=True)


_NOT_ACKNOWLEDGED = (
    "nothing was acknowledged, so the same events come again; make the data directory "
    "writable or set SOCHI_DATA_DIR"
)


class CursorNotIssued(UsageError):
    """The operator refused a cursor: it never issued it to this account (a typo, or a feed
    that was reset since). `cursor` is the one refused."""

    code = "invalid_cursor"

    def __init__(self, cursor: str) -> None:
        super().__init__(f"the operator never issued the events cursor {cursor}")
        self.cursor = cursor


@contextmanager
def _refused_cursor(cursor: str | None) -> Iterator[None]:
    from sochi_cli.api.errors import InvalidCursor

    try:
        yield
    except InvalidCursor:
        raise CursorNotIssued(cursor or "") from None


def confirm_cursor(client: OperatorClient, cursor: str) -> str:
    """`cursor` once the operator confirms it issued it to this account; UsageError if not.

    Cursors are opaque, so only the operator can tell: a poll after it (no wait, one event)
    is refused with `invalid_cursor` when it never handed that cursor out.
    """
    from sochi_cli.api import resources

    cursor = cursor.strip()
    if not cursor:
        raise UsageError("--ack needs the cursor of the last event processed")
    try:
        with _refused_cursor(cursor):
            client.call(resources.events.poll(after=cursor, wait=0, limit=1))
    except CursorNotIssued:
        raise UsageError(
            f"--ack {cursor}: the operator never issued this cursor; nothing acknowledged",
            code="invalid_cursor",
            hint="acknowledge the cursor of an event you processed: the first field of its "
            "line, or `next_cursor` in `sochi events --json`",
        ) from None
    return cursor


def rejected_cursor(cursor: str, *, saved: bool, api_url: str) -> UsageError:
    """The error for a cursor the operator refused while reading: say how to recover."""
    if not saved:
        return UsageError(
            f"--after {cursor}: the operator never issued this cursor",
            code="invalid_cursor",
            hint="use a cursor `sochi events` printed, or --from-start",
        )
    return UsageError(
        f"the acknowledged events cursor {cursor} was not issued by the operator at "
        f"{api_url} (its feed was reset, or a wrong cursor was acknowledged)",
        code="invalid_cursor",
        hint="forget it with `sochi events --reset`, or read the whole feed with "
        "`sochi events --from-start`",
    )


def check_wait(wait: int) -> int:
    if not 0 <= wait <= MAX_WAIT:
        raise UsageError(f"--wait {wait}: must be 0–{MAX_WAIT} seconds")
    return wait


@dataclass
class EventsRead:
    events: list[Event]
    next_cursor: str | None


def read_events(client: OperatorClient, after: str | None, wait: int = 0) -> EventsRead:
    """Every event after `after` (waiting up to `wait` s for the first), all pages drained."""
    from sochi_cli.api import resources

    with _refused_cursor(after):
        batch = client.call(resources.events.poll(after=after, wait=check_wait(wait), limit=PAGE))
    events = list(batch.events)
    cursor = batch.next_cursor or after
    while len(batch.events) == PAGE:
        batch = client.call(resources.events.poll(after=cursor, wait=0, limit=PAGE))
        events.extend(batch.events)
        cursor = batch.next_cursor or cursor
    return EventsRead(events, cursor)


async def read_events_async(
    client: AsyncOperatorClient, after: str | None, wait: int = 0
) -> EventsRead:
    """`read_events` for an event loop (the TUI's live feed): cancellable while it waits."""
    from sochi_cli.api import resources

    with _refused_cursor(after):
        poll = resources.events.poll(after=after, wait=check_wait(wait), limit=PAGE)
        batch = await client.call(poll)
    events = list(batch.events)
    cursor = batch.next_cursor or after
    while len(batch.events) == PAGE:
        batch = await client.call(resources.events.poll(after=cursor, wait=0, limit=PAGE))
        events.extend(batch.events)
        cursor = batch.next_cursor or cursor
    return EventsRead(events, cursor)


def follow_events(
    client: OperatorClient,
    after: str | None,
    wait: int,
    on_events: Callable[[list[Event], str | None], None],
    *,
    rounds: int | None = None,
    on_pause: Callable[[float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Long-poll forever (or `rounds` polls), handing each non-empty batch and its cursor over.

    A maintenance window (clause 4.2.1) pauses the follow instead of ending it: the operator
    says how long (Retry-After); `on_pause(seconds)` is told, and polling resumes after at
    most `MAINTENANCE_RECHECK` seconds so an early end of the window is noticed. Stops only
    by an exception (Ctrl-C is KeyboardInterrupt); returns the last cursor.
    """
    from sochi_cli.api import resources
    from sochi_cli.api.errors import Maintenance

    check_wait(wait)
    cursor = after
    done = 0
    while rounds is None or done < rounds:
        try:
            with _refused_cursor(cursor):
                batch = client.call(resources.events.poll(after=cursor, wait=wait, limit=PAGE))
        except Maintenance as exc:
            left = exc.retry_after if exc.retry_after is not None else MAINTENANCE_RECHECK
            if on_pause is not None:
                on_pause(left)
            sleep(min(max(left, 1.0), MAINTENANCE_RECHECK))
            continue
        cursor = batch.next_cursor or cursor
        if batch.events:
            on_events(list(batch.events), cursor)
        done += 1
    return cursor


def event_subject(event: Event) -> str:
    return event.submission_id or event.inbox_id or ""


__all__ = [
    "CURSOR_FILE",
    "CursorNotIssued",
    "EventsRead",
    "check_wait",
    "confirm_cursor",
    "cursor_path",
    "event_subject",
    "follow_events",
    "forget_cursor",
    "read_events",
    "read_events_async",
    "rejected_cursor",
    "save_cursor",
    "saved_cursor",
]
