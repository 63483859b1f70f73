"""Tamper-evident audit log (clause 6.5): a SHA-256 hash chain over every action, in the journal.

Record hash = SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
`{seq, at, actor, action, details, prev_hash}`; the first record's prev_hash is 64 zeros.
Editing, deleting or reordering a record breaks the chain at that record; truncating the
tail is caught by the head (seq, hash) kept beside the chain, and `verify` prints the head
hash so it can be anchored elsewhere (a ticket, an e-mail) for stronger evidence.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sochi_cli.store.journal import Journal
from sochi_cli.timeutil import iso_z, utcnow

if TYPE_CHECKING:
    from cryptography import x509

GENESIS = "0" * 64
_HEAD_KEY = "audit.head"


@dataclass(frozen=True)
class Actor:
    """Who acted: the subscriber and the certificate used (None for local-only actions)."""

    inn: str | None = None
    certificate_serial: str | None = None
    subject: str | None = None

    @classmethod
    def from_certificate(cls, certificate: x509.Certificate, inn: str | None = None) -> Actor:
        """The signer's certificate: serial (hex) and subject (RFC 4514)."""
        return cls(
            inn=inn,
            certificate_serial=format(certificate.serial_number, "x"),
            subject=certificate.subject.rfc4514_string(),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "inn": self.inn,
            "certificate_serial": self.certificate_serial,
            "subject": self.subject,
        }
        if not any(data.values()):
            data["local_user"] = _local_user()
        return data


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: str
    actor: dict[str, Any]
    action: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    records: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "head_hash": self.head_hash,
            "broken_seq": self.broken_seq,
            "reason": self.reason,
        }


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(seq: int, at: str, actor: Any, action: str, details: Any, prev_hash: str) -> str:
    body = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _scrub(value: Any) -> Any:
    """Redact every string (secrets never reach the log), keep structure and JSON types."""
    from sochi_cli.logs import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


class AuditLog:
    """The audit chain of one profile's journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def append(
        self,
        action: str,
        details: Mapping[str, Any] | None = None,
        *,
        actor: Actor | None = None,
    ) -> AuditRecord:
        """Append one record (one transaction); details are redacted defensively."""
        actor_json = (actor or Actor()).to_json()
        clean = _scrub(dict(details or {}))
        # whole seconds, as every JSON instant: the hash covers exactly what `--json` shows
        at = iso_z(utcnow())
        with self.journal.transaction() as db:
            last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq = int(last["seq"]) + 1 if last else 1
            prev = str(last["hash"]) if last else GENESIS
            digest = record_hash(seq, at, actor_json, action, clean, prev)
            db.execute(
                "INSERT INTO audit (seq, at, actor, action, details, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, at, canonical_json(actor_json), action, canonical_json(clean), prev, digest),
            )
            db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (_HEAD_KEY, f"{seq}:{digest}"),
            )
        return AuditRecord(seq, at, actor_json, action, clean, prev, digest)

    def records(
        self, *, since: datetime | None = None, action: str | None = None
    ) -> list[AuditRecord]:
        sql, params = "SELECT * FROM audit WHERE 1 = 1", []
        if since is not None:
            sql += " AND at >= ?"
            params.append(since.isoformat(timespec="microseconds").replace("+00:00", "Z"))
        if action:
            sql += " AND (action = ? OR action LIKE ?)"
            params.extend([action, f"{action}.%"])
        rows = self.journal.query(sql + " ORDER BY seq", params)
        return [
            AuditRecord(
                seq=int(r["seq"]),
                at=r["at"],
                actor=json.loads(r["actor"]),
                action=r["action"],
                details=json.loads(r["details"]),
                prev_hash=r["prev_hash"],
                hash=r["hash"],
            )
            for r in rows
        ]

    def verify(self) -> AuditVerification:
        """Walk the chain from the first record; name the first one that does not fit."""
        rows = self.journal.query("SELECT * FROM audit ORDER BY seq")
        prev, expected_seq = GENESIS, 1
        for row in rows:
            seq = int(row["seq"])
            if seq != expected_seq:
                return self._broken(
                    len(rows), prev, expected_seq, f"record {expected_seq} is missing"
                )
            if row["prev_hash"] != prev:
                return self._broken(
                    len(rows), prev, seq, "its prev_hash does not match the previous record"
                )
            try:
                actor, details = json.loads(row["actor"]), json.loads(row["details"])
            except ValueError:
                return self._broken(len(rows), prev, seq, "its actor/details are not JSON")
            digest = record_hash(seq, row["at"], actor, row["action"], details, prev)
            if digest != row["hash"]:
                return self._broken(len(rows), prev, seq, "its content does not match its hash")
            prev, expected_seq = digest, seq + 1
        head = self.journal.get_value(_HEAD_KEY)
        if head is not None and head != f"{expected_seq - 1}:{prev}":
            return self._broken(
                len(rows), prev, expected_seq, f"the chain ends before the recorded head ({head})"
            )
        return AuditVerification(ok=True, records=len(rows), head_hash=prev)

    @staticmethod
    def _broken(count: int, head: str, seq: int, reason: str) -> AuditVerification:
        return AuditVerification(
            ok=False, records=count, head_hash=head, broken_seq=seq, reason=reason
        )


__all__ = ["GENESIS", "Actor", "AuditLog", "AuditRecord", "AuditVerification", "record_hash"]
