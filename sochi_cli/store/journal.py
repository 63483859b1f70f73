"""The per-profile SQLite journal: batches, items and their stage transitions, key/value state.

One file per profile (`<data dir>/profiles/<profile>/journal.sqlite3`), WAL mode,
`synchronous=FULL`, schema versioned with `PRAGMA user_version`. Every remote step of the
submission pipeline is written here *before* it runs (`record_before`: the item is
"in flight" for that stage) and *after* (`record_after`: its outcome). A crash between the
two leaves the item in flight; on resume the engine repeats the step with the same
idempotency key and the operator de-duplicates it.

Why FULL and not NORMAL: with WAL + NORMAL a commit survives a killed process but not a
power cut or kernel crash. The journal holds the detached signature's digest recorded
after signing; if that record were lost while the request had already reached the
operator, a resume would sign again (a new signingTime, so different bytes), and the
operator would answer 409 `idempotency_conflict` instead of the original submission.
FULL fsyncs the WAL on every commit; the batch engine shares that fsync between the steps
of concurrently in-flight sends (group commit, services/submit_writer.py). Archive objects
are synced before they are indexed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from sochi_cli.errors import NotFound, StorageError
from sochi_cli.store.files import PRIVATE_FILE, make_private_dirs, printable, private_file
from sochi_cli.store.files import storage_error as file_storage_error
from sochi_cli.timeutil import utcnow

JOURNAL_FILE = "journal.sqlite3"
BUSY_TIMEOUT_MS = 10_000
IDEMPOTENCY_SCHEME = "sochi-idempotency-v1"


class Stage(StrEnum):
    """Pipeline stages, in order; remote ones are journaled before and after they run."""

    PLAN = "plan"
    VALIDATE = "validate"
    PREFLIGHT = "preflight"
    SIGN = "sign"
    SEND = "send"
    RECEIPT = "receipt"
    FOLLOW = "follow"
    ARCHIVE = "archive"


class ItemState(StrEnum):
    """Where an item stands. Final: invalid, failed, accepted, rejected."""

    PLANNED = "planned"
    INVALID = "invalid"  # local validation failed; never signed or sent
    VALIDATED = "validated"
    SIGNED = "signed"  # signature archived and its digest recorded; resends reuse it
    RECEIVED = "received"  # operator took it and issued a delivery receipt
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # agency protocol with errors
    FAILED = "failed"  # operator refused (4xx): nothing stored or charged there


FINAL_STATES = frozenset(
    {ItemState.INVALID, ItemState.FAILED, ItemState.ACCEPTED, ItemState.REJECTED}
)
FILED_STATES = frozenset(
    {ItemState.RECEIVED, ItemState.DELIVERED, ItemState.ACCEPTED, ItemState.REJECTED}
)


class BatchStatus(StrEnum):
    """What a batch's last run left (docs/batch.md "Batch states")."""

    OPEN = "open"  # planned, nothing done yet
    RUNNING = "running"  # a process is working on it (shown as interrupted once it is gone)
    INTERRUPTED = "interrupted"  # stopped with work left (Ctrl-C, kill, operator unavailable)
    REFUSED = "refused"  # stopped before signing: balance, powers of attorney, maintenance
    FAILED = "failed"  # nothing filed: every item invalid or refused, or the run failed
    PENDING = "pending_verdicts"  # everything filed; agency verdicts not all in yet
    DONE = "done"  # every item accepted
    PARTIAL = "partial"  # finished: some items filed, some invalid, refused or rejected


_LEGACY_STATUS = {"completed": BatchStatus.DONE}  # journals written before "done"


def idempotency_key(
    *,
    profile: str,
    api_url: str,
    client_inn: str,
    form: str,
    period: str,
    correction: int,
    file_sha256: str,
) -> str:
    """The `Idempotency-Key` of one filing: 64 lowercase hex characters.

    SHA-256 over the UTF-8 of the compact JSON array
    `["sochi-idempotency-v1", profile, api_url, client_inn, form, period, correction,
    file_sha256]` where api_url has no trailing slash, form is upper-case and the digest
    lowercase hex. The same report filed for the same client/form/period/correction in the
    same profile against the same operator always gets the same key; changing any input
    changes it. Attachments are not part of the key: changing them for the same report is
    an `idempotency_conflict` at the operator, which is the safe answer.
    """
    canonical = [
        IDEMPOTENCY_SCHEME,
        profile,
        api_url.rstrip("/"),
        client_inn,
        form.upper(),
        period,
        int(correction),
        file_sha256.lower(),
    ]
    encoded = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


class FileRefLike(Protocol):
    @property
    def path(self) -> Path: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...


