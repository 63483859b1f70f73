"""A reader that stops early (`sochi … | head`) is not an error: its pipe closes quietly.

`guard_standard_streams()` wraps stdout and stderr so that a write to a closed pipe (EPIPE)
sends the rest of the output to /dev/null instead of raising. The command goes on to finish
what it was doing (a batch is never cut short by its reader going away) and exits with the
status it would have had; a command that would otherwise print forever (`events --follow`)
runs inside `stop_when_reader_leaves()`, which notices the reader going away even while the
command waits and prints nothing. Kept import-light: the fast help path uses it too.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class QuietPipe:
    """A text stream whose writes are dropped once its reader has closed the pipe.

    Everything but `write`, `writelines` and `flush` is delegated to the wrapped stream
    (isatty, fileno, encoding…), so rich and click treat it as the stream it wraps.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.reader_gone = False

    @property
    def wrapped(self) -> TextIO:
        return self._stream

    def write(self, text: str) -> int:
        if self.reader_gone:
            return len(text)
        try:
            return self._stream.write(text)
        except OSError as exc:
            self._closed(exc)
            return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.reader_gone:
            return
        try:
            self._stream.flush()
        except OSError as exc:
            self._closed(exc)

    def _closed(self, exc: OSError) -> None:
        if exc.errno not in (errno.EPIPE, errno.EINVAL) and not isinstance(exc, BrokenPipeError):
            raise exc
        self.mark_gone()

    def mark_gone(self) -> None:
        """The reader has left: drop every later write, and what is still buffered."""
        self.reader_gone = True
        # What is still buffered would fail again at exit: point the descriptor at /dev/null.
        try:
            fd = self._stream.fileno()
        except (OSError, ValueError, AttributeError):
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_standard_streams() -> None:
    """Wrap sys.stdout and sys.stderr (once) so a closed pipe ends output quietly."""
    if sys.stdout is not None and not isinstance(sys.stdout, QuietPipe):
        sys.stdout = QuietPipe(sys.stdout)
    if sys.stderr is not None and not isinstance(sys.stderr, QuietPipe):
        sys.stderr = QuietPipe(sys.stderr)


def reader_gone(stream: Any) -> bool:
    """True once the reader of `stream` (a QuietPipe) has closed its end."""
    return bool(getattr(stream, "reader_gone", False))


def unwrap(stream: Any) -> Any:
    """The stream a QuietPipe wraps (for code that must see the real object)."""
    return stream.wrapped if isinstance(stream, QuietPipe) else stream


class ReaderGone(BaseException):
    """The reader of stdout went away while the command waited (see stop_when_reader_leaves).

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way (the
    HTTP client, retries) mistakes it for a failure of the call it interrupts.
    """


_WATCH_SIGNAL = "SIGUSR1"
_WATCH_EVERY_MS = 200


def _pipe_descriptor(stream: Any) -> int | None:
    """The descriptor of `stream` when it is a pipe or a socket (a reader can leave those)."""
    try:
        fd = int(unwrap(stream).fileno())
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, AttributeError, TypeError):
        return None  # an in-memory stream (tests), a closed descriptor
    return fd if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else None


@contextmanager
def stop_when_reader_leaves(stream: Any) -> Iterator[None]:
    """Raise ReaderGone in the block as soon as the reader of `stream` closes its end.

    A write notices a closed pipe only when something is written, and a command that waits
    (a 30-s long poll with nothing new, a maintenance pause) writes nothing for a long time:
    `sochi events --follow | head -1` would hang after the first line. A watcher thread
    polls the descriptor for POLLERR/POLLHUP (what Linux and the BSDs report on a pipe's
    write end once its reader is gone) and interrupts the main thread with a signal, so the
    blocking call it sits in ends at once (PEP 475: a handler that raises stops the retry).
    Does nothing off the main thread, without poll(), or when `stream` is not a pipe.
    """
    import select
    import signal
    import threading

    fd = _pipe_descriptor(stream)
    signum = getattr(signal, _WATCH_SIGNAL, None)
    if (
        fd is None
        or signum is None
        or not hasattr(select, "poll")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    armed = threading.Event()
    stop = threading.Event()
    main = threading.main_thread().ident

    def interrupted(_signum: int, _frame: Any) -> None:
        if armed.is_set():
            armed.clear()
            raise ReaderGone

    def watch() -> None:
        poller = select.poll()
        poller.register(fd, select.POLLERR | select.POLLHUP)
        while not stop.is_set():
            try:
                ready = poller.poll(_WATCH_EVERY_MS)
            except OSError:
                return
            if ready and any(mask & (select.POLLERR | select.POLLHUP) for _, mask in ready):
                if isinstance(stream, QuietPipe):
                    stream.mark_gone()
                if armed.is_set() and main is not None:
                    signal.pthread_kill(main, signum)
                return

    previous = signal.signal(signum, interrupted)
    armed.set()
    watcher = threading.Thread(target=watch, name="sochi-reader-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        try:
            armed.clear()
        finally:
            stop.set()
            watcher.join()
            signal.signal(signum, previous)


__all__ = [
    "QuietPipe",
    "ReaderGone",
    "guard_standard_streams",
    "reader_gone",
    "stop_when_reader_leaves",
    "unwrap",
]
