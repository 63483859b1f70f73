"""Tamper-evident audit log (clause 6.5): a SHA-256 hash chain over every action, in the journal.

Record hash = SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
`{seq, at, actor, action, details, prev_hash}`; the first record's prev_hash is 64 zeros.
Editing, deleting or reordering a record breaks the chain at that record. Cutting off the
tail (or replacing the whole journal) is caught by anchors kept outside the chain: the head
file `audit-head.json` beside the journal, rewritten after every commit that appended, and
any head (`SEQ:HASH`, from `sochi audit head`) the user stored elsewhere and passes to
`verify`. An anchor holds when the chain has that record with that hash: records appended
since are fine, a chain that ends before it or differs at it is not.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import UsageError
from sochi_cli.names import name_text
from sochi_cli.store.files import make_private_dirs, printable
from sochi_cli.store.journal import Journal
from sochi_cli.timeutil import iso_z, utcnow

if TYPE_CHECKING:
    from cryptography import x509

GENESIS = "0" * 64
HEAD_FILE = "audit-head.json"
_HEAD_KEY = "audit.head"
_ANCHOR = re.compile(r"(?:(\d+):)?([0-9a-f]{64})")


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
            subject=name_text(certificate.subject),
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
class Head:
    """A point of the chain: record `seq` has hash `hash` (seq 0 = the empty chain)."""

    seq: int
    hash: str
    at: str | None = None

    @property
    def anchor(self) -> str:
        """`SEQ:HASH`, what `sochi audit head` prints and `verify --head` takes."""
        return f"{self.seq}:{self.hash}"

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "at": self.at, "anchor": self.anchor}


def parse_anchor(text: str) -> tuple[int | None, str]:
    """`SEQ:HASH` or a bare `HASH` (64 lowercase hex) → (seq or None, hash)."""
    match = _ANCHOR.fullmatch(text.strip().lower())
    if match is None:
        raise UsageError(
            f"--head: {text!r} is not a head",
            hint="give SEQ:HASH as printed by `sochi audit head` (or the 64-hex hash alone)",
        )
    return (int(match.group(1)) if match.group(1) else None), match.group(2)


def head_file(journal_path: Path) -> Path:
    return Path(journal_path).with_name(HEAD_FILE)


def read_head_file(path: Path) -> tuple[Head | None, str | None]:
    """(the head the file names, None) or (None, why it cannot be used); (None, None) if absent."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        head = Head(int(data["seq"]), str(data["hash"]), data.get("at"))
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot read {printable(path)}: {exc.strerror or exc}"
    except (ValueError, KeyError, TypeError):
        return None, f"{printable(path)} is not a head file"
    if not re.fullmatch(r"[0-9a-f]{64}", head.hash) or head.seq < 0:
        return None, f"{printable(path)} is not a head file"
    return head, None


