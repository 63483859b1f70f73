"""The subscriber's own archive (clause 16.5): content-addressed files indexed in the journal.

Objects live at `<profile data dir>/archive/objects/ab/cdef…` named by their SHA-256, are
written atomically and once (deduplicated); the journal's `archive_entries` say what each
object is (report, signature, receipt…), for which item/submission, client, form, period.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sochi_cli.errors import NotFound, UsageError
from sochi_cli.store.files import PRIVATE_FILE, atomic_write_bytes, make_private_dirs, printable
from sochi_cli.store.journal import Item, Journal, now_text, storage_error

_CHUNK = 1 << 20
_OBJECT_NAME = re.compile(r"[0-9a-f]{64}")
_OBJECT_FOLDER = re.compile(r"[0-9a-f]{2}")


class ObjectKind(StrEnum):
    REPORT = "report"
    SIGNATURE = "signature"
    ATTACHMENT = "attachment"
    ATTACHMENT_SIGNATURE = "attachment_signature"
    RECEIPT = "receipt"
    RECEIPT_SIGNATURE = "receipt_signature"
    PROTOCOL = "protocol"
    PROTOCOL_SIGNATURE = "protocol_signature"
    INBOX_DOCUMENT = "inbox_document"  # a document an agency sent (notice, request)
    ACK_SIGNATURE = "ack_signature"  # our signature acknowledging it
    REPLY_DOCUMENT = "reply_document"  # our answer to an agency's request
    REPLY_SIGNATURE = "reply_signature"  # our signature over the answer or its attachments
    # made for a report the operator already held under an earlier signature (a rerun after
    # the journal was lost), or refused by the operator before the report was signed anew
    # (`signature_invalid`, docs/batch.md): kept, as every signature made is, never filed
    SUPERSEDED_SIGNATURE = "superseded_signature"


@dataclass(frozen=True)
class ArchiveEntry:
    id: int
    sha256: str
    size: int
    kind: str
    item_id: int | None
    submission_id: str | None
    client_inn: str | None
    form: str | None
    period: str | None
    correction: int | None
    filename: str | None
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "kind": self.kind,
            "item_id": self.item_id,
            "submission_id": self.submission_id,
            "client_inn": self.client_inn,
            "form": self.form,
            "period": self.period,
            "correction": self.correction,
            "filename": self.filename,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Target:
    """What an object belongs to (all optional: an inbox receipt has no form)."""

    item_id: int | None = None
    submission_id: str | None = None
    client_inn: str | None = None
    form: str | None = None
    period: str | None = None
    correction: int | None = None

    @classmethod
    def of(cls, item: Item, submission_id: str | None = None) -> Target:
        """A journal item's filing (and its submission, once the operator named it)."""
        return cls(
            item_id=item.id,
            submission_id=submission_id,
            client_inn=item.client_inn,
            form=item.form,
            period=item.period,
            correction=item.correction,
        )


@dataclass
class ArchiveCheck:
    """`Archive.verify`: every indexed object against its digest, every file against the index."""

    checked: int = 0
    missing: list[str] = field(default_factory=list)  # indexed, not on disk
    corrupt: list[str] = field(default_factory=list)  # on disk, wrong digest or size
    unindexed: list[str] = field(default_factory=list)  # on disk, named by no index entry
    temporary: list[str] = field(default_factory=list)  # leftovers of an interrupted write
    problems: list[str] = field(default_factory=list)  # e.g. the journal itself is lost

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.unindexed or self.problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "missing": self.missing,
            "corrupt": self.corrupt,
            "unindexed": self.unindexed,
            "temporary": self.temporary,
            "problems": self.problems,
        }


@dataclass(frozen=True)
class ExportResult:
    destination: Path
    files: int
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"destination": str(self.destination), "files": self.files, "bytes": self.bytes}


