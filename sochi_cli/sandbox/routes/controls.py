"""`/sandbox/*`: test controls (clock, chaos, agency speed, limits, top-up, OTP outbox, reset)."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from sochi_cli.sandbox.deps import SandboxDep
from sochi_cli.sandbox.models import AccountOut, BalanceOut, InboxItemOut, NoticeOut, Out, Request
from sochi_cli.sandbox.pki import new_rsa_key, serial_hex
from sochi_cli.sandbox.problems import ApiProblem, problems
from sochi_cli.sandbox.seed import DEMO_PASSPHRASE
from sochi_cli.sandbox.util import inn_problem, iso_now, new_id, parse_iso

router = APIRouter(prefix="/sandbox", tags=["sandbox"])


class ClockIn(Request):
    now: str | None = Field(None, max_length=40)
    frozen: bool = False


class ClockOut(Out):
    now: str
    frozen: bool
    offset_seconds: float


class AdvanceIn(Request):
    seconds: float = Field(ge=-10 * 365 * 86400, le=10 * 365 * 86400)


class ChaosIn(Request):
    error_rate: float = Field(0.0, ge=0, le=1)
    latency_ms: int = Field(0, ge=0, le=60_000)
    drop_after_commit_rate: float = Field(0.0, ge=0, le=1)
    drop_mode: Literal["error", "close"] = "error"


class AgencyIn(Request):
    delivery_delay_seconds: float = Field(1.0, ge=0, le=86400)
    verdict_delay_seconds: float = Field(2.0, ge=0, le=86400)


class LimitsIn(Request):
    requests_per_second: float = Field(200.0, gt=0, le=1_000_000)
    burst: int = Field(400, ge=1, le=1_000_000)


class GeoIn(Request):
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    ip: str | None = Field(None, max_length=45)


class TopupIn(Request):
    inn: str = Field(max_length=20)
    amount: int = Field(gt=0, le=10**12)


class BalanceIn(Request):
    inn: str = Field(max_length=20)
    balance: int = Field(ge=0, le=10**12)


class WindowIn(Request):
    starts_at: str = Field(max_length=40)
    ends_at: str = Field(max_length=40)
    title: str = Field("Announced maintenance", min_length=1, max_length=300)


class NoticeIn(Request):
    kind: Literal["outage", "planned_works", "info"]
    title: str = Field(min_length=1, max_length=300)
    body: str = Field("", max_length=5000)
    starts_at: str | None = Field(None, max_length=40)
    ends_at: str | None = Field(None, max_length=40)


class InboxIn(Request):
    inn: str = Field(max_length=20)
    agency: Literal["STS", "SF", "NSC"]
    kind: Literal["notice", "request"] = "notice"
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field("", max_length=10_000)
    client_inn: str | None = Field(None, max_length=20)
    submission_id: str | None = Field(None, max_length=100)


class RegistrationIn(Request):
    inn: str = Field(max_length=20)
    state: Literal["pending", "active"]


class CertificateIn(Request):
    inn: str = Field(max_length=20)
    owner_name: str = Field(min_length=1, max_length=200)
    position: str = Field("Director", min_length=1, max_length=200)
    not_before: str | None = Field(None, max_length=40)
    not_after: str | None = Field(None, max_length=40)
    key_usage: list[Literal["digital_signature", "non_repudiation", "key_encipherment"]] | None = (
        None
    )
    passphrase: str = Field(DEMO_PASSPHRASE, max_length=100)


class CertificateIssued(Out):
    serial: str
    certificate: str
    pkcs12: str
    passphrase: str


class ResetIn(Request):
    seed: Literal["demo", "empty"] = "demo"
    bulk_clients: int | None = Field(None, ge=0, le=100_000)


def _instant(value: str, field: str) -> Any:
    try:
        moment = parse_iso(value)
    except ValueError:
        moment = None
    if moment is None or not 2000 <= moment.year <= 2099:
        raise ApiProblem(
            422,
            "validation_failed",
            f"{field} is not an ISO-8601 instant in 2000–2099",
            errors=[{"path": field, "message": "not an ISO-8601 instant in 2000–2099"}],
        )
    return moment


def _clock(sandbox: Any) -> dict[str, Any]:
    clock = sandbox.clock
    return {
        "now": iso_now(clock.now()),
        "frozen": clock.frozen,
        "offset_seconds": clock.offset_seconds,
    }


@router.get("/clock", response_model=ClockOut)
def get_clock(sandbox: SandboxDep) -> dict[str, Any]:
    """The server clock."""
    return _clock(sandbox)


@router.put("/clock", response_model=ClockOut, responses=problems(400, 415, 422))
def set_clock(body: ClockIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Jump the server clock (`now: null` = real time); `frozen` stops it."""
    moment = _instant(body.now, "now") if body.now else None
    sandbox.clock.set(moment, frozen=body.frozen and moment is not None)
    sandbox.tick(force=True)
    return _clock(sandbox)


