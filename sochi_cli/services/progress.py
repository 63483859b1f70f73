"""Progress of long operations, reported through a callback: services never print.

A service calls `emit(ProgressEvent(...))` on every step; the front-end decides what the
user sees (a bar on a terminal, a line per phase and a status line now and then in a log,
JSON Lines for a program). Retries of operator calls reach the same callback as `retry`
events while `retries_reported(emit)` is active.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProgressEvent:
    """One progress notification.

    `kind` is "progress" (a phase with counts), "retry" (an operator call is retried;
    `message` says why and when) or "notice" (a one-off remark in `message`).
    Phases of the batch engine: plan, validate, preflight, sign, send, follow, maintenance;
    of `sign`: sign, write; of `archive export`: export; of `events --follow`: follow,
    maintenance; of `archive reconcile`: reconcile; of `backup` / `restore`: backup, restore.
    """

    phase: str
    total: int = 0
    done: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    message: str | None = None
    seconds_left: float | None = None  # maintenance countdown
    kind: str = "progress"


ProgressCallback = Callable[[ProgressEvent], None]


def no_progress(_event: ProgressEvent) -> None:
    """The callback of a caller that does not want progress."""


@contextlib.contextmanager
def retries_reported(emit: ProgressCallback | None) -> Iterator[None]:
    """While inside, each retry of an operator call is emitted as a `retry` event."""
    if emit is None:
        yield
        return
    from sochi_cli.api.retries import RetryNotice, listening

    def on_retry(notice: RetryNotice) -> None:
        emit(ProgressEvent("retry", kind="retry", message=notice.message()))

    with listening(on_retry):
        yield


__all__ = ["ProgressCallback", "ProgressEvent", "no_progress", "retries_reported"]
