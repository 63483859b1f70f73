"""RFC 9457 problem details: the one error shape of the API, its exception and its handlers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://sochi.dostek.kg/problems/"
_log = logging.getLogger("sochi.sandbox")

TITLES: dict[str, str] = {
    "malformed_json": "Malformed JSON",
    "malformed_multipart": "Malformed multipart body",
    "invalid_cursor": "Invalid cursor",
    "unauthorized": "Authentication required",
    "token_expired": "Access token expired",
    "geo_blocked": "Access from abroad is not allowed",
    "registration_pending": "Registration is not complete",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "payload_too_large": "Payload too large",
    "unsupported_media_type": "Unsupported media type",
    "validation_failed": "Validation failed",
    "rate_limited": "Too many requests",
    "maintenance": "Planned maintenance",
    "transient_failure": "Temporary failure",
    "internal_error": "Internal error",
    "challenge_unknown": "Unknown challenge",
    "challenge_expired": "Challenge expired",
    "challenge_replayed": "Challenge already used",
    "signature_invalid": "Signature invalid",
    "account_unknown": "Unknown account",
    "refresh_invalid": "Refresh token invalid",
    "balance_exhausted": "Balance exhausted",
    "not_tax_representative": "Not a tax representative",
    "client_not_found": "Client not found",
    "client_exists": "Client already registered",
    "client_detached": "Client detached",
    "invalid_inn": "Invalid INN",
    "poa_not_notarised": "Power of attorney must be notarised",
    "poa_missing": "No power of attorney",
    "poa_expired": "Power of attorney not valid",
    "poa_period_not_covered": "Power of attorney does not cover the period",
    "form_not_found": "Unknown form",
    "idempotency_key_missing": "Idempotency-Key header required",
    "idempotency_key_invalid": "Idempotency-Key header invalid",
    "idempotency_conflict": "Idempotency key reused with different content",
    "submission_not_found": "Submission not found",
    "document_not_found": "Document not found",
    "receipt_not_found": "Receipt not found",
    "inbox_item_not_found": "Inbox item not found",
    "certificate_not_found": "Certificate not found",
    "certificate_revoked": "Certificate revoked",
    "requisites_changed": "Requisites changed",
    "email_not_registered": "E-mail is not the registered one",
    "credential_not_found": "Credential not found",
    "invalid_pin": "Wrong PIN",
    "credential_locked": "Credential locked",
    "invalid_otp": "Wrong one-time code",
    "otp_expired": "One-time code expired",
    "sad_invalid": "Signature activation data invalid",
    "sad_expired": "Signature activation data expired",
    "sad_exhausted": "Signature activation data exhausted",
    "unsupported_algorithm": "Unsupported algorithm",
}


class ApiProblem(Exception):
    """Raise anywhere in a request to answer with a problem+json of `status` and `code`."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra
        retry_after = extra.get("retry_after")
        if retry_after is not None:
            self.headers.setdefault("Retry-After", str(int(retry_after)))

    def body(self) -> dict[str, Any]:
        return {
            "type": PROBLEM_BASE + self.code,
            "title": TITLES.get(self.code, self.code.replace("_", " ").capitalize()),
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **self.extra,
        }


class FieldError(BaseModel):
    path: str
    message: str
    line: int | None = None


class Problem(BaseModel):
    """The problem+json body (extra members allowed, see docs/api.md)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None
    retry_after: int | None = None
    reason: str | None = None


def problem_response(problem: ApiProblem) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse(
        problem.body(),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _problem_ref() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented as a problem+json."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in (*statuses, 429, 503):
        out[status] = {"model": Problem, "content": _problem_ref(), "description": "problem"}
    return out


def _validation_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "header", "path")]
        out.append({"path": ".".join(loc) or "body", "message": str(err.get("msg", "invalid"))})
    return out


def install_handlers(app: FastAPI) -> None:
    """Every error the app can meet becomes a problem with a precise code, never a bare 500."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiProblem)
        return problem_response(exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem_response(ApiProblem(400, "malformed_json", "the body is not valid JSON"))
        content_type = request.headers.get("content-type", "")
        body_errors = [e for e in errors if e.get("loc", ("",))[0] == "body"]
        if body_errors and content_type and "json" not in content_type.lower():
            return problem_response(
                ApiProblem(415, "unsupported_media_type", "send the body as application/json")
            )
        if body_errors and any(
            e.get("type") in ("model_attributes_type", "dict_type") and len(e.get("loc", ())) == 1
            for e in body_errors
        ):
            return problem_response(
                ApiProblem(400, "malformed_json", "the body must be a JSON object")
            )
        return problem_response(
            ApiProblem(
                422,
                "validation_failed",
                "the request is invalid",
                errors=_validation_errors(errors),
            )
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        code = codes.get(exc.status_code, "validation_failed" if exc.status_code < 500 else "")
        if not code:
            code = "transient_failure"
        status = exc.status_code if exc.status_code < 500 else 503
        detail = str(exc.detail) if exc.detail else code.replace("_", " ")
        return problem_response(ApiProblem(status, code, detail, headers=exc.headers))

    async def on_error(request: Request, exc: Exception) -> Response:
        _log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            ApiProblem(500, "internal_error", "unexpected server error (a sandbox bug)")
        )

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_error)


__all__ = [
    "ApiProblem",
    "FieldError",
    "Problem",
    "install_handlers",
    "problem_response",
    "problems",
]
