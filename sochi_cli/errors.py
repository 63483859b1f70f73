"""Exit codes and the typed errors every layer raises; the CLI maps them to one line + code."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """The documented process exit codes: docs/cli.md "Exit codes" is the source."""

    OK = 0
    ERROR = 1  # unexpected internal error (a bug: please report it)
    USAGE = 2  # bad arguments or options, missing/unreadable input, prompt needed but no TTY
    CONFIG = 3  # unreadable/malformed config, unknown profile or key
    VALIDATION = 4  # local validation of a report or manifest failed
    AUTH = 5  # authentication, PIN, token or signature problem
    REFUSED = 6  # the operator refused the request (POA, balance, 4xx)
    UNAVAILABLE = 7  # network down, maintenance window, operator 5xx/429
    PARTIAL = 8  # batch finished, some items invalid/refused/rejected
    NOT_FOUND = 9  # the thing asked for does not exist (batch, submission, form…)
    STORAGE = 10  # local journal/archive/config cannot be written (disk full, read-only, locked)
    WARNINGS = 11  # `sochi doctor`: nothing failed, but some checks warn
    PENDING = 12  # everything filed, agency verdicts not all in when --wait-timeout ran out
    INTERRUPTED = 130  # Ctrl-C / SIGTERM


class SochiError(Exception):
    """Base of all user-facing errors: a message, an optional hint and an exit code.

    `str(err)` is the message alone; the CLI prints `error: message — hint`.
    """

    exit_code: ExitCode = ExitCode.ERROR
    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code
        self.details = details or {}

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message} — {self.hint}"
        return " ".join(text.split())  # never more than one line

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "exit_code": int(self.exit_code),
        }
        if self.hint:
            data["hint"] = self.hint
        if self.details:
            data["details"] = self.details
        return data


class UsageError(SochiError):
    exit_code = ExitCode.USAGE
    code = "usage"


class ConfigError(SochiError):
    exit_code = ExitCode.CONFIG
    code = "config"


class ValidationFailed(SochiError):
    exit_code = ExitCode.VALIDATION
    code = "validation_failed"


class AuthError(SochiError):
    exit_code = ExitCode.AUTH
    code = "auth"


class SignatureError(SochiError):
    exit_code = ExitCode.AUTH
    code = "signature"


class OperatorRefused(SochiError):
    exit_code = ExitCode.REFUSED
    code = "refused"


class Unavailable(SochiError):
    exit_code = ExitCode.UNAVAILABLE
    code = "unavailable"


class PartialFailure(SochiError):
    exit_code = ExitCode.PARTIAL
    code = "partial"


class VerdictsPending(SochiError):
    exit_code = ExitCode.PENDING
    code = "verdicts_pending"


class NotFound(SochiError):
    exit_code = ExitCode.NOT_FOUND
    code = "not_found"


class StorageError(SochiError):
    """The journal, archive or another local file cannot be written (disk full, read-only)."""

    exit_code = ExitCode.STORAGE
    code = "storage"


class Interrupted(SochiError):
    exit_code = ExitCode.INTERRUPTED
    code = "interrupted"


__all__ = [
    "AuthError",
    "ConfigError",
    "ExitCode",
    "Interrupted",
    "NotFound",
    "OperatorRefused",
    "PartialFailure",
    "SignatureError",
    "SochiError",
    "StorageError",
    "Unavailable",
    "UsageError",
    "ValidationFailed",
    "VerdictsPending",
]
