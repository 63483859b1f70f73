"""Transport for the operator API: one engine, a sync facade (CLI) and an async one (batch).

Design: resource groups (`api/resources.py`) describe each endpoint as a `Call`; `_Engine`
holds everything that is not I/O — request building, bearer auth, error mapping, the retry
policy (stamina, jittered backoff, `Retry-After`), the refresh decision — and both
`OperatorClient` (httpx.Client) and `AsyncOperatorClient` (httpx.AsyncClient) only send.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
import stamina

from sochi_cli import __version__
from sochi_cli.api import resources, retries
from sochi_cli.api.calls import Call, decode_response
from sochi_cli.api.errors import (
    ApiProblem,
    RateLimited,
    ServerUnreachable,
    SessionExpired,
    TlsFailure,
    Unauthorized,
)
from sochi_cli.logs import register_secret

if TYPE_CHECKING:
    from sochi_cli.api.models import Page, TokenGrant

T = TypeVar("T")
USER_AGENT = f"sochi/{__version__}"
retries.install()  # a retry is a progress notice and a DEBUG record, never a bare log line


class TokenStore(Protocol):
    """Where the session's bearer tokens live; `store` is called after every refresh.

    `check_writable` runs before a refresh is asked for: refresh tokens are single use, so
    a refresh whose result cannot be saved would end the session. It raises (a
    StorageError) when the new tokens could not be stored.

    `serialized()` is held around read → refresh → store: a store shared by several
    processes (the profile's session.json) takes a lock there and reads its tokens again,
    so the process that waited uses the tokens another one just got.
    """

    def access_token(self) -> str | None: ...

    def refresh_token(self) -> str | None: ...

    def store(self, grant: TokenGrant) -> None: ...

    def check_writable(self) -> None: ...

    def serialized(self) -> contextlib.AbstractContextManager[None]: ...


class MemoryTokens:
    """Tokens held in memory only (tests, `SOCHI_ACCESS_TOKEN`)."""

    def __init__(self, access: str | None = None, refresh: str | None = None) -> None:
        register_secret(access)
        register_secret(refresh)
        self._access = access
        self._refresh = refresh

    def access_token(self) -> str | None:
        return self._access

    def refresh_token(self) -> str | None:
        return self._refresh

    def store(self, grant: TokenGrant) -> None:
        register_secret(grant.access_token)
        register_secret(grant.refresh_token)
        self._access = grant.access_token
        self._refresh = grant.refresh_token

    def check_writable(self) -> None:
        return None

    def serialized(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most `attempts` tries within `timeout` seconds in total."""

    attempts: int = 5
    timeout: float = 60.0
    wait_initial: float = 0.2
    wait_max: float = 5.0
    wait_jitter: float = 0.5
    max_retry_after: float = 30.0  # a longer Retry-After is reported, not waited for


def _ssl_context(ca_bundle: str | Path | None) -> ssl.SSLContext:
    """System/certifi trust plus the profile's extra CA; verification is never disabled."""
    try:
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi ships with httpx
        context = ssl.create_default_context()
    if ca_bundle:
        try:
            context.load_verify_locations(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            from sochi_cli.errors import ConfigError

            raise ConfigError(
                f"ca_bundle {ca_bundle}: cannot load: {exc}",
                hint="point ca_bundle at a PEM file of CA certificates",
            ) from None
    return context


def _is_loopback(url: str) -> bool:
    from sochi_cli.store.config import is_loopback_host

    return is_loopback_host(urlsplit(url).hostname or "")


class _Engine:
    """What the sync and async clients share: everything but the sending."""

    def __init__(self, base_url: str, tokens: TokenStore | None, retry: RetryPolicy) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.retry = retry

    def headers(self, call: Call[Any]) -> dict[str, str]:
        headers: dict[str, str] = {"Accept": "application/json"}
        if call.auth:
            token = self.tokens.access_token() if self.tokens else None
            if not token:
                raise Unauthorized(
                    "not logged in", hint="run `sochi login` (or set SOCHI_ACCESS_TOKEN)"
                )
            headers["Authorization"] = f"Bearer {token}"
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        return headers

    def build(self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
        return http.build_request(
            call.method,
            call.path.lstrip("/"),
            params=dict(call.params) or None,
            json=call.json if call.files is None else None,
            files=list(call.files) if call.files is not None else None,
            data=dict(call.data) if call.data else None,
            headers=self.headers(call),
        )

    def transport_error(self, call: Call[Any], exc: httpx.HTTPError) -> ApiProblem:
        """httpx's exceptions → one clear typed error (never a traceback)."""
        where = f"{self.base_url} ({call.endpoint})"
        reason = _tls_reason(exc)
        err: ApiProblem
        if reason is not None:
            err = TlsFailure(
                f"TLS certificate of {urlsplit(self.base_url).hostname} does not verify: {reason}",
                hint="if the operator uses a private CA, set `ca_bundle` in the profile; "
                "verification cannot be turned off",
                code="tls_failure",
            )
            err.transient = False
        else:
            connect = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            what = "timed out" if isinstance(exc, httpx.TimeoutException) else _short(exc)
            hint = (
                "is the sandbox running? `sochi sandbox serve`"
                if _is_loopback(self.base_url)
                else "check the network and the profile's api_url"
            )
            err = ServerUnreachable(
                f"cannot reach the operator at {where}: {what}", hint=hint, code="unreachable"
            )
            # Safe to resend when nothing reached the server, or the call may be repeated;
            # a refused loopback connection means nothing listens there: say so at once.
            refused = what == "connection refused" and _is_loopback(self.base_url)
            err.transient = (connect or call.retry_safe) and not refused
        err.endpoint = call.endpoint
        err.details = {"endpoint": call.endpoint, "url": self.base_url}
        return err

    def retry_hook(self, call: Call[Any]) -> Callable[[Exception], bool | float]:
        deadline = time.monotonic() + self.retry.timeout
        policy = self.retry

        def hook(exc: Exception) -> bool | float:
            if not isinstance(exc, ApiProblem):
                return False
            # 429 is answered before the endpoint runs, so any request may be resent;
            # an unreachable server decided `transient` itself (connect phase or safe call).
            retryable = isinstance(exc, RateLimited) or (
                exc.transient and (call.retry_safe or isinstance(exc, ServerUnreachable))
            )
            if not retryable:
                return False
            exc.retry_attempts = policy.attempts  # for the retry notice ("attempt 2/5")
            if exc.retry_after is None:
                return True
            if exc.retry_after > policy.max_retry_after:
                return False
            if time.monotonic() + exc.retry_after > deadline:
                return False
            return exc.retry_after + random.uniform(0, policy.wait_jitter)

        return hook

    def retrying(self, call: Call[Any]) -> Any:
        return stamina.retry_context(
            on=self.retry_hook(call),
            attempts=self.retry.attempts,
            timeout=self.retry.timeout,
            wait_initial=self.retry.wait_initial,
            wait_max=self.retry.wait_max,
            wait_jitter=self.retry.wait_jitter,
        )

    def can_refresh(self, call: Call[Any]) -> bool:
        return call.auth and self.tokens is not None and bool(self.tokens.refresh_token())

    def current_token(self) -> str | None:
        return self.tokens.access_token() if self.tokens else None

    def should_resend(self, call: Call[Any], exc: Unauthorized, used: str | None) -> bool:
        """After a 401 on a bearer call: resend once, after a refresh, if there is a refresh
        token. Besides `token_expired` this covers `unauthorized` for a token that a
        concurrent request has just refreshed away (the old session is ended then); if the
        session really ended, the refresh fails and says `sochi login`."""
        if not call.auth or isinstance(exc, SessionExpired):
            return False
        if used is not None and self.current_token() != used:
            return True
        return self.can_refresh(call)

    def store_grant(self, grant: TokenGrant) -> None:
        register_secret(grant.access_token)
        register_secret(grant.refresh_token)
        assert self.tokens is not None
        self.tokens.store(grant)


def _session_expired(exc: ApiProblem) -> SessionExpired:
    err = SessionExpired(
        "the session has expired and cannot be refreshed",
        hint="run `sochi login`",
        code="session_expired",
        details=exc.details,
    )
    err.status = exc.status
    return err


def _no_refresh_token() -> SessionExpired:
    err = SessionExpired(
        "the session has expired and cannot be refreshed",
        hint="run `sochi login`",
        code="session_expired",
    )
    err.status = 401
    return err


def _tls_reason(exc: BaseException) -> str | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or "certificate verify failed"
        if isinstance(current, ssl.SSLError):
            return current.reason or str(current)
        current = current.__cause__ or current.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return text
    return None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text or type(exc).__name__


def _http_kwargs(base_url: str, timeout: float, ca_bundle: str | Path | None) -> dict[str, Any]:
    return {
        "base_url": base_url.rstrip("/") + "/",
        "timeout": httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        "verify": _ssl_context(ca_bundle),
        "headers": {"User-Agent": USER_AGENT},
        "follow_redirects": False,
    }


class OperatorClient:
    """Sync client for one-shot commands: `client.call(resources.account.get())`."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        ca_bundle: str | Path | None = None,
        tokens: TokenStore | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._engine = _Engine(base_url, tokens, retry or RetryPolicy())
        self._http = httpx.Client(transport=transport, **_http_kwargs(base_url, timeout, ca_bundle))

    @property
    def base_url(self) -> str:
        return self._engine.base_url

    def __enter__(self) -> OperatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def call(self, call: Call[T]) -> T:
        """Send with retries (idempotent or keyed requests) and one refresh on expiry."""
        for attempt in self._engine.retrying(call):
            with attempt:
                return self._once(call)
        raise AssertionError("unreachable")  # pragma: no cover

    def iterate(self, call: Call[Page[T]]) -> Iterator[T]:
        """All items of a paged list, fetching pages lazily."""
        current: Call[Page[T]] | None = call
        while current is not None:
            page = self.call(current)
            yield from page.items
            current = current.with_params(cursor=page.next_cursor) if page.next_cursor else None

    def _send(self, call: Call[Any]) -> httpx.Response:
        request = self._engine.build(self._http, call)
        try:
            return self._http.send(request)
        except httpx.HTTPError as exc:
            raise self._engine.transport_error(call, exc) from None

    def _once(self, call: Call[T]) -> T:
        used = self._engine.current_token()
        try:
            return decode_response(call, self._send(call))
        except Unauthorized as exc:
            if not self._engine.should_resend(call, exc, used):
                raise
            self._refresh(used)
            return decode_response(call, self._send(call))

    def _refresh(self, expired: str | None) -> None:
        tokens = self._engine.tokens
        assert tokens is not None
        with tokens.serialized():
            if tokens.access_token() != expired:
                return  # refreshed meanwhile, by this process or another one (single use)
            refresh = tokens.refresh_token()
            if refresh is None:
                raise _no_refresh_token()
            tokens.check_writable()  # before the single-use refresh token is spent
            call = resources.auth.refresh(refresh)
            try:
                grant = decode_response(call, self._send(call))
            except Unauthorized as exc:
                raise _session_expired(exc) from None
            self._engine.store_grant(grant)


class AsyncOperatorClient:
    """Async client for the batch engine; same calls, same errors, one refresh at a time."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        ca_bundle: str | Path | None = None,
        tokens: TokenStore | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = 16,
    ) -> None:
        self._engine = _Engine(base_url, tokens, retry or RetryPolicy())
        self._http = httpx.AsyncClient(
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections),
            **_http_kwargs(base_url, timeout, ca_bundle),
        )
        self._refresh_lock = asyncio.Lock()

    @property
    def base_url(self) -> str:
        return self._engine.base_url

    async def __aenter__(self) -> AsyncOperatorClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, call: Call[T]) -> T:
        async for attempt in self._engine.retrying(call):
            with attempt:
                return await self._once(call)
        raise AssertionError("unreachable")  # pragma: no cover

    async def iterate(self, call: Call[Page[T]]) -> AsyncIterator[T]:
        current: Call[Page[T]] | None = call
        while current is not None:
            page = await self.call(current)
            for item in page.items:
                yield item
            current = current.with_params(cursor=page.next_cursor) if page.next_cursor else None

    async def _send(self, call: Call[Any]) -> httpx.Response:
        request = self._engine.build(self._http, call)
        try:
            return await self._http.send(request)
        except httpx.HTTPError as exc:
            raise self._engine.transport_error(call, exc) from None

    async def _once(self, call: Call[T]) -> T:
        used = self._engine.current_token()
        try:
            return decode_response(call, await self._send(call))
        except Unauthorized as exc:
            if not self._engine.should_resend(call, exc, used):
                raise
            await self._refresh(used)
            return decode_response(call, await self._send(call))

    async def _refresh(self, expired: str | None) -> None:
        tokens = self._engine.tokens
        assert tokens is not None
        async with self._refresh_lock:
            # across processes too: the lock is taken in a thread (it may wait), released here
            held = tokens.serialized()
            await asyncio.to_thread(held.__enter__)
            try:
                if tokens.access_token() != expired:
                    return  # refreshed meanwhile, by another task or process (single use)
                refresh = tokens.refresh_token()
                if refresh is None:
                    raise _no_refresh_token()
                tokens.check_writable()  # before the single-use refresh token is spent
                call = resources.auth.refresh(refresh)
                try:
                    grant = decode_response(call, await self._send(call))
                except Unauthorized as exc:
                    raise _session_expired(exc) from None
                self._engine.store_grant(grant)
            finally:
                held.__exit__(None, None, None)


__all__ = [
    "USER_AGENT",
    "AsyncOperatorClient",
    "MemoryTokens",
    "OperatorClient",
    "RetryPolicy",
    "TokenStore",
]
