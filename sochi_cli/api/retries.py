"""Retry notices: each retry the client schedules becomes one notice for whoever listens.

stamina's default on-retry hooks log a bare `stamina.retry_scheduled` record per retry;
they are replaced by `_on_retry`, which logs at DEBUG (shown with --verbose only) and hands
a `RetryNotice` — "operator 503, retrying in 2 s, attempt 2/5" — to the listeners that
progress displays register with `listening()`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryNotice:
    """One scheduled retry of an operator call."""

    endpoint: str | None
    cause: str  # "operator 503", "operator unreachable", "operator busy (429)"
    wait: float  # seconds until the next attempt
    attempt: int  # the attempt about to be made (2 = the first retry)
    attempts: int | None  # at most this many in all

    def message(self) -> str:
        of = f"/{self.attempts}" if self.attempts else ""
        return f"{self.cause}, retrying in {_seconds(self.wait)}, attempt {self.attempt}{of}"


Listener = Callable[[RetryNotice], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call `listener` for every retry scheduled while inside (any thread)."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def cause_of(exc: BaseException) -> str:
    """A few words for why a call failed: `operator 503`, `operator unreachable`…"""
    from sochi_cli.api.errors import ApiProblem, RateLimited, ServerUnreachable

    if isinstance(exc, RateLimited):
        return "operator busy (429)"
    if isinstance(exc, ServerUnreachable):
        return "operator unreachable"
    if isinstance(exc, ApiProblem) and exc.status:
        return f"operator {exc.status}"
    return type(exc).__name__


def _on_retry(details: Any) -> None:
    cause = details.caused_by
    notice = RetryNotice(
        endpoint=getattr(cause, "endpoint", None) or None,
        cause=cause_of(cause),
        wait=float(details.wait_for),
        attempt=int(details.retry_num) + 1,
        attempts=getattr(cause, "retry_attempts", None),
    )
    log.debug("%s (%s)", notice.message(), notice.endpoint or "?")
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(notice)


def install() -> None:
    """Route stamina's retry instrumentation here (replacing its logging hook)."""
    from stamina import instrumentation

    instrumentation.set_on_retry_hooks([_on_retry])


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 1 else f"{round(value):d} s"


__all__ = ["Listener", "RetryNotice", "cause_of", "install", "listening"]
