"""`/pki/*`, `/certificates` (revoke, renewal) and `/access/abroad`."""

from __future__ import annotations

import ipaddress
import json
import sqlite3
from datetime import date, datetime, timedelta
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Response

from sochi_cli.sandbox.deps import SandboxDep, SessionDep
from sochi_cli.sandbox.models import (
    AbroadIn,
    AbroadListOut,
    AbroadOut,
    CertificateOut,
    CertificatesOut,
    ChainOut,
    RenewalIn,
    RenewalOut,
    RevokeIn,
)
from sochi_cli.sandbox.pki import serial_hex
from sochi_cli.sandbox.problems import ApiProblem, problems
from sochi_cli.sandbox.routes.auth import decode_b64
from sochi_cli.sandbox.state import b64
from sochi_cli.sandbox.util import inn_problem, iso_now, new_id, parse_iso

router = APIRouter()
CrlIssuer = Literal["operator_ca", "root"]
RENEWAL_FEE = 150000


def _der(cert: x509.Certificate) -> str:
    return b64(cert.public_bytes(serialization.Encoding.DER))


CRL_LINKS = {"operator_ca": "pki/crl?ca=operator_ca", "root": "pki/crl?ca=root"}


@router.get("/pki/chain", response_model=ChainOut, responses=problems(), tags=["pki"])
def get_chain(sandbox: SandboxDep) -> dict[str, Any]:
    """Operator CA, Main CA (sandbox) root, then the receipt-signing certificates.

    Each CA entry names its CRL (`crl`, relative to the API base URL).
    """
    pki = sandbox.pki
    entries = [
        ("operator_ca", pki.operator_ca.cert),
        ("root", pki.root.cert),
        ("operator_receipts", pki.receipts.cert),
    ]
    entries += [("agency", issuer.cert) for issuer in pki.agencies.values()]
    return {
        "certificates": [
            {
                "role": role,
                "subject": cert.subject.rfc4514_string(),
                "serial": serial_hex(cert),
                "certificate": _der(cert),
                **({"crl": CRL_LINKS[role]} if role in CRL_LINKS else {}),
            }
            for role, cert in entries
        ]
    }


def revoked_rows(conn: sqlite3.Connection) -> list[tuple[str, datetime, str]]:
    return [
        (r["serial"], parse_iso(r["revoked_at"]), r["revocation_reason"] or "unspecified")
        for r in conn.execute(
            "SELECT serial, revoked_at, revocation_reason FROM certificates "
            "WHERE revoked_at IS NOT NULL ORDER BY revoked_at"
        )
    ]


@router.get(
    "/pki/crl",
    response_class=Response,
    tags=["pki"],
    responses={
        200: {
            "content": {"application/pkix-crl": {"schema": {"type": "string", "format": "binary"}}},
            "description": "DER CRL",
        },
        **problems(422),
    },
)
def get_crl(sandbox: SandboxDep, ca: CrlIssuer = "operator_ca") -> Response:
    """A CA's CRL (DER): the operator CA's (default; revocation dates and reasons) or the
    Main CA (sandbox) root's (`?ca=root`)."""
    if ca == "root":
        return Response(sandbox.pki.root_crl(sandbox.now()), media_type="application/pkix-crl")
    with sandbox.db.read() as conn:
        rows = revoked_rows(conn)
    return Response(sandbox.pki.crl(rows, sandbox.now()), media_type="application/pkix-crl")


def certificate_json(row: sqlite3.Row, now: datetime) -> dict[str, Any]:
    cert = x509.load_der_x509_certificate(row["der"])
    if row["revoked_at"]:
        status = "revoked"
    elif now > cert.not_valid_after_utc:
        status = "expired"
    elif now < cert.not_valid_before_utc:
        status = "not_yet_valid"
    else:
        status = "valid"
    return {
        "serial": row["serial"],
        "subject": cert.subject.rfc4514_string(),
        "inn": row["inn"],
        "owner_name": row["owner_name"],
        "position": row["position"],
        "not_before": row["not_before"],
        "not_after": row["not_after"],
        "status": status,
        "revoked_at": row["revoked_at"],
        "revocation_reason": row["revocation_reason"],
        "key_kind": row["key_kind"],
        "credential_id": row["credential_id"],
        "renewal": "automatic" if row["key_kind"] == "cloud" else "office_visit",
        "certificate": b64(row["der"]),
    }


