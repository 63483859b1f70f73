"""The sandbox's shared state and core rules: storage, PKI, clock, settings, charges, events,
receipts, signature checks and the agency's asynchronous verdicts."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from sochi_cli.sandbox.catalogue import FORMS_BY_CODE
from sochi_cli.sandbox.clock import SandboxClock
from sochi_cli.sandbox.db import Database
from sochi_cli.sandbox.maintenance import Window
from sochi_cli.sandbox.pki import AGENCIES, OPERATOR_INN, OPERATOR_NAME, Pki, serial_hex
from sochi_cli.sandbox.problems import ApiProblem
from sochi_cli.sandbox.reports import totals_errors
from sochi_cli.sandbox.util import canonical_json, iso_now, new_id, parse_iso
from sochi_cli.store.files import make_private_dirs
from sochi_cli.timeutil import BISHKEK

ACCESS_TTL = 900
REFRESH_TTL = 30 * 86400
FUTURE_SKEW = 300


@dataclass
class ChaosSettings:
    error_rate: float = 0.0
    latency_ms: int = 0
    drop_after_commit_rate: float = 0.0
    drop_mode: str = "error"


@dataclass
class AgencySettings:
    delivery_delay_seconds: float = 1.0
    verdict_delay_seconds: float = 2.0


@dataclass
class LimitSettings:
    requests_per_second: float = 200.0
    burst: int = 400


@dataclass
class GeoSettings:
    """Where requests without the X-Sandbox-Client-* headers come from (None = Kyrgyzstan)."""

    country: str | None = None
    ip: str | None = None


@dataclass
class Session:
    inn: str
    serial: str
    access_token: str


@dataclass
class Settings:
    chaos: ChaosSettings = field(default_factory=ChaosSettings)
    agency: AgencySettings = field(default_factory=AgencySettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    geo: GeoSettings = field(default_factory=GeoSettings)
    long_poll_cap_seconds: float = 60.0  # tests lower it; not part of the API


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Sandbox:
    """Everything a request handler needs; one per app."""

    def __init__(self, data_dir: Path, clock: SandboxClock | None = None) -> None:
        self.data_dir = data_dir
        make_private_dirs(data_dir)  # client data, keys: owner-only, like sochi's own
        self.clock = clock or SandboxClock()
        self.db = Database(data_dir / "sandbox.db")
        self.pki = Pki(data_dir / "pki")
        self.settings = Settings()
        self._tick_lock = threading.Lock()
        self._last_tick = 0.0
        self._windows: list[Window] | None = None
        # set when the server begins to stop: long polls answer at once instead of holding
        # the graceful shutdown (sochi_cli/sandbox/server.py)
        self.stopping = threading.Event()

    # ---- time ------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> Any:
        return self.now().astimezone(BISHKEK).date()

    # ---- maintenance windows ---------------------------------------------------------
    def announced_windows(self) -> list[Window]:
        if self._windows is None:
            with self.db.read() as conn:
                rows = conn.execute("SELECT starts_at, ends_at, title FROM windows").fetchall()
            self._windows = [
                Window(parse_iso(r["starts_at"]), parse_iso(r["ends_at"]), "announced", r["title"])
                for r in rows
            ]
        return self._windows

    def forget_windows(self) -> None:
        self._windows = None

    # ---- sessions --------------------------------------------------------------------
    def session_for(self, authorization: str | None) -> Session:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ApiProblem(
                401,
                "unauthorized",
                "send Authorization: Bearer <access_token>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        token = authorization[7:].strip()
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT inn, serial, access_expires_ts, revoked FROM sessions WHERE access_token=?",
                (token,),
            ).fetchone()
        if row is None or row["revoked"]:
            raise ApiProblem(
                401,
                "unauthorized",
                "unknown or ended session; log in again",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if row["access_expires_ts"] <= self.now().timestamp():
            raise ApiProblem(
                401,
                "token_expired",
                "the access token expired; use the refresh token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return Session(row["inn"], row["serial"], token)

    def check_geo(self, country: str | None, ip: str | None, inn: str) -> None:
        """Clauses 3.5–3.6: abroad only with an approved request for this INN and IP."""
        if not country or country.upper() == "KG":
            return
        today = self.today().isoformat()
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT 1 FROM abroad WHERE inn=? AND ip=? AND state='approved' "
                "AND date_from<=? AND date_to>=?",
                (inn, ip or "", today, today),
            ).fetchone()
        if row is None:
            raise ApiProblem(
                403,
                "geo_blocked",
                f"requests from abroad ({country.upper()}, IP {ip}) need an approved "
                "abroad-access request for this INN and IP (POST /access/abroad)",
                country=country.upper(),
                ip=ip,
            )

    # ---- money -----------------------------------------------------------------------
    def charge(
        self,
        conn: sqlite3.Connection,
        inn: str,
        kind: str,
        amount: int,
        description: str,
        submission_id: str | None = None,
    ) -> int:
        """Apply `amount` (negative = debit) to the balance and record it; returns the balance."""
        row = conn.execute("SELECT balance FROM accounts WHERE inn=?", (inn,)).fetchone()
        balance = int(row["balance"]) + amount
        conn.execute("UPDATE accounts SET balance=? WHERE inn=?", (balance, inn))
        conn.execute(
            "INSERT INTO charges (id, account_inn, at, kind, amount, balance_after, submission_id,"
            " description) VALUES (?,?,?,?,?,?,?,?)",
            (
                new_id("chg"),
                inn,
                iso_now(self.now()),
                kind,
                amount,
                balance,
                submission_id,
                description,
            ),
        )
        return balance

    def require_balance(self, conn: sqlite3.Connection, inn: str, required: int) -> None:
        balance = int(
            conn.execute("SELECT balance FROM accounts WHERE inn=?", (inn,)).fetchone()["balance"]
        )
        if balance <= 0 or balance < required:
            raise ApiProblem(
                402,
                "balance_exhausted",
                f"the balance ({balance} tyiyn) does not cover {required} tyiyn; top up first",
                balance=balance,
                required=required,
            )

    # ---- events & receipts -----------------------------------------------------------
    def add_event(
        self,
        conn: sqlite3.Connection,
        inn: str,
        type_: str,
        *,
        submission_id: str | None = None,
        inbox_id: str | None = None,
        status: str | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO events (account_inn, type, at, submission_id, inbox_id, status)"
            " VALUES (?,?,?,?,?,?)",
            (inn, type_, iso_now(self.now()), submission_id, inbox_id, status),
        )

    def issue_receipt(
        self,
        conn: sqlite3.Connection,
        *,
        kind: str,
        issuer: str,
        inn: str,
        document: dict[str, Any],
        receipt_id: str | None = None,
        submission_id: str | None = None,
        inbox_id: str | None = None,
    ) -> str:
        now = self.now()
        receipt_id = receipt_id or new_id("rcp")
        data = canonical_json({**document, "receipt_id": receipt_id})
        signature = self.pki.sign(issuer, data, now)
        conn.execute(
            "INSERT INTO receipts (id, kind, account_inn, submission_id, inbox_id, issuer,"
            " issued_at, document, signature) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                receipt_id,
                kind,
                inn,
                submission_id,
                inbox_id,
                "operator" if issuer == "operator" else "agency",
                iso_now(now),
                data,
                signature,
            ),
        )
        return receipt_id

    def add_inbox_item(
        self,
        conn: sqlite3.Connection,
        *,
        inn: str,
        agency: str,
        kind: str,
        subject: str,
        body: str,
        submission_id: str | None = None,
        client_inn: str | None = None,
    ) -> str:
        item_id = new_id("inb")
        now = iso_now(self.now())
        document = canonical_json(
            {
                "type": "agency_document",
                "id": item_id,
                "recipient_inn": inn,
                "agency": {"code": agency, "name": AGENCIES[agency]},
                "kind": kind,
                "subject": subject,
                "body": body,
                "received_at": now,
                "submission_id": submission_id,
                "client_inn": client_inn,
            }
        )
        signature = self.pki.sign(agency, document, self.now())
        conn.execute(
            "INSERT INTO inbox (id, account_inn, agency, kind, subject, body, received_at,"
            " submission_id, document, signature, client_inn) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                item_id,
                inn,
                agency,
                kind,
                subject,
                body,
                now,
                submission_id,
                document,
                signature,
                client_inn,
            ),
        )
        self.add_event(conn, inn, "inbox.received", inbox_id=item_id)
        return item_id

    # ---- signatures ------------------------------------------------------------------
    def verify_signature(
        self,
        der: bytes,
        content: bytes,
        *,
        inn: str | None = None,
        certificate: x509.Certificate | None = None,
        status: int = 422,
        part: str | None = None,
    ) -> tuple[x509.Certificate, datetime]:
        """Clause 1.4/8.2 checks of a detached CMS signature; returns (signer cert, signing time).

        `inn` (the session's account) and `certificate` restrict who may be the signer.
        """
        from sochi_cli.cms import verify_detached
        from sochi_cli.errors import SignatureError

        extra: dict[str, Any] = {"part": part} if part else {}

        def bad(reason: str, detail: str) -> ApiProblem:
            where = f"{part}: " if part else ""
            return ApiProblem(status, "signature_invalid", where + detail, reason=reason, **extra)

        try:
            parsed = verify_detached(der, content)
        except SignatureError as exc:
            if exc.code == "signature_malformed":
                reason = "malformed"
            elif exc.code == "signature_invalid" and "messageDigest" in exc.message:
                reason = "digest_mismatch"
            else:
                reason = "bad_signature"
            raise bad(reason, exc.message) from None
        cert = parsed.signer_certificate
        if cert is None:
            raise bad("malformed", "the signature does not embed the signer's certificate")
        if certificate is not None and cert != certificate:
            raise bad("certificate_mismatch", "the CMS signer is not the certificate given")
        if not self.pki.issued_by_operator(cert):
            raise bad("untrusted_chain", "the certificate does not chain to the sandbox Main CA")
        signing_time = parsed.signing_time
        if signing_time is None:
            raise bad("signing_time_missing", "the signature has no signingTime attribute")
        if signing_time > self.now() + timedelta(seconds=FUTURE_SKEW):
            raise bad("signing_time_in_future", "signingTime is ahead of the server clock")
        if signing_time < cert.not_valid_before_utc:
            raise bad("not_yet_valid", "the certificate was not yet valid at signing time")
        if signing_time > cert.not_valid_after_utc:
            raise bad("expired", "the certificate had expired at signing time")
        try:
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
            usable = usage.digital_signature or usage.content_commitment
        except x509.ExtensionNotFound:
            usable = False
        if not usable:
            raise bad("wrong_key_usage", "the certificate does not allow signing")
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT inn, revoked_at FROM certificates WHERE serial=?", (serial_hex(cert),)
            ).fetchone()
        if row is None:
            raise bad("untrusted_chain", "the certificate is not registered with the operator")
        if row["revoked_at"] and parse_iso(row["revoked_at"]) <= signing_time:
            raise bad("revoked", f"the certificate was revoked at {row['revoked_at']}")
        if inn is not None and row["inn"] != inn:
            raise bad("certificate_mismatch", "the signer is not the logged-in subscriber")
        return cert, signing_time

    # ---- asynchronous work -----------------------------------------------------------
    def tick(self, *, force: bool = False) -> None:
        """Advance due submissions and month-end subscriptions (cheap when nothing is due).

        Submissions are advanced on every call, waiting for a concurrent tick to finish, so a
        read that follows a due moment always sees the new state (one indexed SELECT when
        nothing is due). Billing and registrations run at most every 50 ms.
        """
        with self._tick_lock:
            self._advance_submissions()
            real = time.monotonic()
            if force or real - self._last_tick >= 0.05:
                self._last_tick = real
                self._bill_subscriptions()
                self._complete_registrations()

    def _advance_submissions(self) -> None:
        for _ in range(4):  # zero delays: received → delivered → decided in one tick
            if not self._advance_once():
                return

    def _advance_once(self) -> bool:
        now = self.now()
        with self.db.read() as conn:
            due = conn.execute(
                "SELECT id FROM submissions WHERE due_ts IS NOT NULL AND due_ts<=? "
                "ORDER BY due_ts LIMIT 500",
                (now.timestamp(),),
            ).fetchall()
        for (sub_id,) in due:
            with self.db.tx() as conn:
                row = conn.execute("SELECT * FROM submissions WHERE id=?", (sub_id,)).fetchone()
                if row is None or row["due_ts"] is None:
                    continue
                if row["status"] == "received":
                    due_ts = now.timestamp() + self.settings.agency.verdict_delay_seconds
                    conn.execute(
                        "UPDATE submissions SET status='delivered', delivered_at=?, due_ts=? "
                        "WHERE id=?",
                        (iso_now(now), due_ts, sub_id),
                    )
                    self.add_event(
                        conn,
                        row["account_inn"],
                        "submission.delivered",
                        submission_id=sub_id,
                        status="delivered",
                    )
                elif row["status"] == "delivered":
                    self._decide(conn, row, now)
        return bool(due)

    def _decide(self, conn: sqlite3.Connection, row: sqlite3.Row, now: datetime) -> None:
        from sochi_cli.sandbox.taxpayers import (
            cross_check_errors,
            load_taxpayer,
            registration_problem,
        )

        form = FORMS_BY_CODE[row["form"]]
        values = json.loads(row["values_json"])
        errors = totals_errors(form, values)
        why = registration_problem(load_taxpayer(conn, row["client_inn"]), form, row["period"])
        if why:
            errors.append({"path": "header/inn", "message": why})
        errors += cross_check_errors(conn, row, form, values)
        verdict = "rejected" if errors else "accepted"
        agency = form["agency"]
        receipt_id = self.issue_receipt(
            conn,
            kind="protocol",
            issuer=agency,
            inn=row["account_inn"],
            submission_id=row["id"],
            document={
                "type": "agency_protocol",
                "submission_id": row["id"],
                "verdict": verdict,
                "errors": errors,
                "decided_at": iso_now(now),
                "agency": {"code": agency, "name": AGENCIES[agency]},
                "client_inn": row["client_inn"],
                "form": row["form"],
                "period": row["period"],
            },
        )
        protocol = {"verdict": verdict, "errors": errors, "receipt_id": receipt_id}
        conn.execute(
            "UPDATE submissions SET status=?, decided_at=?, due_ts=NULL, protocol=? WHERE id=?",
            (verdict, iso_now(now), json.dumps(protocol), row["id"]),
        )
        self.add_event(
            conn,
            row["account_inn"],
            f"submission.{verdict}",
            submission_id=row["id"],
            status=verdict,
        )
        if errors:
            reasons = "; ".join(f"{e['path']}: {e['message']}" for e in errors)
            self.add_inbox_item(
                conn,
                inn=row["account_inn"],
                agency=agency,
                kind="notice",
                subject=f"{row['form']} {row['period']} for {row['client_inn']} rejected",
                body=f"The report {row['id']} was rejected: {reasons}.",
                submission_id=row["id"],
                client_inn=row["client_inn"],
            )

    def _bill_subscriptions(self) -> None:
        month = self.now().astimezone(BISHKEK).strftime("%Y-%m")
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT inn, billed_month FROM accounts WHERE ecloud_subscribed=1 "
                "AND billed_month < ?",
                (_previous_month(month),),
            ).fetchall()
        for row in rows:
            with self.db.tx() as conn:
                acc = conn.execute(
                    "SELECT balance, monthly_fee, billed_month FROM accounts WHERE inn=?",
                    (row["inn"],),
                ).fetchone()
                billed = acc["billed_month"]
                target = _previous_month(month)
                while billed < target:
                    billed = _next_month(billed)
                    amount = min(int(acc["monthly_fee"]), max(int(acc["balance"]), 0))
                    if amount > 0:
                        self.charge(
                            conn,
                            row["inn"],
                            "ecloud_subscription",
                            -amount,
                            f"E-Cloud subscription for {billed}",
                        )
                    acc = conn.execute(
                        "SELECT balance, monthly_fee, billed_month FROM accounts WHERE inn=?",
                        (row["inn"],),
                    ).fetchone()
                conn.execute("UPDATE accounts SET billed_month=? WHERE inn=?", (billed, row["inn"]))

    def _complete_registrations(self) -> None:
        """Clause 3.3: 24 h after an office visit, 7 working days after a remote request."""
        now = self.now()
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT inn, reg_channel, requested_at FROM accounts WHERE reg_state='pending'"
            ).fetchall()
        for row in rows:
            if registration_due(parse_iso(row["requested_at"]), row["reg_channel"]) <= now:
                with self.db.tx() as conn:
                    conn.execute(
                        "UPDATE accounts SET reg_state='active', activated_at=? "
                        "WHERE inn=? AND reg_state='pending'",
                        (iso_now(now), row["inn"]),
                    )

    # ---- helpers for handlers --------------------------------------------------------
    def receipt_json(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "kind": row["kind"],
            "submission_id": row["submission_id"],
            "inbox_id": row["inbox_id"],
            "issuer": row["issuer"],
            "issued_at": row["issued_at"],
            "document": b64(row["document"]),
            "document_media_type": "application/json",
            "signature": b64(row["signature"]),
        }

    def operator_identity(self) -> dict[str, str]:
        return {"name": OPERATOR_NAME, "inn": OPERATOR_INN}

    def close(self) -> None:
        self.db.close()


def registration_due(requested: datetime, channel: str) -> datetime:
    """When a registration completes: +24 h (office) or +7 working days (remote, Mon–Fri)."""
    if channel == "office":
        return requested + timedelta(hours=24)
    moment, left = requested, 7
    while left:
        moment += timedelta(days=1)
        if moment.astimezone(BISHKEK).weekday() < 5:
            left -= 1
    return moment


def _previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + 1}-01" if mon == 12 else f"{year}-{mon + 1:02d}"


def month_of(moment: datetime) -> str:
    return moment.astimezone(BISHKEK).strftime("%Y-%m")


__all__ = [
    "AgencySettings",
    "ChaosSettings",
    "LimitSettings",
    "Sandbox",
    "Session",
    "b64",
    "month_of",
]
