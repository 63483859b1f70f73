"""The sandbox's server clock: real time, or overridden (shifted or frozen) by `/sandbox/clock`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def _real_now() -> datetime:
    return datetime.now(UTC)


class SandboxClock:
    """`now()` = real time + offset, or a frozen instant; thread-safe."""

    def __init__(self, source: Callable[[], datetime] | None = None) -> None:
        self._source = source or _real_now
        self._offset = timedelta(0)
        self._frozen: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return self._source() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    @property
    def offset_seconds(self) -> float:
        with self._lock:
            if self._frozen is not None:
                return (self._frozen - self._source()).total_seconds()
            return self._offset.total_seconds()

    def set(self, moment: datetime | None, *, frozen: bool = False) -> None:
        """Jump to `moment` (None = real time again); `frozen` stops the clock there."""
        with self._lock:
            if moment is None:
                self._offset = timedelta(0)
                self._frozen = None
                return
            moment = moment.astimezone(UTC)
            if frozen:
                self._frozen = moment
                self._offset = timedelta(0)
            else:
                self._frozen = None
                self._offset = moment - self._source()

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)


__all__ = ["SandboxClock"]
