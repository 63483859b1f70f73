"""A reader that stops early (`sochi … | head`) is not an error: its pipe closes quietly.

`guard_standard_streams()` wraps stdout and stderr so that a write to a closed pipe (EPIPE)
sends the rest of the output to /dev/null instead of raising. The command goes on to finish
what it was doing (a batch is never cut short by its reader going away) and exits with the
status it would have had; a command that would otherwise print forever (`events --follow`)
asks `reader_gone()` and stops. Kept import-light: the fast help path uses it too.
"""

from __future__ import annotations

import errno
import os
import sys
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


__all__ = ["QuietPipe", "guard_standard_streams", "reader_gone", "unwrap"]
