"""`--progress auto|bar|lines|json|none`: how a long command shows its progress on stderr.

- `bar`: a live bar (rich) when stderr is a terminal — phase, counts, ETA, countdown.
- `lines`: a line when a phase starts, then at most one status line every 10 s (counts,
  ETA, maintenance countdown); retries are one line each, folded into the next status line
  when they come faster than that. Meant for logs and cron mail.
- `json`: JSON Lines on stderr, one object per event (schema in docs/cli.md "Progress").
- `none`: nothing.
- `auto` (default): the bar on a terminal, lines otherwise, nothing with --quiet.

Services report through a `ProgressCallback`; this module only renders.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

if TYPE_CHECKING:
    from sochi_cli.commands._context import AppContext
    from sochi_cli.services.progress import ProgressCallback, ProgressEvent

STATUS_EVERY = 10.0  # seconds between status lines in `lines` mode
JSON_STATUS_EVERY = 1.0  # seconds between `status` events in `json` mode


class ProgressMode(StrEnum):
    AUTO = "auto"
    BAR = "bar"
    LINES = "lines"
    JSON = "json"
    NONE = "none"


ProgressOpt = Annotated[
    ProgressMode,
    typer.Option(
        "--progress",
        help="How progress shows on stderr: auto (a bar on a terminal, else a line per "
        "phase and a status line at most every 10 s), bar, lines, json (JSON Lines) or none.",
    ),
]


def resolve(app: AppContext, mode: ProgressMode) -> ProgressMode:
    """`auto` → bar on a terminal, lines otherwise, none with --quiet; bar needs a terminal."""
    if mode is ProgressMode.AUTO:
        if app.out.quiet:
            return ProgressMode.NONE
        return ProgressMode.BAR if app.out.stderr_tty else ProgressMode.LINES
    if mode is ProgressMode.BAR and not app.out.stderr_tty:
        return ProgressMode.LINES
    return mode


def describe(event: ProgressEvent) -> str:
    """`send 120/300 (accepted 100, received 20)` or the maintenance countdown."""
    from sochi_cli.services.status import format_duration

    text = event.phase
    if event.total:
        text += f" {event.done}/{event.total}"
    counts = ", ".join(f"{k} {v}" for k, v in sorted(event.counts.items()) if v)
    if counts:
        text += f" ({counts})"
    if event.phase == "maintenance":
        left = event.seconds_left
        text += ": operator in maintenance, " + (
            f"resuming in about {format_duration(left)}"
            if left is not None
            else "waiting for its end"
        )
    elif event.message:
        text += f": {event.message}"
    return text


class _Eta:
    """Seconds left in the current phase, from its pace so far."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.phase: str | None = None
        self.started = 0.0
        self.done0 = 0

    def update(self, event: ProgressEvent) -> float | None:
        now = self.clock()
        if event.phase != self.phase:
            self.phase, self.started, self.done0 = event.phase, now, event.done
            return None
        return self.left(event, now)

    def left(self, event: ProgressEvent, now: float) -> float | None:
        """Seconds left at `now` for the phase `event` reports on (None: not known yet)."""
        step = event.done - self.done0
        if event.phase != self.phase or not event.total or step <= 0 or event.done >= event.total:
            return None
        return (now - self.started) / step * (event.total - event.done)


