"""A `Call` is one request of the contract described as data, plus how to read its answer.

Resource groups build calls without doing I/O; the sync and the async client both execute
the same calls, so the contract is written once (see `api/client.py`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sochi_cli.api.errors import MalformedResponse, error_from_problem

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")
FilePart = tuple[str, tuple[str, bytes, str]]  # (field, (filename, content, media type))
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request: method, path under the API base, body, and the parser of its answer."""

    method: str
    path: str
    parse: Callable[[Any, int], T]  # (decoded body, HTTP status) → model
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    files: Sequence[FilePart] | None = None
    data: Mapping[str, str] | None = None
    idempotency_key: str | None = None
    auth: bool = True
    body: str = "json"  # how the answer is read: "json", "bytes" or "empty"
    replay_safe: bool = False  # the contract makes a repeat harmless (e.g. detach, ack)

    @property
    def endpoint(self) -> str:
        return f"{self.method} /{self.path.lstrip('/')}"

    @property
    def retry_safe(self) -> bool:
        """May be sent again after an answer was possibly lost (idempotent or keyed POST)."""
        return (
            self.method in IDEMPOTENT_METHODS
            or self.idempotency_key is not None
            or self.replay_safe
        )

    def with_params(self, **params: str | None) -> Call[T]:
        merged = dict(self.params)
        for key, value in params.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return dataclasses.replace(self, params=merged)


def decode(call: Call[T], status: int, content: bytes, headers: Mapping[str, str]) -> T:
    """Error answers become typed errors; success answers are parsed into the call's model."""
    if status >= 400:
        raise error_from_problem(
            status, content, endpoint=call.endpoint, retry_after_header=headers.get("retry-after")
        )
    if call.body == "empty":
        return call.parse(None, status)
    if call.body == "bytes":
        return call.parse(content, status)
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise _malformed(call, status, "not valid JSON") from None
    try:
        return call.parse(payload, status)
    except Exception as exc:  # pydantic.ValidationError and friends, imported lazily
        if type(exc).__name__ != "ValidationError" and not isinstance(
            exc, TypeError | ValueError | KeyError
        ):
            raise
        raise _malformed(call, status, _first_problem(exc)) from None


def decode_response(call: Call[T], response: httpx.Response) -> T:
    return decode(call, response.status_code, response.content, response.headers)


def _malformed(call: Call[Any], status: int, why: str) -> MalformedResponse:
    err = MalformedResponse(
        f"the operator's answer to {call.endpoint} is malformed: {why}",
        hint="the server does not speak the sochi API v1 contract; check api_url",
        code="malformed_response",
        details={"endpoint": call.endpoint, "status": status},
    )
    err.endpoint = call.endpoint
    err.status = status
    return err


def _first_problem(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "body"
            return f"{where}: {first.get('msg', 'invalid')}"
        except Exception:  # noqa: S110 - fall through to the generic text
            pass
    return "unexpected shape"


def model_parser(model: Any) -> Callable[[Any, int], Any]:
    """Parser for a pydantic model class (or a parametrised generic)."""

    def parse(payload: Any, _status: int) -> Any:
        return model.model_validate(payload)

    return parse


__all__ = ["IDEMPOTENT_METHODS", "Call", "FilePart", "decode", "decode_response", "model_parser"]
