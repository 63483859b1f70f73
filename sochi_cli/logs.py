"""Logging set-up with a redaction filter: PINs, tokens and Authorization headers never reach a log.

Secrets read at run time (a PIN, an access token) are registered with `register_secret` and
masked wherever they appear; known secret-bearing patterns are masked even if unregistered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

MASK = "***"
_registered: set[str] = set()
_PATTERNS = (
    re.compile(r"(?i)(authorization\s*[:=]\s*)(?:(bearer|basic)\s+)?[^\s,'\"}]+"),
    re.compile(
        r"(?i)([\"']?\b(?:pin|pin_?code|password|passphrase|otp|sad|access_token|"
        r"refresh_token|token|secret|client_secret)\b[\"']?\s*[:=]\s*[\"']?)([^\"'\s,&}]+)"
    ),
)


def register_secret(value: str | None) -> None:
    """Remember a secret so every later log line, error or report masks it."""
    if value and value.strip():
        _registered.add(value)
        if value.strip() != value:
            _registered.add(value.strip())


# A secret this short (a 4-digit PIN, the sandbox's demo passphrase) is masked only where it
# stands as a whole word: masked inside longer runs it would deface INNs, digests and names
# ("1234" in 00101202012345) while hiding nothing a reader could not guess anyway.
SHORT_SECRET = 8


def _pattern(secret: str) -> str:
    if len(secret) >= SHORT_SECRET:
        return re.escape(secret)
    return rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])"


def redact(text: str) -> str:
    if _registered:
        secrets = sorted(_registered, key=len, reverse=True)
        text = re.sub("|".join(_pattern(s) for s in secrets), MASK, text)
    text = _PATTERNS[0].sub(
        lambda m: f"{m.group(1)}{(m.group(2) or '') and m.group(2) + ' '}{MASK}", text
    )
    return _PATTERNS[1].sub(lambda m: f"{m.group(1)}{MASK}", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message through `redact` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg = redact(message)
        record.args = None
        return True


class _OwnRecords(logging.Filter):
    """Without --verbose only sochi's own records reach stderr, never a library's."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.startswith(("sochi_cli", "sochi."))


def setup_logging(
    verbose: bool = False, log_file: Path | None = None, *, quiet: bool = False
) -> None:
    """stderr: sochi's warnings, or every record (libraries' too) at DEBUG with --verbose;
    an optional file (SOCHI_LOG_FILE) gets everything at DEBUG, created 0600. All redacted.

    The handlers sit on the root logger, so a library's records (stamina, httpx…) pass
    the same redaction and never fall through to Python's last-resort stderr handler.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    ours = logging.getLogger("sochi_cli")
    for handler in [h for h in ours.handlers if getattr(h, _OURS, False)]:
        ours.removeHandler(handler)
    ours.setLevel(logging.DEBUG)
    ours.propagate = True
    redactor = RedactingFilter()
    console = logging.StreamHandler(sys.stderr)
    # --quiet keeps results and errors only, warnings that come as log records included
    console.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    # A person reads `warning: …` as every other warning of sochi says it (the output
    # layer's words); --verbose shows where a record came from, for a developer.
    console.setFormatter(
        logging.Formatter("%(levelname)s %(name)s: %(message)s") if verbose else _PeopleFormat()
    )
    console.addFilter(redactor)
    if not verbose:
        console.addFilter(_OwnRecords())
    setattr(console, _OURS, True)
    root.addHandler(console)
    file_name = log_file or (
        Path(os.environ["SOCHI_LOG_FILE"]) if os.environ.get("SOCHI_LOG_FILE") else None
    )
    if file_name:
        handler = _log_file(file_name)
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(redactor)
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    detailed = verbose or file_name is not None
    root.setLevel(logging.DEBUG if detailed else logging.WARNING)
    for name in ("httpx", "httpcore", "stamina"):
        lib = logging.getLogger(name)
        lib.setLevel(logging.DEBUG if detailed else logging.WARNING)
        lib.propagate = True
        lib.handlers = [h for h in lib.handlers if not getattr(h, _OURS, False)]


class _PeopleFormat(logging.Formatter):
    """`warning: message` / `error: message`, as the CLI's own messages read."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _log_file(path: Path) -> logging.FileHandler:
    """The handler of the debug log at `path` (created 0600, its folders 0700); a path that
    cannot be a log file is a configuration error naming SOCHI_LOG_FILE (exit 3)."""
    from sochi_cli.errors import ConfigError
    from sochi_cli.store.files import make_private_dirs, os_reason, printable

    try:
        make_private_dirs(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        return logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        reason = "it is a folder" if isinstance(exc, IsADirectoryError) else os_reason(exc)
        raise ConfigError(
            f"SOCHI_LOG_FILE={printable(path)}: cannot write the debug log there: {reason}",
            hint="point SOCHI_LOG_FILE at a file in a writable folder, or unset it",
            code="log_file",
        ) from None


_OURS = "_sochi_handler"


@contextlib.contextmanager
def console_muted() -> Iterator[None]:
    """While a full-screen UI owns the terminal, sochi's stderr handler writes nothing (a line
    there would tear the screen); the log file (SOCHI_LOG_FILE) still gets every record."""
    consoles = [
        h
        for h in logging.getLogger().handlers
        if getattr(h, _OURS, False) and not isinstance(h, logging.FileHandler)
    ]
    levels = [h.level for h in consoles]
    for handler in consoles:
        handler.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for handler, level in zip(consoles, levels, strict=True):
            handler.setLevel(level)


__all__ = [
    "MASK",
    "RedactingFilter",
    "console_muted",
    "redact",
    "register_secret",
    "setup_logging",
]