@router.post("/clock/advance", response_model=ClockOut, responses=problems(400, 415, 422))
def advance_clock(body: AdvanceIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Move the server clock by `seconds`."""
    target = sandbox.clock.now() + timedelta(seconds=body.seconds)
    if not 2000 <= target.year <= 2099:
        raise ApiProblem(
            422,
            "validation_failed",
            "the clock must stay within 2000–2099",
            errors=[{"path": "seconds", "message": "moves the clock out of 2000–2099"}],
        )
    sandbox.clock.advance(body.seconds)
    sandbox.tick(force=True)
    return _clock(sandbox)


def _update(settings: object, body: BaseModel) -> dict[str, Any]:
    """Copy a validated control body onto the live settings object; return the new values."""
    for key, value in body.model_dump().items():
        setattr(settings, key, value)
    return vars(settings)


@router.get("/chaos", response_model=ChaosIn)
def get_chaos(sandbox: SandboxDep) -> dict[str, Any]:
    """Current chaos settings."""
    return vars(sandbox.settings.chaos)


@router.put("/chaos", response_model=ChaosIn, responses=problems(400, 415, 422))
def set_chaos(body: ChaosIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Error rate, added latency, drop-after-commit rate and mode."""
    return _update(sandbox.settings.chaos, body)


@router.get("/agency", response_model=AgencyIn)
def get_agency(sandbox: SandboxDep) -> dict[str, Any]:
    """How fast reports are delivered and decided."""
    return vars(sandbox.settings.agency)


@router.put("/agency", response_model=AgencyIn, responses=problems(400, 415, 422))
def set_agency(body: AgencyIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Set the delivery and verdict delays (seconds of server clock)."""
    return _update(sandbox.settings.agency, body)


@router.get("/limits", response_model=LimitsIn)
def get_limits(sandbox: SandboxDep) -> dict[str, Any]:
    """Rate limit per bearer token (or client IP)."""
    return vars(sandbox.settings.limits)


@router.put("/limits", response_model=LimitsIn, responses=problems(400, 415, 422))
def set_limits(body: LimitsIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Set the rate limit."""
    return _update(sandbox.settings.limits, body)


@router.get("/geo", response_model=GeoIn)
def get_geo(sandbox: SandboxDep) -> dict[str, Any]:
    """Where requests without the X-Sandbox-Client-* headers come from."""
    return vars(sandbox.settings.geo)


@router.put("/geo", response_model=GeoIn, responses=problems(400, 415, 422))
def set_geo(body: GeoIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Pretend every request comes from `country` (alpha-2; null or KG = Kyrgyzstan) and `ip`."""
    if body.ip is not None:
        import ipaddress

        try:
            ipaddress.ip_address(body.ip)
        except ValueError:
            raise ApiProblem(
                422,
                "validation_failed",
                "ip is not an IP address",
                errors=[{"path": "ip", "message": "not an IP address"}],
            ) from None
    if body.country is not None:
        body.country = body.country.upper()
    return _update(sandbox.settings.geo, body)


@router.post("/topup", response_model=BalanceOut, responses=problems(400, 404, 415, 422))
def topup(body: TopupIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Credit an account (the bank transfer of clause 5)."""
    with sandbox.db.tx() as conn:
        if conn.execute("SELECT 1 FROM accounts WHERE inn=?", (body.inn,)).fetchone() is None:
            raise ApiProblem(404, "account_unknown", f"no account {body.inn}")
        balance = sandbox.charge(conn, body.inn, "topup", body.amount, "top-up")
    return {
        "balance": balance,
        "currency": "KGS",
        "status": "active" if balance > 0 else "suspended",
        "as_of": iso_now(sandbox.now()),
    }


@router.put("/balance", response_model=BalanceOut, responses=problems(400, 404, 415, 422))
def set_balance(body: BalanceIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Set an account's balance exactly (recorded as a top-up or a debit)."""
    with sandbox.db.tx() as conn:
        row = conn.execute("SELECT balance FROM accounts WHERE inn=?", (body.inn,)).fetchone()
        if row is None:
            raise ApiProblem(404, "account_unknown", f"no account {body.inn}")
        balance = sandbox.charge(
            conn, body.inn, "topup", body.balance - int(row["balance"]), "sandbox balance set"
        )
    return {
        "balance": balance,
        "currency": "KGS",
        "status": "active" if balance > 0 else "suspended",
        "as_of": iso_now(sandbox.now()),
    }


@router.post("/maintenance", status_code=201, responses=problems(400, 415, 422))
def announce_window(body: WindowIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Announce a maintenance window (and its planned-works notice)."""
    start, end = _instant(body.starts_at, "starts_at"), _instant(body.ends_at, "ends_at")
    if end <= start:
        raise ApiProblem(
            422,
            "validation_failed",
            "ends_at must be after starts_at",
            errors=[{"path": "ends_at", "message": "not after starts_at"}],
        )
    with sandbox.db.tx() as conn:
        conn.execute(
            "INSERT INTO windows (starts_at, ends_at, title) VALUES (?,?,?)",
            (iso_now(start), iso_now(end), body.title),
        )
        conn.execute(
            "INSERT INTO notices (id, kind, title, body, published_at, starts_at, ends_at)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                new_id("ntc"),
                "planned_works",
                body.title,
                "The system will be unavailable.",
                iso_now(sandbox.now()),
                iso_now(start),
                iso_now(end),
            ),
        )
    sandbox.forget_windows()
    return {
        "starts_at": iso_now(start),
        "ends_at": iso_now(end),
        "kind": "announced",
        "title": body.title,
    }


@router.post(
    "/notices", status_code=201, response_model=NoticeOut, responses=problems(400, 415, 422)
)
def add_notice(body: NoticeIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Publish an operator notice (outage, planned works, info)."""
    starts = iso_now(_instant(body.starts_at, "starts_at")) if body.starts_at else None
    ends = iso_now(_instant(body.ends_at, "ends_at")) if body.ends_at else None
    notice = {
        "id": new_id("ntc"),
        "kind": body.kind,
        "title": body.title,
        "body": body.body,
        "published_at": iso_now(sandbox.now()),
        "starts_at": starts,
        "ends_at": ends,
    }
    with sandbox.db.tx() as conn:
        conn.execute(
            "INSERT INTO notices (id, kind, title, body, published_at, starts_at, ends_at)"
            " VALUES (:id,:kind,:title,:body,:published_at,:starts_at,:ends_at)",
            notice,
        )
    return notice


@router.post(
    "/inbox", status_code=201, response_model=InboxItemOut, responses=problems(400, 404, 415, 422)
)
def add_inbox(body: InboxIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Deliver an agency document to an account's inbox."""
    from sochi_cli.sandbox.routes.feed import inbox_json

    with sandbox.db.tx() as conn:
        if conn.execute("SELECT 1 FROM accounts WHERE inn=?", (body.inn,)).fetchone() is None:
            raise ApiProblem(404, "account_unknown", f"no account {body.inn}")
        item_id = sandbox.add_inbox_item(
            conn,
            inn=body.inn,
            agency=body.agency,
            kind=body.kind,
            subject=body.subject,
            body=body.body,
            client_inn=body.client_inn,
            submission_id=body.submission_id,
        )
        row = conn.execute("SELECT * FROM inbox WHERE id=?", (item_id,)).fetchone()
    return inbox_json(row)


@router.post("/registration", response_model=AccountOut, responses=problems(400, 404, 415, 422))
def set_registration(body: RegistrationIn, sandbox: SandboxDep) -> dict[str, Any]:
    """Complete (or reopen) an account's registration."""
    from sochi_cli.sandbox.routes.account import account_json

    with sandbox.db.tx() as conn:
        if conn.execute("SELECT 1 FROM accounts WHERE inn=?", (body.inn,)).fetchone() is None:
            raise ApiProblem(404, "account_unknown", f"no account {body.inn}")
        conn.execute(
            "UPDATE accounts SET reg_state=?, activated_at=? WHERE inn=?",
            (body.state, iso_now(sandbox.now()) if body.state == "active" else None, body.inn),
        )
        row = conn.execute("SELECT * FROM accounts WHERE inn=?", (body.inn,)).fetchone()
    return account_json(row)


@router.get("/otp", responses=problems(422))
def read_otp(
    sandbox: SandboxDep, credential: Annotated[str, Query(max_length=100)]
) -> dict[str, Any]:
    """The SMS outbox of one credential: one-time codes sent, newest last."""
    with sandbox.db.read() as conn:
        rows = conn.execute(
            "SELECT credential_id, otp, sent_at FROM otps WHERE credential_id=? ORDER BY seq",
            (credential,),
        ).fetchall()
    return {
        "messages": [
            {"credentialID": r["credential_id"], "otp": r["otp"], "sent_at": r["sent_at"]}
            for r in rows
        ]
    }


@router.post(
    "/certificates",
    status_code=201,
    response_model=CertificateIssued,
    responses=problems(400, 404, 415, 422),
)
def issue_test_certificate(body: CertificateIn, sandbox: SandboxDep) -> dict[str, Any]:
    """A new key + certificate for an account (for tests: any validity, any key usage)."""
    from sochi_cli.sandbox.seed import issue_certificate, pkcs12_bytes

    if why := inn_problem(body.inn):
        raise ApiProblem(422, "invalid_inn", f"{body.inn!r}: {why}")
    usage = set(
        body.key_usage if body.key_usage is not None else ["digital_signature", "non_repudiation"]
    )
    now = sandbox.now()
    not_before = (
        _instant(body.not_before, "not_before") if body.not_before else now - timedelta(days=1)
    )
    not_after = (
        _instant(body.not_after, "not_after")
        if body.not_after
        else not_before + timedelta(days=365)
    )
    if not_after <= not_before:
        raise ApiProblem(
            422,
            "validation_failed",
            "not_after must be after not_before",
            errors=[{"path": "not_after", "message": "not after not_before"}],
        )
    key = new_rsa_key()
    with sandbox.db.tx() as conn:
        account = conn.execute("SELECT name FROM accounts WHERE inn=?", (body.inn,)).fetchone()
        if account is None:
            raise ApiProblem(404, "account_unknown", f"no account {body.inn}")
        cert = issue_certificate(
            sandbox,
            conn,
            key,
            inn=body.inn,
            owner_name=body.owner_name,
            position=body.position,
            org_name=account["name"],
            key_kind="file",
            not_before=not_before,
            not_after=not_after,
            digital_signature="digital_signature" in usage,
            non_repudiation="non_repudiation" in usage,
        )
    from cryptography.hazmat.primitives import serialization

    return {
        "serial": serial_hex(cert),
        "certificate": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(),
        "pkcs12": base64.b64encode(pkcs12_bytes(sandbox, key, cert, body.passphrase)).decode(),
        "passphrase": body.passphrase,
    }


@router.get("/demo")
def get_demo(sandbox: SandboxDep) -> dict[str, Any]:
    """The demo seed's facts (INNs, key files, passphrase, credential and PIN)."""
    from sochi_cli.sandbox.seed import demo_facts

    facts = demo_facts(sandbox.data_dir)
    if facts is None:
        raise ApiProblem(404, "not_found", "the demo seed was not loaded (POST /sandbox/reset)")
    return facts


@router.post("/reset", responses=problems(400, 415, 422))
def reset(sandbox: SandboxDep, body: ResetIn | None = None) -> dict[str, Any]:
    """Wipe the database (the PKI stays) and seed it again."""
    from sochi_cli.sandbox.seed import DEFAULT_BULK_CLIENTS, seed_demo

    body = body or ResetIn(seed="demo", bulk_clients=None)
    sandbox.db.wipe()
    sandbox.forget_windows()
    sandbox.pki.invalidate_crl()
    if body.seed == "demo":
        seed_demo(
            sandbox,
            bulk_clients=DEFAULT_BULK_CLIENTS if body.bulk_clients is None else body.bulk_clients,
        )
    return {"seed": body.seed}
