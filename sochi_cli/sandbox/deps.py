"""FastAPI dependencies: the Sandbox of the app, the bearer session (with the geo rule), paging."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sochi_cli.sandbox.problems import ApiProblem
from sochi_cli.sandbox.state import Sandbox, Session

_bearer = HTTPBearer(auto_error=False, description="access token from POST /auth/token")


def get_sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    sandbox.tick()
    return sandbox


def client_country(request: Request) -> tuple[str | None, str | None]:
    """The client's country and IP: test-hook headers, else `PUT /sandbox/geo`, else domestic."""
    geo = request.app.state.sandbox.settings.geo
    country = request.headers.get("x-sandbox-client-country") or geo.country
    ip = (
        request.headers.get("x-sandbox-client-ip")
        or geo.ip
        or (request.client.host if request.client else None)
    )
    return country, ip


def current_session(
    request: Request,
    sandbox: Annotated[Sandbox, Depends(get_sandbox)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Session:
    header = f"Bearer {credentials.credentials}" if credentials else None
    session = sandbox.session_for(header)
    country, ip = client_country(request)
    sandbox.check_geo(country, ip, session.inn)
    return session


SandboxDep = Annotated[Sandbox, Depends(get_sandbox)]
SessionDep = Annotated[Session, Depends(current_session)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=100)]


def cursor_seq(cursor: str | None) -> int:
    """The sequence number after which a page starts (0 = from the beginning)."""
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise ApiProblem(400, "invalid_cursor", "this cursor was not issued by the server")
    return int(cursor)


__all__ = [
    "Cursor",
    "Limit",
    "SandboxDep",
    "SessionDep",
    "client_country",
    "current_session",
    "cursor_seq",
    "get_sandbox",
]
