"""What went wrong, said for people: every exception a worker meets becomes a `Fault` with a
title, one line of what happened, what to do, and which key fixes it — never a traceback.

Errors are recognised by their stable `code` and exit code (sochi_cli.errors), so the TUI
needs none of the API client's classes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sochi_cli.errors import ExitCode, SochiError

log = logging.getLogger(__name__)

_LOGIN_CODES = frozenset(
    {"not_logged_in", "session_expired", "token_expired", "unauthorized", "http_401"}
)
_OFFLINE_CODES = frozenset({"unreachable", "tls_failure", "malformed_response"})
_DRIVER_HINT = (
    "install the RuToken driver, or type its path in the signer dialog's token driver field "
    "(L logs in and remembers it); or `sochi config set pkcs11_lib PATH`"
)
# the CLI's hints name its options; inside the TUI the same fix is a field or a key
_TUI_HINTS = {
    "pkcs11_library_missing": _DRIVER_HINT,
    "pkcs11_library_incompatible": _DRIVER_HINT,
    "token_ambiguous": "type the token's label or serial in the signer dialog",
    "key_ambiguous": "name the key to use in the profile: `sochi config set key_id ID`",
    "token_error": "is the token still plugged in? Plug it back in and try again",
    "token_missing": "plug the token in, or type the label of one that is in the signer dialog",
}


@dataclass(frozen=True)
class Fault:
    title: str
    message: str
    hint: str | None
    severity: str  # error | warning | information
    action: str | None = None  # login | retry | None: what a key in the panel offers
    code: str = "error"
    resumable_batch: int | None = None  # the batch this fault interrupted after filing some

    def one_line(self) -> str:
        return self.message + (f" — {self.hint}" if self.hint else "")


def describe(exc: BaseException) -> Fault:
    """The fault to show for `exc` (a bug gets a short internal-error line; details in logs)."""
    if isinstance(exc, SochiError):
        import dataclasses

        fault = _known(exc)
        batch = exc.details.get("batch_id")
        if isinstance(batch, int) and exc.details.get("batch_status") == "interrupted":
            fault = dataclasses.replace(fault, resumable_batch=batch)
        return fault
    from sochi_cli.logs import redact

    log.debug("internal error in the TUI", exc_info=exc)
    detail = redact(" ".join(f"{type(exc).__name__}: {exc}".split()))
    return Fault(
        "Internal error",
        f"internal error: {detail}",
        "this is a bug in sochi — set SOCHI_LOG_FILE to keep the details and report it",
        "error",
        code="internal",
    )


def _then(hint: str, key: str) -> str:
    return f"{hint}; {key}"


def _known(err: SochiError) -> Fault:
    code = err.code
    exit_code = err.exit_code
    message, hint = err.message, _TUI_HINTS.get(code, err.hint)
    if code in _LOGIN_CODES or (exit_code == ExitCode.AUTH and "not logged in" in message.lower()):
        logged_out = code == "not_logged_in" or "not logged in" in message.lower()
        return Fault(
            "Not logged in" if logged_out else "Session expired",
            message,
            "press L to log in with your key file, token or E-Cloud key",
            "warning",
            "login",
            code,
        )
    if code == "maintenance":
        return Fault(
            "Operator maintenance",
            message,
            _then(hint or "filing waits for the end of the window", "r retries"),
            "warning",
            "retry",
            code,
        )
    if code in _OFFLINE_CODES or (code == "unavailable" and "reach" in message):
        return Fault(
            "No connection",
            message,
            _then(hint or "check the network or the profile's api_url", "r retries"),
            "error",
            "retry",
            code,
        )
    if code == "rate_limited" or code.startswith("http_5") or exit_code == ExitCode.UNAVAILABLE:
        return Fault(
            "Operator busy",
            message,
            _then(hint or "the operator is overloaded or failing", "r retries in a moment"),
            "warning",
            "retry",
            code,
        )
    if code == "journal_busy":
        return Fault(
            "Another sochi is filing",
            message,
            hint or "wait for it to finish, then resume the batch here or with the CLI",
            "warning",
            "retry",
            code,
        )
    if exit_code == ExitCode.STORAGE:
        return Fault("Local storage", message, hint, "error", None, code)
    if code.startswith("passphrase_"):
        import os

        if not os.environ.get("SOCHI_KEY_PASSPHRASE"):
            hint = "nothing was signed or sent; try again and type the key file's passphrase"
        return Fault("Key file passphrase", message, hint, "error", None, code)
    if code.startswith(("pin_", "token_", "key_", "pkcs11_")):
        return Fault("Token", message, hint, "error", None, code)
    if code == "no_clients":
        return Fault("No clients", message, hint, "information", None, code)
    titles = {
        ExitCode.USAGE: "Check the input",
        ExitCode.CONFIG: "Configuration",
        ExitCode.VALIDATION: "Validation failed",
        ExitCode.AUTH: "Key, PIN or signature",
        ExitCode.REFUSED: "Refused by the operator",
        ExitCode.NOT_FOUND: "Not found",
        ExitCode.INTERRUPTED: "Stopped",
    }
    severity = "warning" if exit_code == ExitCode.INTERRUPTED else "error"
    return Fault(titles.get(exit_code, "Error"), message, hint, severity, None, code)


__all__ = ["Fault", "describe"]