def file_sha256(path: Path) -> tuple[str, int]:
    """(hex digest, size) of a file, streamed in constant memory."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class Archive:
    """Put, find, verify and export archived objects of one profile."""

    def __init__(self, journal: Journal, root: Path | None = None) -> None:
        self.journal = journal
        self.root = root or journal.path.parent / "archive"
        self._folders: set[str] = set()  # object folders known to exist

    def object_path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / sha256[2:]

    # writing -------------------------------------------------------------------------
    def put_bytes(
        self,
        data: bytes,
        kind: ObjectKind | str,
        target: Target = Target(),
        *,
        filename: str | None = None,
    ) -> ArchiveEntry:
        """Store `data` (once) and index it; returns the index entry."""
        sha = self.store_bytes(data)
        return self._index(sha, len(data), ObjectKind(kind), target, filename)

    def store_bytes(self, data: bytes) -> str:
        """Write the object file only (fsynced, outside any journal lock); its SHA-256.

        Index it afterwards with `index` — e.g. several objects in one journal transaction.
        """
        sha = hashlib.sha256(data).hexdigest()
        self._store(sha, data)
        return sha

    def store_many(self, blobs: Sequence[bytes]) -> list[str]:
        """Write several objects, then make them durable with one file-system sync.

        Much cheaper than one fsync per file for a chunk of signatures; a crash before the
        sync can leave a damaged object, which is never indexed (the caller indexes after
        this returns) and is rewritten the next time the same bytes are stored.
        """
        shas, written = self.write_unsynced(blobs)
        self.sync(written)
        return shas

    def write_unsynced(self, blobs: Sequence[bytes]) -> tuple[list[str], list[Path]]:
        """Write objects atomically but not durably: (their SHA-256s, the files written).

        Call `sync(files)` before indexing them; `store_many` does both. Lets a caller
        write the objects of many operations and make them all durable with one sync.
        """
        shas: list[str] = []
        written: list[Path] = []
        objects = os.fspath(self.root / "objects")
        tag = f"{os.getpid()}.{threading.get_ident()}"  # one temporary name per writer
        for data in blobs:
            sha = hashlib.sha256(data).hexdigest()
            shas.append(sha)
            folder = f"{objects}/{sha[:2]}"
            final = f"{folder}/{sha[2:]}"
            with contextlib.suppress(OSError):
                if os.stat(final).st_size == len(data) and file_sha256(Path(final))[0] == sha:
                    continue
            tmp = f"{folder}/.obj.{tag}.tmp"
            try:
                if folder not in self._folders:
                    make_private_dirs(Path(folder))
                    self._folders.add(folder)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
                try:
                    try:
                        view = memoryview(data)
                        while view:
                            view = view[os.write(fd, view) :]
                    finally:
                        os.close(fd)
                    os.replace(tmp, final)
                except BaseException:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp)
                    raise
            except OSError as exc:
                raise storage_error(exc, Path(final), "archive") from None
            written.append(Path(final))
        return shas, written

    def sync(self, written: Sequence[Path]) -> None:
        """Make files written by `write_unsynced` (and their renames) durable."""
        if written:
            sync_files(self.root, written)

    def index(
        self,
        sha256: str,
        size: int,
        kind: ObjectKind | str,
        target: Target = Target(),
        *,
        filename: str | None = None,
    ) -> None:
        """Index an object written by `store_bytes`/`store_many` (joins an open transaction)."""
        self._insert(sha256, size, ObjectKind(kind), target, filename)

    def put_file(
        self,
        path: Path,
        kind: ObjectKind | str,
        target: Target = Target(),
        *,
        filename: str | None = None,
    ) -> ArchiveEntry:
        """Store a file (reports are ≤ 10 MiB: read once, hashed and written from one copy)."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise NotFound(f"cannot read {path}: {exc.strerror or exc}") from None
        return self.put_bytes(data, kind, target, filename=filename or Path(path).name)

    def _store(self, sha: str, data: bytes) -> None:
        final = self.object_path(sha)
        with contextlib.suppress(OSError):
            if final.stat().st_size == len(data) and file_sha256(final)[0] == sha:
                return  # already there and intact: deduplicated
        try:
            atomic_write_bytes(final, data)
        except OSError as exc:
            raise storage_error(exc, final, "archive") from None

    def _index(
        self, sha: str, size: int, kind: ObjectKind, target: Target, filename: str | None
    ) -> ArchiveEntry:
        with self.journal.transaction() as db:
            self._insert(sha, size, kind, target, filename)
            row = db.execute(
                f"{_ENTRY_SELECT} WHERE e.sha256 = ? AND e.kind = ? AND IFNULL(e.item_id, 0) = ?"
                " AND IFNULL(e.submission_id, '') = ?",
                (sha, kind, target.item_id or 0, target.submission_id or ""),
            ).fetchone()
        return _entry(row)

    def _insert(
        self, sha: str, size: int, kind: ObjectKind, target: Target, filename: str | None
    ) -> None:
        now = now_text()
        with self.journal.transaction() as db:
            db.execute(
                "INSERT INTO objects (sha256, size, stored_at) VALUES (?, ?, ?) "
                "ON CONFLICT(sha256) DO NOTHING",
                (sha, size, now),
            )
            db.execute(
                "INSERT INTO archive_entries (sha256, kind, item_id, submission_id, client_inn,"
                " form, period, correction, filename, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    sha,
                    kind,
                    target.item_id,
                    target.submission_id,
                    target.client_inn,
                    target.form,
                    target.period,
                    target.correction,
                    None if filename is None else printable(filename),
                    now,
                ),
            )

    def supersede_signatures(self, item_id: int, filed: set[str]) -> list[str]:
        """Mark the item's signatures that were not the ones filed (`filed` digests) as
        superseded; their digests."""
        kinds = (ObjectKind.SIGNATURE, ObjectKind.ATTACHMENT_SIGNATURE)
        with self.journal.transaction() as db:
            rows = db.execute(
                "SELECT id, sha256 FROM archive_entries WHERE item_id = ? AND kind IN (?, ?)",
                (item_id, *kinds),
            ).fetchall()
            stale = [row for row in rows if row["sha256"] not in filed]
            for row in stale:
                db.execute(
                    "UPDATE OR IGNORE archive_entries SET kind = ? WHERE id = ?",
                    (ObjectKind.SUPERSEDED_SIGNATURE, row["id"]),
                )
        return [str(row["sha256"]) for row in stale]

    def set_aside_unindexed(self, *, min_age: float = 0.0) -> list[str]:
        """Move object files no index entry names (and older than `min_age` seconds) to
        `unindexed/` beside `objects/`: kept for inspection, out of `verify`'s way."""
        import time

        moved: list[str] = []
        limit = time.time() - min_age
        for name in self.unindexed_objects():
            source = self.root / "objects" / name
            try:
                if source.stat().st_mtime > limit:
                    continue
                target = self.root / "unindexed" / name
                make_private_dirs(target.parent)
                os.replace(source, target)
            except OSError as exc:
                raise storage_error(exc, source, "archive") from None
            moved.append(name)
        return moved

    def unindexed_objects(self) -> list[str]:
        """Object files (`ab/cdef…`) on disk that no index entry names; nothing is hashed."""
        unindexed = []
        for prefix, files in sorted(self.files_by_folder().items()):
            if not _OBJECT_FOLDER.fullmatch(prefix):
                continue
            names = {n for n, kind in files.items() if kind == "object"}
            if not names:
                continue
            indexed = {
                str(row["sha256"])[2:]
                for row in self.journal.query(
                    "SELECT sha256 FROM objects WHERE sha256 >= ? AND sha256 < ?",
                    (prefix, prefix + "g"),
                )
            }
            unindexed += [f"{prefix}/{n}" for n in sorted(names - indexed)]
        return unindexed

    def has_object(self, sha256: str) -> bool:
        """Indexed and present on disk (not re-hashed: `verify` does that)."""
        rows = self.journal.query("SELECT 1 FROM objects WHERE sha256 = ?", (sha256,))
        return bool(rows) and self.object_path(sha256).is_file()

    def link_submission(self, item_id: int, submission_id: str) -> None:
        """Attach a submission id to the entries of an item archived before it was sent."""
        with self.journal.transaction() as db:
            db.execute(
                "UPDATE OR IGNORE archive_entries SET submission_id = ? "
                "WHERE item_id = ? AND submission_id IS NULL",
                (submission_id, item_id),
            )

    # reading -------------------------------------------------------------------------
    def read(self, sha256: str) -> bytes:
        try:
            return self.object_path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"archive object {sha256} is missing", hint="run `sochi archive verify`"
            ) from None

    def entries(
        self,
        *,
        client: str | None = None,
        period: str | None = None,
        form: str | None = None,
        kind: str | None = None,
        item_id: int | None = None,
        submission_id: str | None = None,
    ) -> list[ArchiveEntry]:
        sql, params = f"{_ENTRY_SELECT} WHERE 1 = 1", []
        for column, value in (
            ("client_inn", client),
            ("period", period),
            ("form", form.upper() if form else None),
            ("kind", kind),
            ("item_id", item_id),
            ("submission_id", submission_id),
        ):
            if value is not None:
                sql += f" AND e.{column} = ?"
                params.append(value)
        rows = self.journal.query(sql + " ORDER BY e.client_inn, e.period, e.form, e.id", params)
        return [_entry(row) for row in rows]

    # checking ------------------------------------------------------------------------
    def verify(self) -> ArchiveCheck:
        """Recompute the digest of every indexed object; list the missing and corrupt ones,
        and the files on disk no index entry names. One object folder at a time (memory flat
        in the archive's size)."""
        check = ArchiveCheck()
        on_disk = self.files_by_folder()
        for prefix in sorted({f"{n:02x}" for n in range(256)} | set(on_disk)):
            files = on_disk.get(prefix, {})
            rows = (
                self.journal.query(
                    "SELECT sha256, size FROM objects WHERE sha256 >= ? AND sha256 < ?",
                    (prefix, prefix + "g"),
                )
                if _OBJECT_FOLDER.fullmatch(prefix)
                else []
            )
            for row in rows:
                sha = str(row["sha256"])
                check.checked += 1
                if files.pop(sha[2:], None) is None:
                    check.missing.append(sha)
                    continue
                try:
                    digest, size = file_sha256(self.object_path(sha))
                except OSError:
                    check.corrupt.append(sha)
                    continue
                if digest != sha or size != int(row["size"]):
                    check.corrupt.append(sha)
            for name, kind in sorted(files.items()):
                shown = printable(f"{prefix}/{name}" if prefix else name)
                (check.temporary if kind == "temporary" else check.unindexed).append(shown)
        check.missing.sort()
        check.corrupt.sort()
        return check

    def files_by_folder(self) -> dict[str, dict[str, str]]:
        return scan_objects(self.root)

    # export --------------------------------------------------------------------------
    def export(
        self,
        destination: Path,
        *,
        client: str | None = None,
        period: str | None = None,
        form: str | None = None,
        on_file: Callable[[int, int], None] | None = None,
    ) -> ExportResult:
        """Copy the selected objects to DIR or FILE.zip as CLIENT_INN/PERIOD/FORM/…, manifest.

        `on_file(done, total)` is called after each object copied (progress)."""
        entries = self.entries(client=client, period=period, form=form)
        if not entries:
            raise NotFound("nothing archived matches", hint="see `sochi archive list`")
        layout = list(_layout(entries))
        for entry, _name in layout:
            if not self.object_path(entry.sha256).is_file():
                raise NotFound(
                    f"archive object {entry.sha256} ({entry.kind}) is missing",
                    hint="run `sochi archive verify`",
                )
        manifest = {
            "generator": "sochi",
            "exported_at": now_text(),
            "filter": {"client": client, "period": period, "form": form},
            "files": [{"path": name, **entry.to_json()} for entry, name in layout],
        }
        manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
        total = sum(entry.size for entry, _ in layout) + len(manifest_bytes)
        destination = Path(destination)
        try:
            if destination.suffix.lower() == ".zip":
                self._export_zip(destination, layout, manifest_bytes, on_file)
            else:
                self._export_dir(destination, layout, manifest_bytes, on_file)
        except OSError as exc:
            raise storage_error(exc, destination, "export") from None
        return ExportResult(destination, len(layout) + 1, total)

    def _export_dir(
        self,
        destination: Path,
        layout: Sequence[tuple[ArchiveEntry, str]],
        manifest: bytes,
        on_file: Callable[[int, int], None] | None,
    ) -> None:
        if destination.exists() and not destination.is_dir():
            raise UsageError(f"{destination} exists and is not a directory")
        for done, (entry, name) in enumerate(layout, start=1):
            target = destination / name
            make_private_dirs(target.parent)
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            with (
                open(self.object_path(entry.sha256), "rb") as source,
                os.fdopen(os.open(target, flags, PRIVATE_FILE), "wb") as copy,
            ):
                shutil.copyfileobj(source, copy)
            if on_file is not None:
                on_file(done, len(layout))
        atomic_write_bytes(destination / "manifest.json", manifest)

    def _export_zip(
        self,
        destination: Path,
        layout: Sequence[tuple[ArchiveEntry, str]],
        manifest: bytes,
        on_file: Callable[[int, int], None] | None,
    ) -> None:
        make_private_dirs(destination.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
        try:
            with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                for done, (entry, name) in enumerate(layout, start=1):
                    zf.write(self.object_path(entry.sha256), name)
                    if on_file is not None:
                        on_file(done, len(layout))
                zf.writestr("manifest.json", manifest)
            os.replace(tmp, destination)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


_ENTRY_SELECT = (
    "SELECT e.*, o.size AS size FROM archive_entries e JOIN objects o ON o.sha256 = e.sha256"
)
_DEFAULT_NAMES = {
    ObjectKind.REPORT: "report.xml",
    ObjectKind.SIGNATURE: "report.xml.p7s",
    ObjectKind.RECEIPT: "receipt.json",
    ObjectKind.RECEIPT_SIGNATURE: "receipt.json.p7s",
    ObjectKind.PROTOCOL: "protocol.json",
    ObjectKind.PROTOCOL_SIGNATURE: "protocol.json.p7s",
}


def sync_files(root: Path, paths: Sequence[Path]) -> None:
    """Flush `paths` (and their renames) to disk: one syncfs(2) on Linux, else fsync each."""
    syncfs = _syncfs()
    if syncfs is not None:
        fd = os.open(root, os.O_RDONLY)
        try:
            if syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise storage_error(exc, path, "archive") from None


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """libc's syncfs(2), looked up once (None where it does not exist)."""
    try:
        import ctypes

        function: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    return function


def scan_objects(root: Path) -> dict[str, dict[str, str]]:
    """{folder: {file name: "object" | "temporary" | "other"}} under `root/objects/`
    (folder "" holds stray files at the top)."""
    found: dict[str, dict[str, str]] = {}
    objects = Path(root) / "objects"
    try:
        folders = list(os.scandir(objects))
    except FileNotFoundError:
        return found
    except OSError as exc:
        raise storage_error(exc, objects, "archive", verb="read") from None
    for folder in folders:
        if not folder.is_dir(follow_symlinks=False):
            found.setdefault("", {})[folder.name] = "other"
            continue
        try:
            names = os.listdir(folder.path)
        except OSError as exc:
            raise storage_error(exc, Path(folder.path), "archive", verb="read") from None
        entries = found.setdefault(folder.name, {})
        for name in names:
            if name.startswith(".") and name.endswith(".tmp"):
                entries[name] = "temporary"
            elif _OBJECT_NAME.fullmatch(folder.name + name):
                entries[name] = "object"
            else:
                entries[name] = "other"
    return found


def object_files(root: Path) -> list[str]:
    """The object files on disk under `root`, as `ab/cdef…` (sorted)."""
    return [
        f"{folder}/{name}"
        for folder, files in sorted(scan_objects(root).items())
        for name, kind in sorted(files.items())
        if kind == "object"
    ]


def _safe(part: str | None, fallback: str) -> str:
    text = "".join(c if c.isalnum() or c in "._-" else "_" for c in (part or ""))
    return text.strip(".") or fallback


def _layout(entries: Sequence[ArchiveEntry]) -> Iterator[tuple[ArchiveEntry, str]]:
    """Browsable names: CLIENT_INN/PERIOD/FORM[-cN]/file; clashes get the digest's prefix."""
    used: set[str] = set()
    for entry in entries:
        folder = "/".join(
            (
                _safe(entry.client_inn, "no-client"),
                _safe(entry.period, "no-period"),
                _safe(entry.form, "no-form")
                + (f"-c{entry.correction}" if entry.correction else ""),
            )
        )
        base = _safe(entry.filename, "") or _DEFAULT_NAMES.get(
            ObjectKind(entry.kind), f"{entry.kind}.bin"
        )
        if entry.kind in (ObjectKind.ATTACHMENT, ObjectKind.ATTACHMENT_SIGNATURE):
            folder += "/attachments"
        name = f"{folder}/{base}"
        if name in used:
            stem, dot, ext = base.partition(".")
            name = f"{folder}/{stem}-{entry.sha256[:8]}{dot}{ext}"
        if name in used:
            continue  # the very same object under the same name: one copy is enough
        used.add(name)
        yield entry, name


def _entry(row: sqlite3.Row) -> ArchiveEntry:
    return ArchiveEntry(
        id=int(row["id"]),
        sha256=row["sha256"],
        size=int(row["size"]),
        kind=row["kind"],
        item_id=row["item_id"],
        submission_id=row["submission_id"],
        client_inn=row["client_inn"],
        form=row["form"],
        period=row["period"],
        correction=row["correction"],
        filename=row["filename"],
        created_at=row["created_at"],
    )


__all__ = [
    "Archive",
    "ArchiveCheck",
    "ArchiveEntry",
    "ExportResult",
    "ObjectKind",
    "Target",
    "file_sha256",
    "object_files",
    "scan_objects",
    "sync_files",
]