class PlannedItem(Protocol):
    """What the journal needs from a plan item (services.plan.PlanItem fits)."""

    @property
    def idempotency_key(self) -> str: ...
    @property
    def file(self) -> FileRefLike: ...
    @property
    def client_inn(self) -> str: ...
    @property
    def form(self) -> str: ...
    @property
    def period(self) -> str: ...
    @property
    def correction(self) -> int: ...
    @property
    def attachments(self) -> Sequence[FileRefLike]: ...


@dataclass(frozen=True)
class Batch:
    id: int
    created_at: str
    updated_at: str
    command: str
    profile: str
    api_url: str
    status: str
    item_count: int = 0


@dataclass(frozen=True)
class Item:
    id: int
    batch_id: int
    seq: int
    idempotency_key: str
    source_path: str
    file_sha256: str
    file_size: int
    client_inn: str
    form: str
    period: str
    correction: int
    attachments: list[dict[str, Any]]
    stage: str
    state: str
    in_flight: bool
    attempts: int
    signature_sha256: str | None
    attachment_signatures: list[str]
    submission_id: str | None
    operator_status: str | None
    receipt_ids: list[str]
    fee: int | None
    error_code: str | None
    error_message: str | None
    stage_times: dict[str, dict[str, str]]
    created_at: str
    updated_at: str

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class Outcome:
    """What `record_after` writes: the new state plus whatever the step produced."""

    state: str
    error_code: str | None = None
    error_message: str | None = None
    submission_id: str | None = None
    operator_status: str | None = None
    receipt_ids: Sequence[str] = ()
    signature_sha256: str | None = None
    attachment_signatures: Sequence[str] | None = None
    fee: int | None = None
    # forget the recorded signatures (the operator refused them: the item is signed again)
    clear_signatures: bool = False


@dataclass(frozen=True)
class BatchStart:
    """Result of `start_batch`: the batch, whether it was resumed, items known from before."""

    batch: Batch
    resumed: bool
    known_item_ids: frozenset[int] = field(default_factory=frozenset)


