"""`/auth/*`: a signed challenge buys an access token; refresh rotates; logout ends it."""

from __future__ import annotations

import base64
import binascii
import secrets
import sqlite3
from typing import Annotated, Any

from cryptography import x509
from fastapi import APIRouter, Body, Request, Response

from sochi_cli.sandbox.deps import SandboxDep, SessionDep, client_country
from sochi_cli.sandbox.models import ChallengeIn, ChallengeOut, RefreshIn, TokenIn, TokenOut
from sochi_cli.sandbox.pki import serial_hex
from sochi_cli.sandbox.problems import ApiProblem, problems
from sochi_cli.sandbox.state import ACCESS_TTL, REFRESH_TTL, Sandbox
from sochi_cli.sandbox.util import iso_now, new_id

router = APIRouter(prefix="/auth", tags=["auth"])
CHALLENGE_TTL = 300


def decode_b64(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiProblem(
            422,
            "validation_failed",
            f"{field} is not base64",
            errors=[{"path": field, "message": "not valid base64"}],
        ) from None


@router.post("/challenge", status_code=201, response_model=ChallengeOut, responses=problems(400))
def create_challenge(
    sandbox: SandboxDep, body: Annotated[ChallengeIn | None, Body()] = None
) -> dict[str, Any]:
    """A fresh 32-byte nonce to sign; valid 300 s, usable once."""
    nonce = secrets.token_bytes(32)
    now = sandbox.now()
    challenge_id = new_id("chl")
    expires = now.timestamp() + CHALLENGE_TTL
    with sandbox.db.tx() as conn:
        conn.execute(
            "INSERT INTO challenges (id, nonce, expires_ts) VALUES (?,?,?)",
            (challenge_id, nonce, expires),
        )
        conn.execute("DELETE FROM challenges WHERE expires_ts < ?", (now.timestamp() - 86400,))
    from datetime import UTC, datetime

    return {
        "challenge_id": challenge_id,
        "nonce": base64.b64encode(nonce).decode(),
        "expires_at": iso_now(datetime.fromtimestamp(expires, UTC)),
    }


def _session_body(
    sandbox: Sandbox, conn: sqlite3.Connection, inn: str, serial: str
) -> dict[str, Any]:
    now = sandbox.now().timestamp()
    access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO sessions (access_token, refresh_token, inn, serial, access_expires_ts,"
        " refresh_expires_ts) VALUES (?,?,?,?,?,?)",
        (access, refresh, inn, serial, now + ACCESS_TTL, now + REFRESH_TTL),
    )
    account = conn.execute("SELECT * FROM accounts WHERE inn=?", (inn,)).fetchone()
    cert = conn.execute(
        "SELECT owner_name, position FROM certificates WHERE serial=?", (serial,)
    ).fetchone()
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL,
        "subscriber": {
            "inn": inn,
            "name": account["name"],
            "kind": account["kind"],
            "registration_state": account["reg_state"],
            "certificate_serial": serial,
            "person": {"name": cert["owner_name"], "position": cert["position"]},
        },
    }


@router.post("/token", response_model=TokenOut, responses=problems(400, 401, 403, 422))
def create_token(body: TokenIn, request: Request, sandbox: SandboxDep) -> dict[str, Any]:
    """Exchange a signed challenge for an access and a refresh token."""
    now = sandbox.now().timestamp()
    with sandbox.db.tx() as conn:  # burn the challenge whatever happens next
        row = conn.execute(
            "SELECT nonce, expires_ts, used FROM challenges WHERE id=?", (body.challenge_id,)
        ).fetchone()
        if row is not None:
            conn.execute("UPDATE challenges SET used=1 WHERE id=?", (body.challenge_id,))
    if row is None:
        raise ApiProblem(401, "challenge_unknown", "no such challenge; ask for a new one")
    if row["used"]:
        raise ApiProblem(401, "challenge_replayed", "this challenge was already used")
    if row["expires_ts"] < now:
        raise ApiProblem(401, "challenge_expired", "the challenge expired; ask for a new one")
    cert_der = decode_b64(body.certificate, "certificate")
    try:
        certificate = x509.load_der_x509_certificate(cert_der)
    except ValueError:
        raise ApiProblem(
            422,
            "validation_failed",
            "certificate is not a DER X.509 certificate",
            errors=[{"path": "certificate", "message": "not a DER certificate"}],
        ) from None
    signature = decode_b64(body.signature, "signature")
    cert, _ = sandbox.verify_signature(
        signature, bytes(row["nonce"]), certificate=certificate, status=401
    )
    serial = serial_hex(cert)
    with sandbox.db.read() as conn:
        owner = conn.execute("SELECT inn FROM certificates WHERE serial=?", (serial,)).fetchone()
        account = conn.execute("SELECT inn FROM accounts WHERE inn=?", (owner["inn"],)).fetchone()
    if account is None:
        raise ApiProblem(401, "account_unknown", f"no subscriber account for INN {owner['inn']}")
    if sandbox.now() > cert.not_valid_after_utc:
        raise ApiProblem(401, "signature_invalid", "the certificate has expired", reason="expired")
    country, ip = client_country(request)
    sandbox.check_geo(country, ip, owner["inn"])
    with sandbox.db.tx() as conn:
        return _session_body(sandbox, conn, owner["inn"], serial)


@router.post("/refresh", response_model=TokenOut, responses=problems(400, 401, 422))
def refresh_token(body: RefreshIn, sandbox: SandboxDep) -> dict[str, Any]:
    """A new access + refresh token for a valid refresh token (which is used up)."""
    now = sandbox.now().timestamp()
    with sandbox.db.tx() as conn:
        row = conn.execute(
            "SELECT access_token, inn, serial, refresh_expires_ts, revoked FROM sessions "
            "WHERE refresh_token=?",
            (body.refresh_token,),
        ).fetchone()
        if row is None or row["revoked"] or row["refresh_expires_ts"] < now:
            raise ApiProblem(
                401, "refresh_invalid", "the refresh token is unknown, used or expired"
            )
        conn.execute("UPDATE sessions SET revoked=1 WHERE access_token=?", (row["access_token"],))
        return _session_body(sandbox, conn, row["inn"], row["serial"])


@router.post("/logout", status_code=204, response_class=Response, responses=problems(401))
def logout(session: SessionDep, sandbox: SandboxDep) -> Response:
    """End the session: the access and refresh tokens stop working."""
    with sandbox.db.tx() as conn:
        conn.execute("UPDATE sessions SET revoked=1 WHERE access_token=?", (session.access_token,))
    return Response(status_code=204)