class _Paced:
    """What the line and JSON displays share: a stream, a clock, the phases seen so far."""

    every = STATUS_EVERY

    def __init__(
        self,
        stream: TextIO,
        command: str,
        *,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.command = command
        self.every = self.every if every is None else every
        self.clock = clock
        self.eta = _Eta(clock)
        self.lock = threading.Lock()
        self.seen: set[str] = set()
        self.phase: str | None = None
        self.started = clock()

    def _enter(self, event: ProgressEvent) -> bool:
        """Note `event`'s phase; True when it starts one (maintenance may start again)."""
        new = event.phase not in self.seen or (
            event.phase == "maintenance" and self.phase != "maintenance"
        )
        self.seen.add(event.phase)
        self.phase = event.phase
        return new


class LinesDisplay(_Paced):
    """A line per new phase, then at most one status line per `every` seconds.

    Status lines and retry lines are paced apart: retries (one line per `every`, the rest
    counted) never hold the status line back, and while calls are being retried a status
    line (counts, ETA, the retries since the last one) still comes every `every` seconds,
    even when no item moved — a log shows that the run is alive and where it stands.
    """

    last_status = float("-inf")  # when the last status (or phase) line was written
    last_text = ""
    last_retry_line = float("-inf")
    held_retries = 0  # retries since the last retry line, told in the next status line
    last_retry = ""
    current: ProgressEvent | None = None  # the newest progress event

    def __call__(self, event: ProgressEvent) -> None:
        with self.lock:
            now = self.clock()
            if event.kind == "retry":
                if now - self.last_retry_line >= self.every:
                    self._write(event.message or "retrying")
                    self.last_retry_line = now
                else:
                    self.held_retries += 1
                    self.last_retry = event.message or ""
                self._status(now, retrying=True)
                return
            if event.kind == "notice":
                self._write(event.message or "")
                return
            self.current = event
            self.eta.update(event)
            self._status(now, new_phase=self._enter(event))

    def _status(self, now: float, *, new_phase: bool = False, retrying: bool = False) -> None:
        """The status line of the newest progress event, when it starts a phase or is due."""
        from sochi_cli.services.status import format_duration

        if self.current is None:
            return
        text = describe(self.current)
        eta = self.eta.left(self.current, now)
        if eta is not None and eta >= 1:
            text += f", about {format_duration(eta)} left"
        due = now - self.last_status >= self.every
        changed = text != self.last_text or self.held_retries > 0 or retrying
        if not new_phase and not (due and changed):
            return
        self.last_text = text
        if self.held_retries:
            text += f"; {self.held_retries} more retries (last: {self.last_retry})"
            self.held_retries = 0
        self._write(text)
        self.last_status = now

    def _write(self, text: str) -> None:
        self.stream.write(f"{self.command}: {text}\n")
        self.stream.flush()

    def close(self) -> None:
        with self.lock:
            if self.held_retries:
                self._write(f"{self.held_retries} more retries (last: {self.last_retry})")


class JsonDisplay(_Paced):
    """JSON Lines on stderr: `phase`, `status` (at most one a second), `retry`, `notice`,
    and `done` when the command ends (schema: docs/cli.md, "Progress")."""

    every = JSON_STATUS_EVERY
    last_status = float("-inf")
    current: ProgressEvent | None = None  # the newest progress event

    def __call__(self, event: ProgressEvent) -> None:
        with self.lock:
            now = self.clock()
            if event.kind in ("retry", "notice"):
                self._write({"event": event.kind, "message": event.message})
                if event.kind == "retry":
                    self._status(now)  # retries never hold the status back
                return
            self.current = event
            self.eta.update(event)
            self._status(now, new_phase=self._enter(event))

    def _status(self, now: float, *, new_phase: bool = False) -> None:
        event = self.current
        if event is None or (not new_phase and now - self.last_status < self.every):
            return
        self.last_status = now
        eta = self.eta.left(event, now)
        record: dict[str, Any] = {
            "event": "phase" if new_phase else "status",
            "phase": event.phase,
            "total": event.total,
            "done": event.done,
            "counts": dict(event.counts),
            "eta_seconds": None if eta is None else round(eta),
            "seconds_left": None if event.seconds_left is None else round(event.seconds_left),
            "message": event.message,
        }
        self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        from sochi_cli.timeutil import iso_z, utcnow

        line = {"event": record.pop("event"), "at": iso_z(utcnow()), "command": self.command}
        line.update(record)
        self.stream.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.stream.flush()

    def close(self) -> None:
        with self.lock:
            self._write({"event": "done", "seconds": round(self.clock() - self.started, 1)})


class BarDisplay:
    """A rich progress bar on stderr: phase, counts, ETA; countdown in maintenance."""

    def __init__(self, app: AppContext, command: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[counts]}"),
            console=app.out.err_console,
            transient=True,
        )
        self.task = self.bar.add_task(command, total=None, counts="")
        self.last_retry = float("-inf")
        self.bar.start()

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind in ("retry", "notice"):
            now = time.monotonic()
            if event.kind == "notice" or now - self.last_retry >= STATUS_EVERY:
                self.last_retry = now
                self.bar.console.print(event.message or "", highlight=False, markup=False)
            return
        counts = " ".join(f"{k}:{v}" for k, v in sorted(event.counts.items()) if v)
        description = event.phase
        if event.phase == "maintenance":
            description = describe(event).split(": ", 1)[-1]
        self.bar.update(
            self.task,
            description=description,
            total=event.total or None,
            completed=event.done,
            counts=counts,
        )

    def close(self) -> None:
        self.bar.stop()


@contextmanager
def progress_display(
    app: AppContext, mode: ProgressMode = ProgressMode.AUTO, *, command: str
) -> Iterator[ProgressCallback]:
    """The progress callback for one command run; retries of operator calls included."""
    from sochi_cli.services.progress import no_progress, retries_reported

    chosen = resolve(app, mode)
    display: LinesDisplay | JsonDisplay | BarDisplay | None
    if chosen is ProgressMode.LINES:
        display = LinesDisplay(app.out.stderr, command)
    elif chosen is ProgressMode.JSON:
        display = JsonDisplay(app.out.stderr, command)
    elif chosen is ProgressMode.BAR:
        display = BarDisplay(app, command)
    else:
        display = None
    callback: ProgressCallback = display if display is not None else no_progress
    with ExitStack() as stack:
        if display is not None:
            stack.callback(display.close)
            stack.enter_context(retries_reported(callback))
        yield callback


__all__ = [
    "BarDisplay",
    "JsonDisplay",
    "LinesDisplay",
    "ProgressMode",
    "ProgressOpt",
    "describe",
    "progress_display",
    "resolve",
]
