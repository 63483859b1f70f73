"""SQLite storage of the sandbox: one file in WAL mode, every mutation in one transaction."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sochi_cli.store.files import private_file

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
  inn TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
  reg_state TEXT NOT NULL, reg_channel TEXT NOT NULL, requested_at TEXT NOT NULL,
  activated_at TEXT, requisites TEXT NOT NULL, ecloud_subscribed INTEGER NOT NULL,
  monthly_fee INTEGER NOT NULL, balance INTEGER NOT NULL, created_at TEXT NOT NULL,
  billed_month TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS certificates (
  serial TEXT PRIMARY KEY, inn TEXT NOT NULL, owner_name TEXT NOT NULL, position TEXT NOT NULL,
  org_name TEXT NOT NULL, not_before TEXT NOT NULL, not_after TEXT NOT NULL, der BLOB NOT NULL,
  key_kind TEXT NOT NULL, credential_id TEXT, revoked_at TEXT, revocation_reason TEXT);
CREATE INDEX IF NOT EXISTS certificates_inn ON certificates(inn);
CREATE TABLE IF NOT EXISTS credentials (
  id TEXT PRIMARY KEY, inn TEXT NOT NULL, serial TEXT NOT NULL, key_pem BLOB NOT NULL,
  pin_hash TEXT NOT NULL, failed_pins INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS otps (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, credential_id TEXT NOT NULL, otp TEXT NOT NULL,
  sent_at TEXT NOT NULL, sent_ts REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sads (
  sad TEXT PRIMARY KEY, credential_id TEXT NOT NULL, remaining INTEGER NOT NULL,
  expires_ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS challenges (
  id TEXT PRIMARY KEY, nonce BLOB NOT NULL, expires_ts REAL NOT NULL,
  used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions (
  access_token TEXT PRIMARY KEY, refresh_token TEXT NOT NULL UNIQUE, inn TEXT NOT NULL,
  serial TEXT NOT NULL, access_expires_ts REAL NOT NULL, refresh_expires_ts REAL NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS clients (
  rep_inn TEXT NOT NULL, inn TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL,
  kind TEXT NOT NULL, status TEXT NOT NULL, added_at TEXT NOT NULL, detached_at TEXT,
  detach_reason TEXT, poa TEXT, PRIMARY KEY (rep_inn, inn));
CREATE TABLE IF NOT EXISTS submissions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account_inn TEXT NOT NULL,
  idem_key TEXT NOT NULL, fingerprint TEXT NOT NULL, client_inn TEXT NOT NULL,
  form TEXT NOT NULL, period TEXT NOT NULL, correction INTEGER NOT NULL, status TEXT NOT NULL,
  received_at TEXT NOT NULL, delivered_at TEXT, decided_at TEXT, due_ts REAL,
  fee INTEGER NOT NULL, late INTEGER NOT NULL, report TEXT NOT NULL, attachments TEXT NOT NULL,
  signer TEXT NOT NULL, values_json TEXT NOT NULL, protocol TEXT,
  UNIQUE (account_inn, idem_key));
CREATE INDEX IF NOT EXISTS submissions_due ON submissions(due_ts) WHERE due_ts IS NOT NULL;
CREATE TABLE IF NOT EXISTS receipts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
  account_inn TEXT NOT NULL, submission_id TEXT, inbox_id TEXT, issuer TEXT NOT NULL,
  issued_at TEXT NOT NULL, document BLOB NOT NULL, signature BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS receipts_submission ON receipts(submission_id);
CREATE TABLE IF NOT EXISTS documents (
  submission_id TEXT NOT NULL, part TEXT NOT NULL, filename TEXT NOT NULL,
  sha256 TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (submission_id, part));
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, account_inn TEXT NOT NULL, type TEXT NOT NULL,
  at TEXT NOT NULL, submission_id TEXT, inbox_id TEXT, status TEXT);
CREATE INDEX IF NOT EXISTS events_account ON events(account_inn, seq);
CREATE TABLE IF NOT EXISTS inbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account_inn TEXT NOT NULL,
  agency TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
  received_at TEXT NOT NULL, submission_id TEXT, document BLOB NOT NULL,
  signature BLOB NOT NULL, acknowledged_at TEXT, ack_receipt_id TEXT, client_inn TEXT,
  reply_receipt_id TEXT, replied_at TEXT);
CREATE TABLE IF NOT EXISTS charges (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account_inn TEXT NOT NULL,
  at TEXT NOT NULL, kind TEXT NOT NULL, amount INTEGER NOT NULL,
  balance_after INTEGER NOT NULL, submission_id TEXT, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notices (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
  title TEXT NOT NULL, body TEXT NOT NULL, published_at TEXT NOT NULL, starts_at TEXT,
  ends_at TEXT);
CREATE TABLE IF NOT EXISTS windows (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL,
  title TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS taxpayers (
  inn TEXT PRIMARY KEY, status TEXT NOT NULL, registered_on TEXT NOT NULL, inactive_since TEXT,
  registrations TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS submissions_target ON submissions(client_inn, form, period);
CREATE TABLE IF NOT EXISTS abroad (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, inn TEXT NOT NULL,
  ip TEXT NOT NULL, country TEXT NOT NULL, city TEXT NOT NULL, date_from TEXT NOT NULL,
  date_to TEXT NOT NULL, email TEXT NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL,
  decided_at TEXT);
"""

# columns added after v1: (table, column, declaration), added to older data dirs on open
_ADDED_COLUMNS = (
    ("inbox", "client_inn", "TEXT"),
    ("inbox", "reply_receipt_id", "TEXT"),
    ("inbox", "replied_at", "TEXT"),
)

TABLES = (
    *("meta", "accounts", "certificates", "credentials", "otps", "sads", "challenges"),
    *("sessions", "clients", "submissions", "receipts", "documents", "events", "inbox"),
    "charges",
    *("notices", "windows", "abroad", "taxpayers"),
)


class Database:
    """One connection guarded by a lock; `tx()` is BEGIN IMMEDIATE … COMMIT or ROLLBACK."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = self._open()
        self._closed = False

    def _open(self) -> sqlite3.Connection:
        # it holds client data (names, INNs, reports): 0600, its -wal and -shm too
        conn = sqlite3.connect(
            str(private_file(self.path)),
            check_same_thread=False,
            isolation_level=None,
            timeout=30,
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(SCHEMA)
        for table, column, declaration in _ADDED_COLUMNS:
            present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        return conn

    def _connection(self) -> sqlite3.Connection:
        """The connection, reopened if an ASGI lifespan closed it and the app is used again."""
        if self._closed:
            self._conn = self._open()
            self._closed = False
        return self._conn

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: all of it is stored, or none of it."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connection()

    def wipe(self) -> None:
        with self.tx() as conn:
            for table in TABLES:
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            conn.execute("DELETE FROM sqlite_sequence")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._conn.close()
                self._closed = True


__all__ = ["Database"]
