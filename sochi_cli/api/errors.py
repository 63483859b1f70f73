"""RFC 9457 problems from the operator mapped by `code` to typed errors the services catch.

Every class derives from a `sochi_cli.errors` class, so the CLI's exit code follows from the
type; the problem itself (status, code, extra members) is kept in `details` and attributes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sochi_cli.errors import (
    AuthError,
    NotFound,
    OperatorRefused,
    SignatureError,
    SochiError,
    Unavailable,
    UsageError,
    ValidationFailed,
)


class ApiProblem(SochiError):
    """Mixin data every operator problem carries (set by `error_from_problem`)."""

    status: int = 0
    endpoint: str = ""
    retry_after: float | None = None
    transient: bool = False  # safe to retry when the request is idempotent
    problem: Mapping[str, Any] = {}
    retry_attempts: int | None = None  # the retry policy's limit, once a retry is scheduled


# -- unavailable (exit 7) -----------------------------------------------------------------
class OperatorUnavailable(ApiProblem, Unavailable):
    """5xx, 429 or a transient operator failure."""

    transient = True


class Maintenance(OperatorUnavailable):
    """Planned maintenance window (clause 4.2.1); `window` says until when."""

    transient = False  # waiting hours is the caller's decision, not the transport's
    window: Mapping[str, Any] | None = None


class RateLimited(OperatorUnavailable):
    pass


class ServerUnreachable(OperatorUnavailable):
    """No TCP/HTTP answer at all (refused, DNS, timeout, connection dropped)."""


class TlsFailure(ApiProblem, Unavailable):
    """The server's certificate does not verify; never retried, never bypassed."""


class MalformedResponse(ApiProblem, Unavailable):
    """The server answered something that is not the contract (bad JSON, wrong shape)."""


# -- auth (exit 5) ------------------------------------------------------------------------
class Unauthorized(ApiProblem, AuthError):
    pass


class TokenExpired(Unauthorized):
    pass


class SessionExpired(Unauthorized):
    """The refresh token is gone too: only a new `sochi login` helps."""


class OperatorSignatureInvalid(ApiProblem, SignatureError):
    reason: str | None = None
    part: str | None = None


# -- refused (exit 6) ---------------------------------------------------------------------
class Refused(ApiProblem, OperatorRefused):
    pass


class BalanceExhausted(Refused):
    balance: int | None = None
    required: int | None = None


class PoaMissing(Refused):
    pass


class PoaExpired(Refused):
    pass


class PoaPeriodNotCovered(Refused):
    pass


class GeoBlocked(Refused):
    pass


class RegistrationPending(Refused):
    pass


class Conflict(Refused):
    pass


# -- validation / not found / usage -------------------------------------------------------
class OperatorValidationFailed(ApiProblem, ValidationFailed):
    errors: list[dict[str, Any]] = []  # noqa: RUF012 - replaced per instance


class OperatorNotFound(ApiProblem, NotFound):
    pass


class BadRequest(ApiProblem, UsageError):
    """400: the client sent something the contract does not allow (a sochi bug or bad input)."""


class InvalidCursor(BadRequest):
    """400 `invalid_cursor`: a cursor this account was never given (garbage, or a reset feed)."""


_HINTS: dict[str, str] = {
    # without the window (see `_maintenance_hint` for one): which window it is is unknown
    "maintenance": "planned maintenance; try after it ends (`sochi status` shows the window)",
    "rate_limited": "too many requests; sochi already waited and retried",
    "transient_failure": "the operator failed temporarily; try again shortly",
    "token_expired": "run `sochi login`",
    "unauthorized": "run `sochi login`",
    "refresh_invalid": "the session has ended; run `sochi login`",
    "balance_exhausted": "top up the personal account (clause 3.10), see `sochi account balance`",
    "poa_missing": "add the power of attorney: `sochi clients add`",
    "poa_expired": "renew the power of attorney with the client (clause 3.2)",
    "poa_period_not_covered": "the power of attorney does not cover this reporting period",
    "geo_blocked": "from abroad the operator serves only approved static IPs (clause 3.6): "
    "see `sochi access abroad --help`",
    "registration_pending": "registration takes 24 h at the office or 7 working days remotely",
    "not_tax_representative": "only a tax representative account manages clients",
    "account_unknown": "no subscriber account for this certificate's INN",
    "challenge_expired": "log in again",
    "form_not_found": "see `sochi forms list`",
    "client_not_found": "see `sochi clients list`",
    "idempotency_conflict": "the idempotency key was used for different content",
    "original_exists": "file it as a correction: set the report's <correction> to the next "
    "number (a report without one: `sochi submit --correction N` or the manifest's column)",
    "correction_out_of_order": "corrections are numbered 1, 2… after the original, in order",
    "period_not_ended": "file after the period ends (only some forms may be filed early)",
    "already_replied": "the request was answered already; see `sochi inbox show`",
    "reply_not_expected": "only requests take a reply; acknowledge notices with `sochi inbox ack`",
    "client_active": "the client is represented already; `sochi clients renew` replaces its POA",
}