@router.get(
    "/certificates", response_model=CertificatesOut, responses=problems(401, 403), tags=["pki"]
)
def list_certificates(session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """The account's certificates with their status on the server clock."""
    with sandbox.db.read() as conn:
        rows = conn.execute(
            "SELECT * FROM certificates WHERE inn=? ORDER BY not_before", (session.inn,)
        ).fetchall()
    now = sandbox.now()
    return {"items": [certificate_json(r, now) for r in rows]}


def _own_certificate(conn: sqlite3.Connection, inn: str, serial: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT * FROM certificates WHERE serial=? AND inn=?", (serial.lower(), inn)
    ).fetchone()
    if row is None:
        raise ApiProblem(404, "certificate_not_found", f"no certificate {serial} on this account")
    result: sqlite3.Row = row
    return result


@router.post(
    "/certificates/{serial}/revoke",
    response_model=CertificateOut,
    responses=problems(400, 401, 403, 404, 409, 415, 422),
    tags=["pki"],
)
def revoke_certificate(
    serial: str, body: RevokeIn, session: SessionDep, sandbox: SandboxDep
) -> dict[str, Any]:
    """Revoke now (clause 4.3.9); the CRL is reissued at once."""
    now = sandbox.now()
    with sandbox.db.tx() as conn:
        row = _own_certificate(conn, session.inn, serial)
        if row["revoked_at"]:
            raise ApiProblem(
                409, "certificate_revoked", f"{serial} was revoked at {row['revoked_at']}"
            )
        conn.execute(
            "UPDATE certificates SET revoked_at=?, revocation_reason=? WHERE serial=?",
            (iso_now(now), body.reason, row["serial"]),
        )
        row = _own_certificate(conn, session.inn, serial)
    sandbox.pki.invalidate_crl()
    return certificate_json(row, now)


def _requisites_drift(account: sqlite3.Row, cert: sqlite3.Row) -> list[str]:
    requisites = json.loads(account["requisites"])
    drift = []
    if requisites.get("legal_name") and requisites["legal_name"] != cert["org_name"]:
        drift.append("company name")
    if cert["key_kind"] == "cloud" or requisites.get("head_name") == cert["owner_name"]:
        if requisites.get("head_name") != cert["owner_name"]:
            drift.append("owner name")
        if requisites.get("head_position") != cert["position"]:
            drift.append("position")
    return drift


@router.post(
    "/certificates/renewal",
    status_code=201,
    response_model=RenewalOut,
    responses=problems(400, 401, 402, 403, 404, 409, 415, 422),
    tags=["pki"],
)
def renew_certificate(body: RenewalIn, session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """Renew: cloud keys automatically, token/file keys with a CSR (the simulated office visit)."""
    from sochi_cli.sandbox.seed import issue_certificate

    now = sandbox.now()
    with sandbox.db.read() as conn:
        row = _own_certificate(conn, session.inn, body.serial)
        account = conn.execute("SELECT * FROM accounts WHERE inn=?", (session.inn,)).fetchone()
    if row["revoked_at"]:
        raise ApiProblem(
            409, "certificate_revoked", f"{body.serial} is revoked; it cannot be renewed"
        )
    drift = _requisites_drift(account, row)
    if drift:
        raise ApiProblem(
            409,
            "requisites_changed",
            "requisites changed since the certificate was issued ("
            + ", ".join(drift)
            + "): renewal needs a visit to the office (clause 18.2)",
        )
    renewal_id = new_id("ren")
    public_key: Any = None
    if row["key_kind"] == "cloud":
        with sandbox.db.read() as conn:
            cred = conn.execute(
                "SELECT key_pem FROM credentials WHERE id=?", (row["credential_id"],)
            ).fetchone()
        public_key = serialization.load_pem_private_key(cred["key_pem"], None).public_key()
    elif body.csr:
        try:
            csr = x509.load_der_x509_csr(decode_b64(body.csr, "csr"))
            if not csr.is_signature_valid:
                raise ValueError("bad CSR signature")
        except ValueError:
            raise ApiProblem(
                422,
                "validation_failed",
                "csr is not a valid DER PKCS#10 request",
                errors=[{"path": "csr", "message": "not a valid PKCS#10 request"}],
            ) from None
        public_key = csr.public_key()
    if public_key is None:
        return {
            "id": renewal_id,
            "serial": row["serial"],
            "state": "office_visit_required",
            "certificate": None,
            "fee": RENEWAL_FEE,
        }
    old_after = parse_iso(row["not_after"])
    start = max(now, old_after - timedelta(days=30)) if old_after > now else now
    with sandbox.db.tx() as conn:
        sandbox.require_balance(conn, session.inn, RENEWAL_FEE)

        class _Key:  # issue_certificate wants something with public_key()
            def public_key(self) -> Any:
                return public_key

        cert = issue_certificate(
            sandbox,
            conn,
            _Key(),  # type: ignore[arg-type]
            inn=session.inn,
            owner_name=row["owner_name"],
            position=row["position"],
            org_name=row["org_name"],
            key_kind=row["key_kind"],
            credential_id=row["credential_id"],
            not_before=start,
            not_after=start + timedelta(days=365),
        )
        if row["credential_id"]:
            conn.execute(
                "UPDATE credentials SET serial=? WHERE id=?",
                (serial_hex(cert), row["credential_id"]),
            )
        sandbox.charge(
            conn,
            session.inn,
            "certificate_renewal",
            -RENEWAL_FEE,
            f"renewal of certificate {row['serial']}",
        )
        new_row = conn.execute(
            "SELECT * FROM certificates WHERE serial=?", (serial_hex(cert),)
        ).fetchone()
    return {
        "id": renewal_id,
        "serial": row["serial"],
        "state": "issued",
        "certificate": certificate_json(new_row, now),
        "fee": RENEWAL_FEE,
    }


def _abroad_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "state": row["state"],
        "inn": row["inn"],
        "ip": row["ip"],
        "country": row["country"],
        "city": row["city"],
        "from": row["date_from"],
        "to": row["date_to"],
        "email": row["email"],
        "created_at": row["created_at"],
        "decided_at": row["decided_at"],
    }


@router.post(
    "/access/abroad",
    status_code=201,
    response_model=AbroadOut,
    responses=problems(400, 404, 415, 422),
    tags=["access"],
)
def request_abroad(body: AbroadIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Ask for service from abroad (clauses 3.5–3.6); approved at once from the known e-mail."""
    if why := inn_problem(body.inn):
        raise ApiProblem(422, "invalid_inn", f"{body.inn!r}: {why}")
    errors = []
    try:
        address = ipaddress.ip_address(body.ip)
        if not address.is_global:
            errors.append({"path": "ip", "message": "must be a public static IP address"})
    except ValueError:
        errors.append({"path": "ip", "message": "not an IP address"})
    try:
        start, end = date.fromisoformat(body.from_), date.fromisoformat(body.to)
        if end < start:
            errors.append({"path": "to", "message": "is before from"})
        elif (end - start).days > 365:
            errors.append({"path": "to", "message": "the period is longer than 365 days"})
    except ValueError:
        errors.append({"path": "from", "message": "from/to must be real dates"})
    if errors:
        raise ApiProblem(422, "validation_failed", "the request is invalid", errors=errors)
    with sandbox.db.tx() as conn:
        account = conn.execute(
            "SELECT requisites FROM accounts WHERE inn=?", (body.inn,)
        ).fetchone()
        if account is None:
            raise ApiProblem(404, "account_unknown", f"no subscriber account for INN {body.inn}")
        registered = json.loads(account["requisites"]).get("email", "")
        if body.email.strip().lower() != registered.lower():
            raise ApiProblem(
                422,
                "email_not_registered",
                "the request must come from the account's registered e-mail (clause 3.6)",
            )
        now = iso_now(sandbox.now())
        request_id = new_id("abr")
        conn.execute(
            "INSERT INTO abroad (id, inn, ip, country, city, date_from, date_to, email, state,"
            " created_at, decided_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                request_id,
                body.inn,
                str(address),
                body.country.upper(),
                body.city,
                body.from_,
                body.to,
                body.email,
                "approved",
                now,
                now,
            ),
        )
        row = conn.execute("SELECT * FROM abroad WHERE id=?", (request_id,)).fetchone()
    return _abroad_json(row)


@router.get(
    "/access/abroad", response_model=AbroadListOut, responses=problems(401, 403), tags=["access"]
)
def list_abroad(session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """The account's abroad-access requests."""
    with sandbox.db.read() as conn:
        rows = conn.execute(
            "SELECT * FROM abroad WHERE inn=? ORDER BY seq", (session.inn,)
        ).fetchall()
    return {"items": [_abroad_json(r) for r in rows]}