_MIGRATIONS: tuple[str, ...] = (
    # 1: batches, items, membership, key/value state, archive index, audit chain
    """
    CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        command TEXT NOT NULL,
        profile TEXT NOT NULL,
        api_url TEXT NOT NULL,
        status TEXT NOT NULL,
        plan_digest TEXT NOT NULL
    );
    CREATE INDEX batches_plan_digest ON batches(plan_digest);
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        batch_id INTEGER NOT NULL REFERENCES batches(id),
        seq INTEGER NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        source_path TEXT NOT NULL,
        file_sha256 TEXT NOT NULL,
        file_size INTEGER NOT NULL,
        client_inn TEXT NOT NULL,
        form TEXT NOT NULL,
        period TEXT NOT NULL,
        correction INTEGER NOT NULL,
        attachments TEXT NOT NULL DEFAULT '[]',
        stage TEXT NOT NULL,
        state TEXT NOT NULL,
        in_flight INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        signature_sha256 TEXT,
        attachment_signatures TEXT NOT NULL DEFAULT '[]',
        submission_id TEXT,
        operator_status TEXT,
        receipt_ids TEXT NOT NULL DEFAULT '[]',
        fee INTEGER,
        error_code TEXT,
        error_message TEXT,
        stage_times TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX items_state ON items(state);
    CREATE INDEX items_submission ON items(submission_id);
    CREATE INDEX items_target ON items(client_inn, period, form);
    CREATE TABLE batch_items (
        batch_id INTEGER NOT NULL REFERENCES batches(id),
        seq INTEGER NOT NULL,
        item_id INTEGER NOT NULL REFERENCES items(id),
        PRIMARY KEY (batch_id, seq),
        UNIQUE (batch_id, item_id)
    );
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE objects (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        stored_at TEXT NOT NULL
    );
    CREATE TABLE archive_entries (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL REFERENCES objects(sha256),
        kind TEXT NOT NULL,
        item_id INTEGER REFERENCES items(id),
        submission_id TEXT,
        client_inn TEXT,
        form TEXT,
        period TEXT,
        correction INTEGER,
        filename TEXT,
        created_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX archive_entries_unique
        ON archive_entries(sha256, kind, IFNULL(item_id, 0), IFNULL(submission_id, ''));
    CREATE INDEX archive_entries_target ON archive_entries(client_inn, period, form);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_action ON audit(action);
    """,
    # 2: an item's archive entries by item (linking a submission id was a full scan per send)
    """
    CREATE INDEX archive_entries_item ON archive_entries(item_id);
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)

_OUTCOME_COLUMNS = (
    "error_code",
    "error_message",
    "submission_id",
    "operator_status",
    "signature_sha256",
    "fee",
)


def path_value(path: Path | str) -> str | bytes:
    """How a file name is stored: text, or its raw bytes when they are not UTF-8.

    Lossless: `path_text` gives back the same name (PEP 383 escapes), so a report called
    `b\xe9.xml` is reopened by the very bytes it has on disk. (SQLite keeps a BLOB in a TEXT
    column as it is.)
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def path_text(value: str | bytes) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else value


def journal_path(profile: str) -> Path:
    from sochi_cli.store import paths

    return paths.profile_data_dir(profile) / JOURNAL_FILE


def now_text() -> str:
    return utcnow().isoformat(timespec="microseconds").replace("+00:00", "Z")


def storage_error(
    exc: BaseException, path: Path, what: str = "journal", *, verb: str = "write"
) -> StorageError:
    """A one-line StorageError for an sqlite3 or OS failure on `path` (the journal's damage
    is always `JournalDamaged`, whichever command met it)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) and what == "journal":
        detail = "not a database" if name.startswith("SQLITE_NOTADB") else str(exc)
        return damaged_error(path, f"the file is damaged or not a sochi journal: {detail}")
    return file_storage_error(exc, path, what, verb=verb)


def _first_problem(problems: Sequence[str]) -> str:
    """The first problem and how many more: the one line stays short (the whole list goes
    to the error's details, `--json`, and to the debug log, `-v`)."""
    more = len(problems) - 1
    return problems[0] + (f" and {more} more" if more > 0 else "")


class JournalDamaged(StorageError):
    """The journal fails its integrity check: nothing may be signed, sent or recorded."""

    code = "journal_damaged"


def damaged_error(path: Path, reason: str, problems: Sequence[str] = ()) -> JournalDamaged:
    """The one error every command gives for a damaged journal, with the recovery steps;
    every problem the check found is in its details (and in the debug log)."""
    import logging

    shown = printable(path)
    found = list(problems) or [reason]
    for problem in found:
        logging.getLogger(__name__).debug("journal check: %s: %s", shown, problem)
    return JournalDamaged(
        f"the journal at {shown} is damaged ({reason}); nothing was signed or sent",
        hint=f"move it aside (mv {shown} {shown}.damaged), then rebuild it: "
        "`sochi archive reconcile` (or `sochi restore BACKUP`)",
        details={"path": shown, "reason": reason, "problems": found},
    )


@dataclass(frozen=True)
class IntegrityReport:
    """Result of `check_integrity`: SQLite's own check of the journal file."""

    path: Path
    state: str  # "ok", "damaged", "missing" or "empty" (0 bytes or no sochi schema)
    problems: tuple[str, ...] = ()
    schema: int | None = None
    seconds: float = 0.0
    full: bool = False

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": printable(self.path),
            "state": self.state,
            "ok": self.ok,
            "problems": list(self.problems),
            "schema": self.schema,
            "check": "integrity_check" if self.full else "quick_check",
            "seconds": round(self.seconds, 4),
        }


def _run_check(db: sqlite3.Connection, full: bool) -> list[str]:
    """`PRAGMA quick_check` (b-tree structure, every page; no index-content cross-check) or
    the full `integrity_check`; at most 20 problems are kept."""
    pragma = "integrity_check(20)" if full else "quick_check(20)"
    rows = [str(r[0]) for r in db.execute(f"PRAGMA {pragma}").fetchall()]
    if rows == ["ok"]:
        return []
    # one row may hold many problems, one a line, under a "*** in database main ***" header
    lines = [" ".join(line.split()) for row in rows for line in row.splitlines()]
    found = [line for line in lines if line and not line.startswith("*** in database")]
    return found or rows


def check_integrity(path: Path, *, full: bool = False) -> IntegrityReport:
    """Check a journal file without changing it (read-only; works on a read-only copy).

    Never raises for damage: the state says what was found. `full` runs SQLite's complete
    `integrity_check` (index contents too; seconds on a large journal) instead of the
    `quick_check` every writing command runs when it opens the journal.
    """
    import time

    path = Path(path)
    started = time.perf_counter()
    if not path.exists():
        return IntegrityReport(path, "missing", full=full)
    if path.stat().st_size == 0:
        return IntegrityReport(path, "empty", full=full)
    try:
        journal = Journal(path, readonly=True, check=False)
    except JournalDamaged as exc:
        reason = str(exc.details.get("reason") or exc.message)
        return IntegrityReport(path, "damaged", (reason,), seconds=time.perf_counter() - started)
    with journal:
        if journal.blank:
            return IntegrityReport(path, "empty", full=full)
        try:
            problems = journal.problems(full=full)
        except sqlite3.DatabaseError as exc:
            problems = [str(exc)]
        state = "damaged" if problems else "ok"
        return IntegrityReport(
            path,
            state,
            tuple(problems),
            schema=journal.schema,
            seconds=time.perf_counter() - started,
            full=full,
        )


@contextlib.contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """The batch lock of the journal at `path`: one process that submits, reconciles or
    restores per profile at a time.

    An advisory `flock` on `journal.sqlite3.lock` beside the database; the OS drops it when
    the process dies, so a killed run never leaves a stale lock behind.
    """
    import fcntl

    lock_path = Path(path).with_name(Path(path).name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise storage_error(exc, lock_path) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise StorageError(
                f"another sochi process (pid {holder}) is working with this profile's journal",
                hint="wait for it to finish, then rerun to resume",
                code="journal_busy",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock


class Journal:
    """The profile's journal. One instance per process; safe for many asyncio tasks and threads.

    Every public write is one short `BEGIN IMMEDIATE … COMMIT` transaction under a lock.
    Opened for writing, the file is checked first (`PRAGMA quick_check`: ≈ 0.2 s for a
    100 000-item journal, bench/integrity.py) and a damaged one is refused with
    `JournalDamaged` before anything else happens. `readonly=True` opens it for inspection
    only: nothing is created or migrated, and a read-only copy of the data directory works.
    """

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "FULL",
        readonly: bool = False,
        check: bool = True,
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.blank = False  # a read-only open of a file without a sochi schema (0 bytes…)
        self.schema = 0
        self._trusted = False  # opened for writing after its check: restamp when closed
        self._lock = threading.RLock()
        self._depth = 0  # > 0 while this instance's lock holder is inside transaction()
        self._after_commit: dict[str, Callable[[], None]] = {}
        self._copy: Path | None = None  # private temporary copy (read-only, WAL, no -shm)
        if self.path.exists() and not self.path.is_file():  # a folder, a device…
            raise damaged_error(self.path, "it is not a file")
        if readonly:
            self._db = self._open_readonly()
        else:
            try:
                make_private_dirs(self.path.parent)
                private_file(self.path)  # SQLite gives the -wal/-shm files the same mode
                self._db = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False, timeout=0
                )
            except (OSError, sqlite3.Error) as exc:
                raise storage_error(exc, self.path) from None
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if readonly:
                if check and not self._unchanged_since_checked():
                    self._check()
                    if self._copy is None:
                        self._stamp_checked()  # where it can be written (not on read-only media)
                self._read_schema()
            else:
                mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StorageError(
                        f"cannot write the journal at {self.path}: WAL mode unavailable ({mode})",
                        hint="put the data directory on a local file system",
                    )
                self._db.execute(f"PRAGMA synchronous = {synchronous}")
                self._db.execute("PRAGMA foreign_keys = ON")
                if check and not self._unchanged_since_checked():
                    self._check()
                    self._stamp_checked()
                self._migrate()
                self._trusted = check
        except sqlite3.Error as exc:
            self._close_db()
            raise storage_error(exc, self.path) from None
        except BaseException:
            self._close_db()
            raise

    def _open_readonly(self) -> sqlite3.Connection:
        """A read-only connection, also when the directory (a backup copy) is read-only.

        `mode=ro` needs the WAL's `-shm` file to exist or be creatable. Without a WAL (a
        cleanly closed journal) `immutable=1` reads the file as it is; with a WAL but no
        `-shm` and no way to create one, the two files are copied to a private temporary
        directory and read there.
        """
        from urllib.parse import quote

        def connect(path: Path, extra: str = "") -> sqlite3.Connection:
            uri = f"file:{quote(os.fsencode(path.resolve()))}?mode=ro{extra}"
            db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            try:
                db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            except BaseException:
                db.close()
                raise
            return db

        if not self.path.is_file():
            raise NotFound(f"no journal at {printable(self.path)}")
        try:
            return connect(self.path)
        except sqlite3.Error as exc:
            name = getattr(exc, "sqlite_errorname", "") or ""
            if not name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
                raise storage_error(exc, self.path, verb="read") from None
        wal = Path(f"{self.path}-wal")
        try:
            if not wal.exists() or wal.stat().st_size == 0:
                return connect(self.path, "&immutable=1")
            import shutil
            import tempfile

            self._copy = Path(tempfile.mkdtemp(prefix="sochi-journal-"))
            shutil.copyfile(self.path, self._copy / self.path.name)
            shutil.copyfile(wal, self._copy / wal.name)
            db = sqlite3.connect(
                self._copy / self.path.name, isolation_level=None, check_same_thread=False
            )
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except (OSError, sqlite3.Error) as exc:
            self._remove_copy()
            raise storage_error(exc, self.path, verb="read") from None

    def _check(self) -> None:
        problems = _run_check(self._db, full=False)
        if problems:
            raise damaged_error(self.path, _first_problem(problems), problems)

    def _version(self) -> int:
        """The schema version in the file; a newer one than this sochi knows is refused."""
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"the journal at {printable(self.path)} has schema {version}, newer than this "
                f"sochi understands ({SCHEMA_VERSION})",
                hint="upgrade sochi",
            )
        return version

    def _read_schema(self) -> None:
        version = self._version()
        self.schema = version
        if version == 0:
            tables = self._db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise damaged_error(self.path, "it holds tables but no sochi schema version")
            self.blank = True

    @classmethod
    def for_profile(cls, profile: str) -> Journal:
        return cls(journal_path(profile))

    @classmethod
    def existing(cls, profile: str) -> Journal | None:
        """The profile's journal for writing, if it was ever created (creates nothing)."""
        path = journal_path(profile)
        return cls(path) if path.exists() else None

    @classmethod
    def reader(cls, profile: str) -> Journal | None:
        """The profile's journal opened read-only for inspection; None if missing or blank."""
        path = journal_path(profile)
        if not path.exists():
            return None
        journal = cls(path, readonly=True)
        if journal.blank:
            journal.close()
            return None
        return journal

    def after_commit(self, key: str, action: Callable[[], None]) -> None:
        """Run `action` once after the current outermost transaction commits (dropped on
        rollback); a second registration under the same key replaces the first."""
        with self._lock:
            if self._depth:
                self._after_commit[key] = action
            else:
                action()

    def close(self) -> None:
        with self._lock:
            self._close_db()
            if self._trusted:
                self._stamp_checked()  # what we wrote, through SQLite, is as sound as before
                self._trusted = False

    # the check's stamp --------------------------------------------------------------------
    # After a check passes, and when a writer that opened a checked journal closes cleanly,
    # the file's identity (device, inode, size, mtime; the WAL's size and mtime) is written
    # to `journal.sqlite3.checked`. A later open that finds the file exactly so skips the
    # scan (≈ 0.3 s warm, seconds cold, for 100 000 items: bench/integrity.py); anything
    # else — a killed run, a copy, an editor, dd — changed it, and it is checked again.
    @property
    def _stamp_path(self) -> Path:
        return self.path.with_name(self.path.name + ".checked")

    def _identity(self) -> list[int] | None:
        try:
            db = os.stat(self.path)
        except OSError:
            return None
        try:
            wal = os.stat(f"{self.path}-wal")
            # an empty WAL (a connection just opened) holds nothing: the same as none
            wal_id = [wal.st_size, wal.st_mtime_ns] if wal.st_size else [0, 0]
        except FileNotFoundError:
            wal_id = [0, 0]
        except OSError:
            return None
        return [db.st_dev, db.st_ino, db.st_size, db.st_mtime_ns, *wal_id]

    def _unchanged_since_checked(self) -> bool:
        try:
            stamp = json.loads(self._stamp_path.read_text(encoding="ascii"))
        except (OSError, ValueError):
            return False
        current = self._identity()
        return current is not None and stamp == {"version": 1, "identity": current}

    def _stamp_checked(self) -> None:
        identity = self._identity()
        if identity is None:
            return
        with contextlib.suppress(OSError):  # no stamp only means checking again next time
            tmp = self._stamp_path.with_name(f".{self._stamp_path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                json.dump({"version": 1, "identity": identity}, fh)
            os.replace(tmp, self._stamp_path)

    def _close_db(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._remove_copy()

    def _remove_copy(self) -> None:
        if self._copy is not None:
            import shutil

            shutil.rmtree(self._copy, ignore_errors=True)
            self._copy = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def writer_lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the profile's batch lock: one submitting process per journal at a time."""
        return writer_lock(self.path)

    def _writer_lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def writer_lock_holder(self) -> int | None:
        """The pid of another process holding `writer_lock` now, or None when it is free.

        Probes the flock without waiting and releases it at once; 0 when the holder is
        unknown. Lets a front-end say "a CLI run is submitting" before it tries to.
        """
        import fcntl

        try:
            fd = os.open(self._writer_lock_path(), os.O_RDONLY)
        except OSError:
            return None  # never locked (or unreadable): nothing is submitting
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
                return int(holder) if holder.isdigit() else 0
            return None
        finally:
            os.close(fd)  # closing releases the probe

    # transactions --------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; any sqlite/OS failure rolls back and becomes StorageError.

        Nested use on the same thread joins the outer transaction (one commit, one fsync for
        a group of writes, e.g. a receipt's archive entries + the item's outcome + its audit
        record); a failure anywhere rolls the whole group back.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path) from None
            self._depth = 1
            try:
                yield self._db
                self._db.execute("COMMIT")
            except (sqlite3.Error, OSError) as exc:
                self._rollback()
                self._after_commit.clear()
                raise storage_error(exc, self.path) from None
            except BaseException:
                self._rollback()
                self._after_commit.clear()
                raise
            finally:
                self._depth = 0
            actions, self._after_commit = self._after_commit, {}
            for action in actions.values():
                action()

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path) from None

    def _migrate(self) -> None:
        version = self._version()
        for number in range(version + 1, SCHEMA_VERSION + 1):
            script = _MIGRATIONS[number - 1]
            try:
                self._db.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
                )
            except sqlite3.Error:
                self._rollback()
                raise
        self.schema = SCHEMA_VERSION

    def copy_to(self, target: Path) -> None:
        """A consistent copy of the journal as one self-contained file `target` (0600), taken
        with SQLite's online backup through this connection: all pages in one step under one
        read transaction, so other processes may keep writing; works opened read-only."""
        with self._lock:
            copy = sqlite3.connect(target)
            try:
                self._db.backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")  # no WAL beside it
            finally:
                copy.close()
        os.chmod(target, PRIVATE_FILE)

    def problems(self, *, full: bool = False) -> list[str]:
        """What SQLite's quick (or full) integrity check finds; [] when the file is sound."""
        with self._lock:
            return _run_check(self._db, full)

    def integrity_check(self) -> str:
        return str(self.query("PRAGMA integrity_check")[0][0])

    # batches -------------------------------------------------------------------------
    def start_batch(
        self,
        items: Sequence[PlannedItem],
        *,
        profile: str,
        api_url: str,
        command: str,
    ) -> BatchStart:
        """Resume the batch planned from exactly these items (the newest), or create one.

        Items already journaled by an earlier batch (same idempotency key) are linked, not
        copied: their state says whether they were filed (`known_item_ids`). Whether there is
        anything left to do is the engine's decision (it asks before calling this).
        """
        plan_digest = _plan_digest(items)
        now = now_text()
        with self.transaction() as db:
            row = db.execute(
                "SELECT id FROM batches WHERE plan_digest = ? ORDER BY id DESC LIMIT 1",
                (plan_digest,),
            ).fetchone()
            if row is not None:
                batch_id = int(row["id"])
                db.execute(
                    "UPDATE batches SET status = ?, updated_at = ? WHERE id = ?",
                    (BatchStatus.RUNNING, now, batch_id),
                )
                return BatchStart(self._batch(db, batch_id), resumed=True)
            batch_id = self.new_batch(
                profile=profile, api_url=api_url, command=command, plan_digest=plan_digest
            ).id
            known: set[int] = set()
            seen: set[str] = set()
            for item in items:
                if item.idempotency_key in seen:  # the plan reports duplicates; link once
                    continue
                seen.add(item.idempotency_key)
                item_id, new = self.add_item(batch_id, item)
                if not new:
                    known.add(item_id)
            return BatchStart(
                self._batch(db, batch_id), resumed=False, known_item_ids=frozenset(known)
            )

    def resume_batch(self, batch_id: int) -> BatchStart:
        """Mark batch `batch_id` running again (`sochi batch resume`)."""
        with self.transaction() as db:
            batch = self._batch(db, batch_id)
            db.execute(
                "UPDATE batches SET status = ?, updated_at = ? WHERE id = ?",
                (BatchStatus.RUNNING, now_text(), batch_id),
            )
        return BatchStart(batch, resumed=True)

    def plan_batch(self, items: Sequence[PlannedItem]) -> Batch | None:
        """The newest batch planned from exactly these items, if any."""
        rows = self.query(
            "SELECT id FROM batches WHERE plan_digest = ? ORDER BY id DESC LIMIT 1",
            (_plan_digest(items),),
        )
        return self.batch(int(rows[0]["id"])) if rows else None

    def writer_busy(self) -> bool:
        """Whether a process holds this journal's batch lock right now (a run is live)."""
        import fcntl

        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            os.close(fd)  # closing releases a lock taken here
        return False

    def new_batch(
        self,
        *,
        profile: str,
        api_url: str,
        command: str,
        plan_digest: str = "",
        status: BatchStatus = BatchStatus.OPEN,
    ) -> Batch:
        """An empty batch (joins the caller's transaction); add items with `add_item`."""
        from sochi_cli.logs import redact

        now = now_text()
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO batches (created_at, updated_at, command, profile, api_url, status,"
                " plan_digest) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now, now, redact(printable(command)), profile, api_url, status, plan_digest),
            )
            return self._batch(db, int(cursor.lastrowid or 0))

    def add_item(self, batch_id: int, item: PlannedItem) -> tuple[int, bool]:
        """Put `item` at the end of the batch: (its id, True if new; False if an item with its
        idempotency key was journaled before and is linked instead)."""
        now = now_text()
        with self.transaction() as db:
            seq = int(
                db.execute(
                    "SELECT IFNULL(MAX(seq), 0) + 1 FROM batch_items WHERE batch_id = ?",
                    (batch_id,),
                ).fetchone()[0]
            )
            existing = db.execute(
                "SELECT id FROM items WHERE idempotency_key = ?", (item.idempotency_key,)
            ).fetchone()
            if existing is not None:
                item_id, new = int(existing["id"]), False
            else:
                new = True
                item_id = int(
                    db.execute(
                        "INSERT INTO items (batch_id, seq, idempotency_key, source_path,"
                        " file_sha256, file_size, client_inn, form, period, correction,"
                        " attachments, stage, state, stage_times, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            batch_id,
                            seq,
                            item.idempotency_key,
                            path_value(item.file.path),
                            item.file.sha256,
                            item.file.size,
                            item.client_inn,
                            item.form,
                            item.period,
                            item.correction,
                            json.dumps(
                                [
                                    {"path": str(a.path), "sha256": a.sha256, "size": a.size}
                                    for a in item.attachments
                                ]
                            ),
                            Stage.PLAN,
                            ItemState.PLANNED,
                            json.dumps({Stage.PLAN.value: {"finished": now}}),
                            now,
                            now,
                        ),
                    ).lastrowid
                    or 0
                )
            db.execute(
                "INSERT INTO batch_items (batch_id, seq, item_id) VALUES (?, ?, ?)",
                (batch_id, seq, item_id),
            )
            return item_id, new

    def _batch(self, db: sqlite3.Connection, batch_id: int) -> Batch:
        row = db.execute(
            "SELECT b.*, (SELECT COUNT(*) FROM batch_items m WHERE m.batch_id = b.id) AS n "
            "FROM batches b WHERE b.id = ?",
            (batch_id,),
        ).fetchone()
        if row is None:
            raise NotFound(
                f"no batch {batch_id} in this profile's journal", hint="see `sochi batch list`"
            )
        return _batch_from_row(row)

    def batch(self, batch_id: int) -> Batch:
        with self._lock:
            try:
                return self._batch(self._db, batch_id)
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path) from None

    def batches(self, *, limit: int | None = None) -> list[Batch]:
        rows = self.query(
            "SELECT b.*, (SELECT COUNT(*) FROM batch_items m WHERE m.batch_id = b.id) AS n "
            "FROM batches b ORDER BY b.id DESC LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [_batch_from_row(row) for row in rows]

    def latest_batch(self) -> Batch | None:
        found = self.batches(limit=1)
        return found[0] if found else None

    def set_batch_status(self, batch_id: int, status: BatchStatus) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE batches SET status = ?, updated_at = ? WHERE id = ?",
                (status, now_text(), batch_id),
            )

    def batch_items(self, batch_id: int, *, states: Sequence[str] | None = None) -> list[Item]:
        sql = (
            "SELECT i.*, m.seq AS member_seq FROM batch_items m JOIN items i ON i.id = m.item_id "
            "WHERE m.batch_id = ?"
        )
        params: list[Any] = [batch_id]
        if states:
            sql += f" AND i.state IN ({','.join('?' * len(states))})"
            params.extend(states)
        return [_item_from_row(row) for row in self.query(sql + " ORDER BY m.seq", params)]

    def iter_batch_items(self, batch_id: int, *, chunk: int = 500) -> Iterator[Item]:
        """The batch's items in order, read `chunk` at a time (memory flat in batch size)."""
        after = 0
        while True:
            rows = self.query(
                "SELECT i.*, m.seq AS member_seq FROM batch_items m JOIN items i"
                " ON i.id = m.item_id WHERE m.batch_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?",
                (batch_id, after, chunk),
            )
            for row in rows:
                yield _item_from_row(row)
            if len(rows) < chunk:
                return
            after = int(rows[-1]["member_seq"])

    def state_counts(self, batch_id: int) -> dict[str, int]:
        rows = self.query(
            "SELECT i.state, COUNT(*) AS n FROM batch_items m JOIN items i ON i.id = m.item_id "
            "WHERE m.batch_id = ? GROUP BY i.state",
            (batch_id,),
        )
        return {str(row["state"]): int(row["n"]) for row in rows}

    def in_flight(self, batch_id: int) -> list[Item]:
        """Items whose last step started but never recorded an outcome (a crash, a kill)."""
        return [item for item in self.batch_items(batch_id) if item.in_flight]

    # items ---------------------------------------------------------------------------
    def item(self, item_id: int) -> Item:
        rows = self.query("SELECT i.*, i.seq AS member_seq FROM items i WHERE i.id = ?", (item_id,))
        if not rows:
            raise NotFound(f"no item {item_id} in this profile's journal")
        return _item_from_row(rows[0])

    def find_by_key(self, key: str) -> Item | None:
        rows = self.query(
            "SELECT i.*, i.seq AS member_seq FROM items i WHERE i.idempotency_key = ?", (key,)
        )
        return _item_from_row(rows[0]) if rows else None

    def find_by_submission(self, submission_id: str) -> Item | None:
        rows = self.query(
            "SELECT i.*, i.seq AS member_seq FROM items i WHERE i.submission_id = ?",
            (submission_id,),
        )
        return _item_from_row(rows[0]) if rows else None

    def record_before(self, item_id: int, stage: Stage | str) -> None:
        """Mark `item_id` in flight for `stage`, durably, before the step runs."""
        stage = Stage(stage)
        now = now_text()
        with self.transaction() as db:
            updated = db.execute(
                "UPDATE items SET stage = ?, in_flight = 1, updated_at = ?,"
                " attempts = attempts + (? = 'send'),"
                " stage_times = json_set(stage_times, ?, ?) WHERE id = ?",
                (stage, now, stage.value, f"$.{stage.value}.started", now, item_id),
            ).rowcount
            if updated != 1:
                raise NotFound(f"no item {item_id} in this profile's journal")

    def record_after(self, item_id: int, stage: Stage | str, outcome: Outcome) -> None:
        """Record the outcome of `stage` and clear the in-flight mark, in one transaction."""
        stage = Stage(stage)
        state = ItemState(outcome.state)
        now = now_text()
        sets = ["stage = ?", "state = ?", "in_flight = 0", "updated_at = ?"]
        params: list[Any] = [stage, state, now]
        for column in _OUTCOME_COLUMNS:
            value = getattr(outcome, column)
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value)
        if state not in (ItemState.INVALID, ItemState.FAILED) and outcome.error_code is None:
            sets.append("error_code = NULL, error_message = NULL")
        if outcome.clear_signatures:
            sets.append("signature_sha256 = NULL, attachment_signatures = '[]'")
        elif outcome.attachment_signatures is not None:
            sets.append("attachment_signatures = ?")
            params.append(json.dumps(list(outcome.attachment_signatures)))
        sets.append("stage_times = json_set(stage_times, ?, ?)")
        params.extend([f"$.{stage.value}.finished", now])
        with self.transaction() as db:
            if outcome.receipt_ids:
                row = db.execute(
                    "SELECT receipt_ids FROM items WHERE id = ?", (item_id,)
                ).fetchone()
                current: list[str] = json.loads(row["receipt_ids"]) if row else []
                merged = current + [r for r in outcome.receipt_ids if r not in current]
                sets.append("receipt_ids = ?")
                params.append(json.dumps(merged))
            updated = db.execute(
                # columns come from the fixed _OUTCOME_COLUMNS list, values are bound
                f"UPDATE items SET {', '.join(sets)} WHERE id = ?",  # noqa: S608
                [*params, item_id],
            ).rowcount
            if updated != 1:
                raise NotFound(f"no item {item_id} in this profile's journal")

    # small persistent values (events cursor, last login…) ------------------------------
    def get_value(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM kv WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_value(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def delete_value(self, key: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM kv WHERE key = ?", (key,))


def _plan_digest(items: Sequence[PlannedItem]) -> str:
    """What makes two runs "the same batch": the sorted idempotency keys of its items."""
    keys = sorted(item.idempotency_key for item in items)
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()


def _batch_from_row(row: sqlite3.Row) -> Batch:
    return Batch(
        id=int(row["id"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        command=row["command"],
        profile=row["profile"],
        api_url=row["api_url"],
        status=_LEGACY_STATUS.get(row["status"], row["status"]),
        item_count=int(row["n"]),
    )


def _item_from_row(row: sqlite3.Row) -> Item:
    return Item(
        id=int(row["id"]),
        batch_id=int(row["batch_id"]),
        seq=int(row["member_seq"]),
        idempotency_key=row["idempotency_key"],
        source_path=path_text(row["source_path"]),
        file_sha256=row["file_sha256"],
        file_size=int(row["file_size"]),
        client_inn=row["client_inn"],
        form=row["form"],
        period=row["period"],
        correction=int(row["correction"]),
        attachments=json.loads(row["attachments"]),
        stage=row["stage"],
        state=row["state"],
        in_flight=bool(row["in_flight"]),
        attempts=int(row["attempts"]),
        signature_sha256=row["signature_sha256"],
        attachment_signatures=json.loads(row["attachment_signatures"]),
        submission_id=row["submission_id"],
        operator_status=row["operator_status"],
        receipt_ids=json.loads(row["receipt_ids"]),
        fee=row["fee"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        stage_times=json.loads(row["stage_times"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


__all__ = [
    "FILED_STATES",
    "FINAL_STATES",
    "JOURNAL_FILE",
    "SCHEMA_VERSION",
    "Batch",
    "BatchStart",
    "BatchStatus",
    "IntegrityReport",
    "Item",
    "ItemState",
    "Journal",
    "JournalDamaged",
    "Outcome",
    "PlannedItem",
    "Stage",
    "StorageError",
    "check_integrity",
    "damaged_error",
    "idempotency_key",
    "journal_path",
    "path_text",
    "path_value",
    "storage_error",
    "writer_lock",
]