_BY_CODE: dict[str, type[ApiProblem]] = {
    "maintenance": Maintenance,
    "rate_limited": RateLimited,
    "transient_failure": OperatorUnavailable,
    "unauthorized": Unauthorized,
    "token_expired": TokenExpired,
    "refresh_invalid": SessionExpired,
    "challenge_unknown": Unauthorized,
    "challenge_expired": Unauthorized,
    "challenge_replayed": Unauthorized,
    "account_unknown": Unauthorized,
    "invalid_pin": Unauthorized,
    "invalid_otp": Unauthorized,
    "otp_expired": Unauthorized,
    "sad_invalid": Unauthorized,
    "sad_expired": Unauthorized,
    "signature_invalid": OperatorSignatureInvalid,
    "balance_exhausted": BalanceExhausted,
    "poa_missing": PoaMissing,
    "poa_expired": PoaExpired,
    "poa_period_not_covered": PoaPeriodNotCovered,
    "geo_blocked": GeoBlocked,
    "registration_pending": RegistrationPending,
    "idempotency_conflict": Conflict,
    "client_exists": Conflict,
    "client_detached": Refused,
    "original_exists": Conflict,
    "correction_out_of_order": Conflict,
    "already_replied": Conflict,
    "reply_not_expected": Conflict,
    "client_active": Conflict,
    "certificate_revoked": Conflict,
    "requisites_changed": Conflict,
    "invalid_cursor": InvalidCursor,
    "validation_failed": OperatorValidationFailed,
    "invalid_inn": OperatorValidationFailed,
    "poa_not_notarised": OperatorValidationFailed,
    "email_not_registered": OperatorValidationFailed,
    "unsupported_algorithm": OperatorValidationFailed,
    "sad_exhausted": OperatorValidationFailed,
}


def _class_for_status(status: int) -> type[ApiProblem]:
    if status in (401,):
        return Unauthorized
    if status == 404:
        return OperatorNotFound
    if status == 409:
        return Conflict
    if status == 422:
        return OperatorValidationFailed
    if status == 429:
        return RateLimited
    if status >= 500:
        return OperatorUnavailable
    if status in (400, 405, 413, 415):
        return BadRequest
    return Refused


def parse_retry_after(value: str | None) -> float | None:
    """Delta-seconds form of `Retry-After` (the contract never sends HTTP dates)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


def error_from_problem(
    status: int,
    body: bytes,
    *,
    endpoint: str,
    retry_after_header: str | None = None,
) -> ApiProblem:
    """Turn an error response (problem+json or anything else) into its typed error."""
    problem: dict[str, Any] = {}
    try:
        decoded = json.loads(body) if body else {}
        if isinstance(decoded, dict):
            problem = decoded
    except (ValueError, UnicodeDecodeError):
        problem = {}
    code = str(problem.get("code") or "")
    if code.endswith("_not_found") or code == "not_found":
        cls: type[ApiProblem] = OperatorNotFound
    else:
        cls = _BY_CODE.get(code) or _class_for_status(status)
    detail = problem.get("detail") or problem.get("title")
    message = str(detail) if detail else f"{endpoint}: the operator answered HTTP {status}"
    hint = _HINTS.get(code)
    retry_after = parse_retry_after(retry_after_header)
    if retry_after is None and isinstance(problem.get("retry_after"), int | float):
        retry_after = float(problem["retry_after"])
    if cls is Maintenance and isinstance(problem.get("window"), dict):
        window = problem["window"]
        ends = window.get("ends_at")
        if ends:
            message = f"{message} (until {_local(ends)})"
        hint = _maintenance_hint(window) or hint
    details: dict[str, Any] = {"status": status, "endpoint": endpoint}
    if problem:
        details["problem"] = problem
    err = cls(message, hint=hint, code=code or f"http_{status}", details=details)
    err.status = status
    err.endpoint = endpoint
    err.problem = problem
    err.retry_after = retry_after
    if isinstance(err, Maintenance):
        window = problem.get("window")
        err.window = window if isinstance(window, dict) else None
    if isinstance(err, BalanceExhausted):
        err.balance = _int_or_none(problem.get("balance"))
        err.required = _int_or_none(problem.get("required"))
    if isinstance(err, OperatorSignatureInvalid):
        err.reason = problem.get("reason")
        err.part = problem.get("part")
        if err.reason and err.reason not in err.message:
            err.message = f"{err.message} ({err.reason})"
    if isinstance(err, OperatorValidationFailed):
        errors = problem.get("errors")
        err.errors = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    if isinstance(err, OperatorUnavailable) and code == "transient_failure":
        err.transient = True
    return err


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _maintenance_hint(window: Mapping[str, Any]) -> str | None:
    """The hint for the window the operator names, by that window's own times: the weekly
    one as `every Friday 17:30–20:30`, an announced one as `2026-12-02 10:00–12:00`."""
    from sochi_cli.timeutil import local_span, parse_instant, to_bishkek

    try:
        starts = parse_instant(str(window.get("starts_at")))
        ends = parse_instant(str(window.get("ends_at")))
    except ValueError:
        return None
    if window.get("kind") == "weekly":
        first, last = to_bishkek(starts), to_bishkek(ends)
        return (
            f"planned weekly maintenance (every {_WEEKDAYS[first.weekday()]} "
            f"{first:%H:%M}–{last:%H:%M} "
            "Bishkek); try after it ends"
        )
    return f"announced maintenance window {local_span(starts, ends)} (Bishkek); try after it ends"


def _local(instant: str) -> str:
    from sochi_cli.timeutil import format_local, parse_instant

    try:
        return format_local(parse_instant(instant))
    except ValueError:
        return instant


__all__ = [
    "ApiProblem",
    "BadRequest",
    "BalanceExhausted",
    "Conflict",
    "GeoBlocked",
    "InvalidCursor",
    "Maintenance",
    "MalformedResponse",
    "OperatorNotFound",
    "OperatorSignatureInvalid",
    "OperatorUnavailable",
    "OperatorValidationFailed",
    "PoaExpired",
    "PoaMissing",
    "PoaPeriodNotCovered",
    "RateLimited",
    "Refused",
    "RegistrationPending",
    "ServerUnreachable",
    "SessionExpired",
    "TlsFailure",
    "TokenExpired",
    "Unauthorized",
    "error_from_problem",
    "parse_retry_after",
]
