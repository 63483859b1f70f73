"""`sochi backup FILE` and `sochi restore FILE`: a profile's journal and archive in one file.

The backup is a ZIP: `sochi-backup.json` (what it holds, with digests), `journal.sqlite3`
(a consistent snapshot taken with SQLite's online backup API, so a batch may be running)
and `archive/objects/ab/cdef…` — every object the snapshot indexes (objects are synced
before they are indexed and never change, so each one is on disk). It is written to a
temporary file beside FILE and renamed: FILE is complete or absent, whenever the process
dies. Session tokens and the configuration are not in it.

`restore` verifies the whole file first (ZIP checksums, the journal's integrity and audit
chain, every object's digest, every indexed object present) and changes nothing if any
check fails; then it adds the objects to the archive and puts the journal in place, the
replaced one kept beside it. Both are recorded in the audit log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sochi_cli import __version__
from sochi_cli.errors import NotFound, UsageError, ValidationFailed
from sochi_cli.services.records import record_audit
from sochi_cli.store.archive import Archive, sync_files
from sochi_cli.store.audit import AuditLog
from sochi_cli.store.files import PRIVATE_FILE, make_private_dirs, os_reason, printable
from sochi_cli.store.journal import (
    JOURNAL_FILE,
    SCHEMA_VERSION,
    Journal,
    check_integrity,
    journal_path,
    now_text,
    storage_error,
    writer_lock,
)

FORMAT = "sochi-backup-1"
MANIFEST = "sochi-backup.json"
OBJECTS = "archive/objects/"
_CHUNK = 1 << 20
_PARTIAL = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.partial")
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError)
_WORKDIR = re.compile(r"\.sochi-backup-(?P<pid>\d+)-.+")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BackupResult:
    path: Path
    sha256: str
    size: int
    objects: int
    journal_schema: int
    audit_head: str
    warnings: tuple[str, ...] = ()  # e.g. not in the audit log: the data directory is read-only

    def to_json(self) -> dict[str, Any]:
        return {
            "path": printable(self.path),
            "sha256": self.sha256,
            "size": self.size,
            "objects": self.objects,
            "journal_schema": self.journal_schema,
            "audit_head": self.audit_head,
            "warnings": list(self.warnings),
        }


@dataclass
class BackupCheck:
    """What `restore` (and `restore --check`) found in a backup file."""

    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    objects: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def failure(self) -> ValidationFailed | None:
        """The error of a file that fails verification (exit 4): its first problem, how many
        more, every one in the details; None when it verifies."""
        if self.ok:
            return None
        more = len(self.problems) - 1
        return ValidationFailed(
            f"{printable(self.path)} fails verification: {self.problems[0]}"
            + (f" (and {more} more)" if more else ""),
            hint="nothing was changed",
            code="backup_invalid",
            details=self.to_json(),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "path": printable(self.path),
            "ok": self.ok,
            "profile": self.manifest.get("profile"),
            "created_at": self.manifest.get("created_at"),
            "objects": self.objects,
            "audit_head": self.manifest.get("audit_head"),
            "problems": self.problems,
        }


@dataclass(frozen=True)
class RestoreResult:
    check: BackupCheck
    added_objects: int
    replaced: Path | None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.check.to_json(),
            "added_objects": self.added_objects,
            "replaced": printable(self.replaced) if self.replaced else None,
        }


# backup ---------------------------------------------------------------------------------
def backup(
    profile: str, destination: Path, *, force: bool = False, progress: Progress | None = None
) -> BackupResult:
    """Write a consistent snapshot of the profile's journal and archive to `destination`."""
    destination = Path(destination)
    if destination.is_dir():
        raise UsageError(f"{printable(destination)} is a folder; give a file name (FILE.zip)")
    if destination.exists() and not force:  # the words of every --out (commands/_output.py)
        raise UsageError(
            f"{printable(destination)}: already exists",
            hint="pass --force to replace it, or choose another name",
            code="file_exists",
        )
    # read-only (a read-only copy of the data directory backs up too): the record of the
    # backup is appended afterwards, where the journal can be written
    journal = Journal.reader(profile)
    if journal is None:
        raise NotFound(f"nothing to back up: profile {profile} has no journal yet")
    with journal:
        archive = Archive(journal)
        make_private_dirs(destination.parent)
        _remove_stale_partials(destination)
        partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
        workdir = Path(
            tempfile.mkdtemp(prefix=f".sochi-backup-{os.getpid()}-", dir=destination.parent)
        )
        try:
            snapshot = workdir / JOURNAL_FILE
            journal.copy_to(snapshot)
            schema = journal.schema
            with Journal(snapshot, readonly=True, check=False) as copy:
                objects = [
                    (str(r["sha256"]), int(r["size"]))
                    for r in copy.query("SELECT sha256, size FROM objects ORDER BY sha256")
                ]
                head = AuditLog(copy).head()
            manifest = {
                "format": FORMAT,
                "profile": profile,
                "created_at": now_text(),
                "sochi": __version__,
                "journal": {
                    "sha256": _file_digest(snapshot),
                    "size": snapshot.stat().st_size,
                    "schema": schema,
                },
                "objects": len(objects),
                "audit_head": head.anchor,
            }
            _write_zip(partial, snapshot, manifest, archive, objects, progress)
            os.replace(partial, destination)
            _fsync(destination.parent)
        except OSError as exc:
            raise storage_error(exc, destination, "backup") from None
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
    digest = _file_digest(destination)
    warning = record_audit(
        profile,
        "backup.create",
        {
            "file": printable(destination.resolve()),
            "sha256": digest,
            "objects": len(objects),
            "snapshot_audit_head": head.anchor,
        },
    )
    return BackupResult(
        destination,
        digest,
        destination.stat().st_size,
        len(objects),
        schema,
        head.anchor,
        (warning,) if warning else (),
    )


