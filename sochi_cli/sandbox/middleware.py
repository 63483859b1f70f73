"""Pure-ASGI gate in front of the API: maintenance, chaos, rate limits, body size limit."""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sochi_cli.sandbox.maintenance import current_and_next
from sochi_cli.sandbox.problems import PROBLEM_MEDIA_TYPE, ApiProblem
from sochi_cli.sandbox.state import Sandbox

API_PREFIX = "/api/v1"
MAX_BODY = 64 * 1024 * 1024
MAX_JSON_BODY = 1024 * 1024
_EXEMPT = (f"{API_PREFIX}/status", f"{API_PREFIX}/sandbox")
_MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


class DroppedResponse(Exception):
    """Raised after a committed request to make the server close the connection unanswered."""


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float) -> None:
        self.tokens = tokens
        self.stamp = time.monotonic()


class RateLimiter:
    """Token buckets per client key (bearer token or IP)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        limits = self.sandbox.settings.limits
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) > 10_000:
                    self._buckets.clear()
                bucket = self._buckets[key] = _Bucket(float(limits.burst))
            now = time.monotonic()
            bucket.tokens = min(
                float(limits.burst),
                bucket.tokens + (now - bucket.stamp) * limits.requests_per_second,
            )
            bucket.stamp = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / max(limits.requests_per_second, 1e-6)


async def _send_problem(send: Send, problem: ApiProblem) -> None:
    body = json.dumps(problem.body()).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        *[(k.lower().encode(), v.encode()) for k, v in problem.headers.items()],
    ]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GateMiddleware:
    """Order: maintenance → chaos → rate limit → body limit, then the app (and maybe a drop)."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox
        self.limiter = RateLimiter(sandbox)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith(API_PREFIX) or path.startswith(_EXEMPT):
            await self.app(scope, receive, send)
            return
        sandbox = self.sandbox
        current, _ = current_and_next(sandbox.now(), sandbox.announced_windows())
        if current is not None:
            wait = max(1, math.ceil((current.ends_at - sandbox.now()).total_seconds()))
            await _send_problem(
                send,
                ApiProblem(
                    503,
                    "maintenance",
                    f"{current.title}: back at {current.ends_at:%Y-%m-%dT%H:%M:%SZ}",
                    retry_after=wait,
                    window={
                        "starts_at": current.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "ends_at": current.ends_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "kind": current.kind,
                        "title": current.title,
                    },
                ),
            )
            return
        chaos = sandbox.settings.chaos
        if chaos.latency_ms:
            await asyncio.sleep(chaos.latency_ms / 1000)
        if chaos.error_rate and random.random() < chaos.error_rate:
            await _send_problem(
                send,
                ApiProblem(
                    503,
                    "transient_failure",
                    "the operator is temporarily unavailable (sandbox chaos)",
                    retry_after=1,
                ),
            )
            return
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        client = scope.get("client") or ("local", 0)
        key = auth or headers.get(b"x-sandbox-client-ip", b"").decode("latin-1") or str(client[0])
        delay = self.limiter.take(key)
        if delay:
            await _send_problem(
                send,
                ApiProblem(
                    429,
                    "rate_limited",
                    "too many requests; slow down",
                    retry_after=max(1, math.ceil(delay)),
                ),
            )
            return
        is_json = b"json" in headers.get(b"content-type", b"").lower()
        limit = MAX_JSON_BODY if is_json else MAX_BODY
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _send_problem(
                send,
                ApiProblem(413, "payload_too_large", f"the request body is over {limit} bytes"),
            )
            return
        receive = _limited(receive, limit)
        drop = (
            scope["method"] in _MUTATING
            and chaos.drop_after_commit_rate
            and random.random() < chaos.drop_after_commit_rate
        )
        if not drop:
            await self.app(scope, receive, send)
            return
        await self._drop_after(scope, receive, send, chaos.drop_mode)

    async def _drop_after(self, scope: Scope, receive: Receive, send: Send, mode: str) -> None:
        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        if mode == "close":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1000")],
                }
            )
            raise DroppedResponse("sandbox chaos: connection dropped after commit")
        await _send_problem(
            send,
            ApiProblem(
                503,
                "transient_failure",
                "the answer was lost after the request was processed (sandbox chaos); retry",
                retry_after=1,
            ),
        )


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message: Any = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise ApiProblem(
                    413, "payload_too_large", f"the request body is over {limit} bytes"
                )
        return message  # type: ignore[no-any-return]

    return wrapped


__all__ = ["API_PREFIX", "MAX_BODY", "DroppedResponse", "GateMiddleware"]
