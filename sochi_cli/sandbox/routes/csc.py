"""E-Cloud remote signing in the Cloud Signature Consortium API v2 shape (`/csc/v2/*`).

No bearer token: PIN + one-time code → SAD → signHash is the protection.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import sqlite3
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from fastapi import APIRouter
from pydantic import Field

from sochi_cli.sandbox.deps import SandboxDep
from sochi_cli.sandbox.models import Out, Request
from sochi_cli.sandbox.problems import ApiProblem, problems
from sochi_cli.sandbox.seed import hash_pin
from sochi_cli.sandbox.state import b64
from sochi_cli.sandbox.util import iso_now

router = APIRouter(prefix="/csc/v2", tags=["csc"])
OTP_TTL = 300
SAD_TTL = 300
MULTISIGN = 1000
MAX_PIN_ATTEMPTS = 5
SHA256 = "2.16.840.1.101.3.4.2.1"
EC_KEY, RSA_KEY = "1.2.840.10045.2.1", "1.2.840.113549.1.1.1"
ECDSA_SHA256, RSA_SHA256 = "1.2.840.10045.4.3.2", "1.2.840.113549.1.1.11"


class ListIn(Request):
    userID: str = Field(max_length=100)
    maxResults: int | None = Field(None, ge=1, le=1000)


class ListOut(Out):
    credentialIDs: list[str]


class InfoIn(Request):
    credentialID: str = Field(max_length=100)
    certificates: Literal["none", "single", "chain"] = "single"
    certInfo: bool | None = None
    authInfo: bool | None = None


class InfoOut(Out):
    key: dict[str, Any]
    cert: dict[str, Any]
    authMode: str
    multisign: int


class CredentialIn(Request):
    credentialID: str = Field(max_length=100)


class AuthorizeIn(Request):
    credentialID: str = Field(max_length=100)
    numSignatures: int = Field(ge=1, le=MULTISIGN)
    PIN: str = Field(max_length=100)
    OTP: str = Field(max_length=100)


class AuthorizeOut(Out):
    SAD: str
    expiresIn: int


class SignHashIn(Request):
    credentialID: str = Field(max_length=100)
    SAD: str = Field(max_length=200)
    hashes: list[str] = Field(min_length=1, max_length=MULTISIGN)
    hashAlgo: str = Field(max_length=100)
    signAlgo: str = Field(max_length=100)


class SignHashOut(Out):
    signatures: list[str]


def _credential(conn: sqlite3.Connection, credential_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM credentials WHERE id=?", (credential_id,)).fetchone()
    if row is None:
        raise ApiProblem(404, "credential_not_found", f"no credential {credential_id!r}")
    result: sqlite3.Row = row
    return result


@router.post("/credentials/list", response_model=ListOut, responses=problems(400, 415, 422))
def credentials_list(body: ListIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Credential ids of a user (the subscriber's INN)."""
    with sandbox.db.read() as conn:
        rows = conn.execute(
            "SELECT id FROM credentials WHERE inn=? ORDER BY id", (body.userID,)
        ).fetchall()
    return {"credentialIDs": [r["id"] for r in rows][: body.maxResults or None]}