def _write_zip(
    partial: Path,
    snapshot: Path,
    manifest: dict[str, Any],
    archive: Archive,
    objects: list[tuple[str, int]],
    progress: Progress | None,
) -> None:
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as raw:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2) + "\n")
            zf.write(snapshot, JOURNAL_FILE)
            for done, (sha, size) in enumerate(objects, start=1):
                source = archive.object_path(sha)
                try:
                    digest, copied = _copy_into(zf, source, f"{OBJECTS}{sha[:2]}/{sha[2:]}")
                except FileNotFoundError:
                    raise ValidationFailed(
                        f"archive object {sha} is missing; nothing was written",
                        hint="run `sochi archive verify` (and `sochi archive reconcile`) first",
                        code="archive_damaged",
                    ) from None
                if digest != sha or copied != size:
                    raise ValidationFailed(
                        f"archive object {sha} is corrupt; nothing was written",
                        hint="run `sochi archive verify` (and `sochi archive reconcile`) first",
                        code="archive_damaged",
                    )
                if progress is not None:
                    progress(done, len(objects))
        raw.flush()
        os.fsync(raw.fileno())


def _copy_into(zf: zipfile.ZipFile, source: Path, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as fh, zf.open(name, "w") as out:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _remove_stale_partials(destination: Path) -> None:
    """What backups whose process died (kill -9, power cut) left beside FILE is removed:
    their partial file and their working folder."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(destination.parent):
            partial = _PARTIAL.fullmatch(entry.name)
            workdir = _WORKDIR.fullmatch(entry.name)
            if partial and partial["name"] == destination.name and not _alive(int(partial["pid"])):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            elif workdir and entry.is_dir() and not _alive(int(workdir["pid"])):
                shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """fsync a file, or a folder (so the names renamed into it are durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# restore --------------------------------------------------------------------------------
def check_backup(source: Path) -> BackupCheck:
    """Verify a backup file without changing anything (what `restore` does first)."""
    with _opened(source) as (check, zf, workdir):
        if check.ok:
            _check_contents(check, zf, workdir)
        return check


@contextlib.contextmanager
def _opened(source: Path) -> Iterator[tuple[BackupCheck, zipfile.ZipFile, Path]]:
    source = Path(source)
    check = BackupCheck(source)
    try:
        zf = zipfile.ZipFile(source)
    except FileNotFoundError:
        raise NotFound(f"no backup file {printable(source)}") from None
    except OSError as exc:
        raise UsageError(f"{printable(source)}: cannot read: {os_reason(exc)}") from None
    except zipfile.BadZipFile:
        raise ValidationFailed(
            f"{printable(source)} is not a sochi backup (not a ZIP file, or cut short)",
            code="backup_invalid",
        ) from None
    workdir = Path(tempfile.mkdtemp(prefix="sochi-restore-"))
    try:
        with zf:
            try:
                check.manifest = json.loads(zf.read(MANIFEST))
            except KeyError:
                check.problems.append(f"not a sochi backup: the ZIP file has no {MANIFEST}")
            except (ValueError, *_DAMAGED):
                check.problems.append(f"{MANIFEST} is unreadable (the file is damaged)")
            else:
                if check.manifest.get("format") != FORMAT:
                    check.problems.append(f"unknown backup format {check.manifest.get('format')!r}")
            yield check, zf, workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _check_contents(check: BackupCheck, zf: zipfile.ZipFile, workdir: Path) -> None:
    """Everything in the file, checked; what is wrong goes to `check.problems`."""
    try:
        _verify_contents(check, zf, workdir)
    except _DAMAGED as exc:  # a flipped bit in compressed data, a cut file…
        check.problems.append(f"the file is damaged: {exc or type(exc).__name__}")


def _verify_contents(check: BackupCheck, zf: zipfile.ZipFile, workdir: Path) -> None:
    from sochi_cli.store.audit import AuditLog

    bad = zf.testzip()
    if bad is not None:
        check.problems.append(f"{bad}: checksum mismatch (the file is damaged)")
        return
    names = set(zf.namelist())
    if JOURNAL_FILE not in names:
        check.problems.append(f"{JOURNAL_FILE} is missing")
        return
    journal_file = workdir / JOURNAL_FILE
    with zf.open(JOURNAL_FILE) as src, open(journal_file, "wb") as dst:
        shutil.copyfileobj(src, dst, _CHUNK)
    expected = check.manifest.get("journal", {})
    if expected.get("sha256") != _file_digest(journal_file):
        check.problems.append("the journal does not match the digest in the manifest")
    report = check_integrity(journal_file, full=True)
    if report.state != "ok":
        check.problems.append(f"the journal is {report.state}: {'; '.join(report.problems)}")
        return
    if (report.schema or 0) > SCHEMA_VERSION:
        check.problems.append(f"the journal has schema {report.schema}; upgrade sochi")
        return
    with Journal(journal_file, readonly=True, check=False) as journal:
        audit = AuditLog(journal).verify([str(check.manifest.get("audit_head", ""))])
        if not audit.ok:
            check.problems.append(
                f"audit chain broken at record {audit.broken_seq}: {audit.reason}"
            )
        indexed = {
            (str(r["sha256"]), int(r["size"]))
            for r in journal.query("SELECT sha256, size FROM objects")
        }
    stored = {n[len(OBJECTS) :].replace("/", "") for n in names if n.startswith(OBJECTS)}
    for sha, size in sorted(indexed):
        if sha not in stored:
            check.problems.append(f"archive object {sha} is indexed but not in the backup")
            continue
        info = zf.getinfo(f"{OBJECTS}{sha[:2]}/{sha[2:]}")
        if info.file_size != size:
            check.problems.append(f"archive object {sha} has the wrong size")
            continue
        with zf.open(info) as fh:
            digest = hashlib.sha256()
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != sha:
            check.problems.append(f"archive object {sha} does not match its digest")
    check.objects = len(indexed)
    del check.problems[20:]  # the first twenty say enough


def restore(
    profile: str, source: Path, *, force: bool = False, progress: Progress | None = None
) -> RestoreResult:
    """Verify `source`, then put its journal and objects in place for `profile`."""
    target = journal_path(profile)
    with _opened(source) as (check, zf, workdir):
        if check.ok:
            _check_contents(check, zf, workdir)
        failure = check.failure()
        if failure is not None:
            raise failure
        make_private_dirs(target.parent)
        with writer_lock(target):
            replaced = _existing_journal(target, force)
            archive_root = target.parent / "archive"
            added = _restore_objects(zf, archive_root, progress)
            staged = target.with_name(f".{target.name}.{os.getpid()}.restoring")
            try:
                shutil.copyfile(workdir / JOURNAL_FILE, staged)
                os.chmod(staged, PRIVATE_FILE)
                _fsync(staged)
                if replaced is not None:
                    _set_aside(target, replaced)
                os.replace(staged, target)
                _fsync(target.parent)
            except OSError as exc:
                raise storage_error(exc, target) from None
            finally:
                with contextlib.suppress(FileNotFoundError):
                    staged.unlink()
        with Journal(target) as journal:
            AuditLog(journal).append(
                "backup.restore",
                {
                    "file": str(Path(source).resolve()),
                    "sha256": _file_digest(Path(source)),
                    "backup_created_at": check.manifest.get("created_at"),
                    "backup_audit_head": check.manifest.get("audit_head"),
                    "objects": check.objects,
                    "added_objects": added,
                    "replaced": str(replaced) if replaced else None,
                },
            )
    return RestoreResult(check, added, replaced)


def _existing_journal(target: Path, force: bool) -> Path | None:
    """Where the current journal will be kept, or None when there is none to keep."""
    from sochi_cli.services.records import journal_presence

    if journal_presence(target) != "present":
        return None
    stamp = now_text().replace(":", "").replace("-", "").split(".")[0]
    aside = target.with_name(f"{target.name}.replaced-{stamp}Z")
    if not force:
        raise UsageError(
            f"profile journal {printable(target)} exists; restoring replaces it",
            hint=f"pass --force (the current journal is kept as {printable(aside)})",
        )
    return aside


def _set_aside(target: Path, aside: Path) -> None:
    """Keep the current journal under `aside` (one file: its WAL folded in first)."""
    with contextlib.suppress(sqlite3.Error):
        db = sqlite3.connect(target)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
    os.link(target, aside)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{target}{suffix}")


def _restore_objects(zf: zipfile.ZipFile, root: Path, progress: Progress | None) -> int:
    """Add the backup's objects to the archive (those present and intact are kept)."""
    names = [n for n in zf.namelist() if n.startswith(OBJECTS) and not n.endswith("/")]
    archive_objects = root / "objects"
    added = 0
    written: list[Path] = []
    for done, name in enumerate(names, start=1):
        relative = name[len(OBJECTS) :]
        final = archive_objects / relative
        sha = relative.replace("/", "")
        if final.is_file():
            with contextlib.suppress(OSError):
                if _file_digest(final) == sha:
                    continue
        make_private_dirs(final.parent)
        partial = final.with_name(f".{final.name}.restore.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            with (
                zf.open(name) as src,
                os.fdopen(os.open(partial, flags, PRIVATE_FILE), "wb") as dst,
            ):
                shutil.copyfileobj(src, dst, _CHUNK)
            os.replace(partial, final)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise storage_error(exc, final, "archive") from None
        written.append(final)
        added += 1
        if progress is not None:
            progress(done, len(names))
    if written:
        sync_files(root, written)
    return added


__all__ = [
    "BackupCheck",
    "BackupResult",
    "RestoreResult",
    "backup",
    "check_backup",
    "restore",
]
