"""Secrets and confirmations for the CLI: never from argv, never prompted without a TTY.

A PIN comes from `--pin-file`, then the named environment variable, then a hidden prompt
when stdin is a terminal. Whatever is read is registered for redaction at once.
"""

from __future__ import annotations

import getpass
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from sochi_cli.errors import UsageError
from sochi_cli.logs import register_secret
from sochi_cli.store.files import input_error


def stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


# An E-Cloud one-time code is valid 300 s (docs/api.md, CSC `sendOTP`): a FIFO that stays
# silent longer than that would hand over a dead code, so sochi stops waiting.
FIFO_WAIT = 300.0


def read_secret_file(path: Path, *, what: str, waiting: Callable[[str], None] | None = None) -> str:
    """First line of `path`. Refuses a file others can read, as ssh does with keys.

    A FIFO is read when a writer puts the secret in: `waiting` is told so first, and after
    `FIFO_WAIT` seconds without a line the secret is missing (AuthError, exit 5).
    """
    kind = f"{what} file"
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise input_error(exc, path, kind) from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"{path}: is a folder, not a {kind}", code="not_a_file")
    fifo = stat.S_ISFIFO(mode)
    if mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH):
        raise UsageError(
            f"{path}: {what} {'FIFO' if fifo else 'file'} is readable by other users",
            hint=f"mkfifo -m 600 {path}" if fifo else f"chmod 600 {path}",
        )
    try:
        raw = _read_fifo(path, what, waiting) if fifo else path.read_bytes()
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise UsageError(f"{path}: {kind} is not UTF-8 text") from None
    except OSError as exc:
        raise input_error(exc, path, kind) from None
    value = lines[0].strip() if lines else ""
    if not value:
        raise UsageError(f"{path}: {kind} is empty")
    register_secret(value)
    return value


def _read_fifo(path: Path, what: str, waiting: Callable[[str], None] | None) -> bytes:
    """The FIFO's first line (or all a writer wrote before closing), waiting at most
    FIFO_WAIT seconds. Opened non-blocking: a plain open would hang until a writer came."""
    import select
    import time

    from sochi_cli.errors import AuthError

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if waiting is not None:
            waiting(f"waiting for the {what} in {path} (up to {FIFO_WAIT:g} s)…")
        deadline = time.monotonic() + FIFO_WAIT
        data = b""
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AuthError(
                    f"{path}: no {what} came through the FIFO within {FIFO_WAIT:g} s",
                    hint=f"write it while sochi waits: echo CODE > {path}",
                    code="secret_timeout",
                )
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                continue
            if not chunk:
                break  # the writer closed it
            data += chunk
        return data
    finally:
        os.close(fd)


def read_secret(
    *,
    what: str,
    env: str,
    file_flag: str,
    path: Path | None = None,
    alternatives: str | None = None,
    waiting: Callable[[str], None] | None = None,
) -> str:
    """Get a secret from a file, the environment (`env`, if any) or a hidden prompt.

    Without a terminal the error names the ways that work: `set ENV or pass --flag FILE`,
    or `alternatives` when given.
    """
    if path is not None:
        return read_secret_file(path, what=what, waiting=waiting)
    value = os.environ.get(env) if env else None
    if value:
        register_secret(value)
        return value
    if not stdin_is_tty():
        ways = alternatives or (
            f"set {env} or pass {file_flag} FILE" if env else f"pass {file_flag} FILE"
        )
        raise UsageError(f"{what} needed but stdin is not a terminal", hint=ways)
    try:
        value = getpass.getpass(f"{what}: ", stream=sys.stderr)
    except EOFError:
        value = ""
    if not value:
        raise UsageError(f"no {what} entered")
    register_secret(value)
    return value


def confirm(question: str, *, assume_yes: bool, flag: str = "--yes") -> bool:
    """Ask on a terminal; without one, only `--yes` (assume_yes) says yes."""
    if assume_yes:
        return True
    if not stdin_is_tty():
        raise UsageError(
            f"{question} needs confirmation but stdin is not a terminal",
            hint=f"pass {flag} to confirm",
        )
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


__all__ = ["confirm", "read_secret", "read_secret_file", "stdin_is_tty"]