@router.post("/credentials/info", response_model=InfoOut, responses=problems(400, 404, 415, 422))
def credentials_info(body: InfoIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Key algorithm, certificate (chain) and authorisation mode of a credential."""
    with sandbox.db.read() as conn:
        cred = _credential(conn, body.credentialID)
        cert_row = conn.execute(
            "SELECT der, revoked_at FROM certificates WHERE serial=?", (cred["serial"],)
        ).fetchone()
    cert = x509.load_der_x509_certificate(cert_row["der"])
    public = cert.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        algo, length = EC_KEY, public.curve.key_size
    else:
        assert isinstance(public, rsa.RSAPublicKey)
        algo, length = RSA_KEY, public.key_size
    now = sandbox.now()
    if cert_row["revoked_at"]:
        status = "revoked"
    elif not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        status = "expired"
    else:
        status = "valid"
    certs: list[str] = []
    if body.certificates != "none":
        certs.append(b64(cert_row["der"]))
    if body.certificates == "chain":
        certs += [b64(c.public_bytes(serialization.Encoding.DER)) for c in sandbox.pki.chain()]
    locked = cred["failed_pins"] >= MAX_PIN_ATTEMPTS
    return {
        "key": {"status": "disabled" if locked else "enabled", "algo": [algo], "len": length},
        "cert": {"status": status, "certificates": certs},
        "authMode": "explicit",
        "multisign": MULTISIGN,
    }


@router.post("/credentials/sendOTP", response_model=Out, responses=problems(400, 404, 415, 422))
def credentials_send_otp(body: CredentialIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Send a 6-digit one-time code to the owner's phone (the sandbox SMS outbox)."""
    now = sandbox.now()
    otp = f"{secrets.randbelow(10**6):06d}"
    with sandbox.db.tx() as conn:
        _credential(conn, body.credentialID)
        conn.execute(
            "INSERT INTO otps (credential_id, otp, sent_at, sent_ts) VALUES (?,?,?,?)",
            (body.credentialID, otp, iso_now(now), now.timestamp()),
        )
    return {}


@router.post(
    "/credentials/authorize",
    response_model=AuthorizeOut,
    responses=problems(400, 401, 403, 404, 415, 422),
)
def credentials_authorize(body: AuthorizeIn, sandbox: SandboxDep) -> dict[str, Any]:
    """PIN + OTP → SAD for `numSignatures` hashes within 300 s."""
    now = sandbox.now().timestamp()
    problem: ApiProblem | None = None
    sad = secrets.token_urlsafe(32)
    with sandbox.db.tx() as conn:
        cred = _credential(conn, body.credentialID)
        if cred["failed_pins"] >= MAX_PIN_ATTEMPTS:
            raise ApiProblem(
                403, "credential_locked", "too many wrong PINs; the credential is locked"
            )
        revoked = conn.execute(
            "SELECT revoked_at FROM certificates WHERE serial=?", (cred["serial"],)
        ).fetchone()
        if revoked and revoked["revoked_at"]:
            raise ApiProblem(403, "certificate_revoked", "the credential's certificate is revoked")
        if not hmac.compare_digest(hash_pin(body.PIN), cred["pin_hash"]):
            failed = cred["failed_pins"] + 1
            conn.execute("UPDATE credentials SET failed_pins=? WHERE id=?", (failed, cred["id"]))
            left = MAX_PIN_ATTEMPTS - failed
            if left <= 0:
                problem = ApiProblem(
                    403, "credential_locked", "wrong PIN; the credential is now locked"
                )
            else:
                problem = ApiProblem(
                    401, "invalid_pin", f"wrong PIN; {left} attempts left", attempts_left=left
                )
        else:
            otp = conn.execute(
                "SELECT seq, otp, sent_ts, used FROM otps WHERE credential_id=? "
                "ORDER BY seq DESC LIMIT 1",
                (cred["id"],),
            ).fetchone()
            if otp is None or not hmac.compare_digest(otp["otp"], body.OTP):
                problem = ApiProblem(401, "invalid_otp", "wrong one-time code (send a new one)")
            elif otp["used"] or otp["sent_ts"] + OTP_TTL < now:
                problem = ApiProblem(401, "otp_expired", "the one-time code expired or was used")
            else:
                conn.execute("UPDATE otps SET used=1 WHERE seq=?", (otp["seq"],))
                conn.execute("UPDATE credentials SET failed_pins=0 WHERE id=?", (cred["id"],))
                conn.execute(
                    "INSERT INTO sads (sad, credential_id, remaining, expires_ts) VALUES (?,?,?,?)",
                    (sad, cred["id"], body.numSignatures, now + SAD_TTL),
                )
    if problem is not None:  # raised after commit so the failed-PIN counter sticks
        raise problem
    return {"SAD": sad, "expiresIn": SAD_TTL}


@router.post(
    "/signatures/signHash",
    response_model=SignHashOut,
    responses=problems(400, 401, 403, 404, 415, 422),
)
def sign_hash(body: SignHashIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Sign SHA-256 hashes with the credential's key under a valid SAD."""
    if body.hashAlgo != SHA256:
        raise ApiProblem(422, "unsupported_algorithm", f"hashAlgo {body.hashAlgo} is not SHA-256")
    digests = []
    for index, value in enumerate(body.hashes):
        try:
            digest = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != 32:
            raise ApiProblem(
                422,
                "validation_failed",
                "each hash is a base64 SHA-256 digest (32 bytes)",
                errors=[{"path": f"hashes.{index}", "message": "not a base64 32-byte digest"}],
            )
        digests.append(digest)
    now = sandbox.now().timestamp()
    with sandbox.db.tx() as conn:
        cred = _credential(conn, body.credentialID)
        sad = conn.execute("SELECT * FROM sads WHERE sad=?", (body.SAD,)).fetchone()
        if sad is None or sad["credential_id"] != cred["id"]:
            raise ApiProblem(401, "sad_invalid", "unknown SAD for this credential")
        if sad["expires_ts"] < now:
            raise ApiProblem(401, "sad_expired", "the SAD expired; authorize again")
        if sad["remaining"] < len(digests):
            raise ApiProblem(
                422,
                "sad_exhausted",
                f"the SAD covers {sad['remaining']} more hashes, not {len(digests)}",
            )
        key = serialization.load_pem_private_key(cred["key_pem"], None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if body.signAlgo != ECDSA_SHA256:
                raise ApiProblem(
                    422, "unsupported_algorithm", f"signAlgo {body.signAlgo} does not fit an EC key"
                )
            signatures = [key.sign(d, ec.ECDSA(Prehashed(hashes.SHA256()))) for d in digests]
        else:
            assert isinstance(key, rsa.RSAPrivateKey)
            if body.signAlgo not in (RSA_SHA256, RSA_KEY):
                raise ApiProblem(
                    422,
                    "unsupported_algorithm",
                    f"signAlgo {body.signAlgo} does not fit an RSA key",
                )
            signatures = [
                key.sign(d, padding.PKCS1v15(), Prehashed(hashes.SHA256())) for d in digests
            ]
        conn.execute("UPDATE sads SET remaining=remaining-? WHERE sad=?", (len(digests), body.SAD))
    return {"signatures": [b64(s) for s in signatures]}
