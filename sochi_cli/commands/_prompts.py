"""Secrets and confirmations for the CLI: never from argv, never prompted without a TTY.

A PIN comes from `--pin-file`, then the named environment variable, then a hidden prompt
when stdin is a terminal. Whatever is read is registered for redaction at once.
"""

from __future__ import annotations

import getpass
import os
import stat
import sys
from pathlib import Path

from sochi_cli.errors import UsageError
from sochi_cli.logs import register_secret


def stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def read_secret_file(path: Path, *, what: str) -> str:
    """First line of `path`. Refuses a file others can read, as ssh does with keys."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH):
            fifo = stat.S_ISFIFO(mode)
            raise UsageError(
                f"{path}: {what} {'FIFO' if fifo else 'file'} is readable by other users",
                hint=f"mkfifo -m 600 {path}" if fifo else f"chmod 600 {path}",
            )
        lines = path.read_text(encoding="utf-8").splitlines()
    except UsageError:
        raise
    except UnicodeDecodeError:
        raise UsageError(f"{path}: {what} file is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read {what} file: {exc.strerror}") from None
    value = lines[0].strip() if lines else ""
    if not value:
        raise UsageError(f"{path}: {what} file is empty")
    register_secret(value)
    return value


def read_secret(
    *,
    what: str,
    env: str,
    file_flag: str,
    path: Path | None = None,
    alternatives: str | None = None,
) -> str:
    """Get a secret from a file, the environment (`env`, if any) or a hidden prompt.

    Without a terminal the error names the ways that work: `set ENV or pass --flag FILE`,
    or `alternatives` when given.
    """
    if path is not None:
        return read_secret_file(path, what=what)
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