def write_head_file(path: Path, head: Head, *, durable: bool = False) -> None:
    """Replace the head file atomically (rename). Not fsynced per commit: a head file that
    lags the chain after a power cut is still a valid anchor (the chain only grows)."""
    import tempfile

    path = Path(path)
    make_private_dirs(path.parent)
    data = (json.dumps(head.to_json()) + "\n").encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
        os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    records: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None
    head_seq: int = 0
    anchors: tuple[str, ...] = ()  # what the chain was checked against
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "head": f"{self.head_seq}:{self.head_hash}",
            "broken_seq": self.broken_seq,
            "reason": self.reason,
            "anchors": list(self.anchors),
            "warnings": list(self.warnings),
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
        return redact(printable(value))
    if isinstance(value, Mapping):
        return {str(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(printable(str(value)))


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
            if last is None:
                last = self._restart(db, at)
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
            self.journal.after_commit(_HEAD_KEY, lambda: self._anchor(Head(seq, digest, at)))
        return AuditRecord(seq, at, actor_json, action, clean, prev, digest)

    @property
    def head_file(self) -> Path:
        return head_file(self.journal.path)

    def _restart(self, db: Any, at: str) -> Any:
        """A new chain beside a head file of an older one (the journal was lost or replaced):
        its first record names that head, so the evidence is not overwritten with the file."""
        stored, _trouble = read_head_file(self.head_file)
        if stored is None or stored.seq == 0:
            return None
        actor = Actor().to_json()
        details = {"previous_head": stored.anchor, "previous_at": stored.at}
        digest = record_hash(1, at, actor, "audit.restart", details, GENESIS)
        db.execute(
            "INSERT INTO audit (seq, at, actor, action, details, prev_hash, hash) "
            "VALUES (1, ?, ?, 'audit.restart', ?, ?, ?)",
            (at, canonical_json(actor), canonical_json(details), GENESIS, digest),
        )
        return {"seq": 1, "hash": digest}

    def _anchor(self, head: Head) -> None:
        """Write the head file after the commit; a failure is logged, the record stands."""
        import logging

        try:
            write_head_file(self.head_file, head)
        except OSError as exc:
            logging.getLogger(__name__).warning(
                "cannot write the audit head file %s: %s", printable(self.head_file), exc
            )

    def head(self) -> Head:
        """The chain's last record (seq 0 and 64 zeros for an empty chain)."""
        rows = self.journal.query("SELECT seq, hash, at FROM audit ORDER BY seq DESC LIMIT 1")
        if not rows:
            return Head(0, GENESIS)
        return Head(int(rows[0]["seq"]), str(rows[0]["hash"]), str(rows[0]["at"]))

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

    def verify(self, anchors: Sequence[str] = ()) -> AuditVerification:
        """Walk the chain from the first record; name the first one that does not fit.

        Then check it against the head file and each anchor (`SEQ:HASH` or `HASH`) given.
        """
        wanted = [parse_anchor(a) for a in anchors]
        rows = self.journal.query("SELECT * FROM audit ORDER BY seq")
        hashes: dict[int, str] = {}
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
            hashes[seq] = digest
            prev, expected_seq = digest, seq + 1
        last = expected_seq - 1
        head = self.journal.get_value(_HEAD_KEY)
        if head is not None and head != f"{last}:{prev}":
            return self._broken(
                len(rows), prev, expected_seq, f"the chain ends before the recorded head ({head})"
            )
        checked: list[str] = []
        warnings: list[str] = []
        stored, trouble = read_head_file(self.head_file)
        if trouble:
            warnings.append(f"head file not used: {trouble}")
        elif stored is None:
            if rows:
                warnings.append(f"no head file at {printable(self.head_file)} (written on append)")
        else:
            wanted.insert(0, (stored.seq, stored.hash))
        for number, (seq_or_none, digest) in enumerate(wanted):
            source = "the head file" if stored is not None and number == 0 else "the given head"
            anchored = seq_or_none
            if anchored is None:
                anchored = next((n for n, h in hashes.items() if h == digest), None)
                if anchored is None:
                    return self._broken(
                        len(rows),
                        prev,
                        last + 1,
                        f"no record has the hash of {source} ({digest[:16]}…): the chain was "
                        "cut off or rewritten",
                        head_seq=last,
                    )
            if anchored > last:
                return self._broken(
                    len(rows),
                    prev,
                    last + 1,
                    f"the chain ends at record {last} but {source} names record {anchored}: "
                    "records were cut off or the journal was replaced",
                    head_seq=last,
                )
            if hashes.get(anchored, GENESIS) != digest:
                return self._broken(
                    len(rows),
                    prev,
                    anchored,
                    f"record {anchored} is not the one {source} names: the chain was rewritten",
                    head_seq=last,
                )
            checked.append(f"{anchored}:{digest}")
        return AuditVerification(
            ok=True,
            records=len(rows),
            head_hash=prev,
            head_seq=last,
            anchors=tuple(checked),
            warnings=tuple(warnings),
        )

    @staticmethod
    def _broken(
        count: int, head: str, seq: int, reason: str, *, head_seq: int | None = None
    ) -> AuditVerification:
        return AuditVerification(
            ok=False,
            records=count,
            head_hash=head,
            broken_seq=seq,
            reason=reason,
            head_seq=count if head_seq is None else head_seq,
        )


__all__ = [
    "GENESIS",
    "HEAD_FILE",
    "Actor",
    "AuditLog",
    "AuditRecord",
    "AuditVerification",
    "Head",
    "head_file",
    "parse_anchor",
    "read_head_file",
    "record_hash",
    "write_head_file",
]
