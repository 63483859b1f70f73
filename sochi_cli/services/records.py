"""A profile's local records: their health (journal integrity, archive vs index, audit
anchors) and read-only views for browsing (audit log, archive) — clauses 6.5 and 16.5.

Shared by `sochi archive verify`, `sochi audit verify|head`, `sochi doctor` and the TUI;
everything opens the journal read-only, so it also works on a read-only copy of the data
directory, and nothing is created for a profile that never filed.
A journal that is missing or empty beside a non-empty archive (or a head file naming
records) is reported as lost, never as "ok, 0 records".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import NotFound, SochiError
from sochi_cli.store.archive import Archive, ArchiveCheck, ExportResult, object_files
from sochi_cli.store.audit import GENESIS, AuditLog, AuditVerification, Head, read_head_file
from sochi_cli.store.audit import head_file as head_file_of
from sochi_cli.store.files import printable
from sochi_cli.store.journal import IntegrityReport, Journal, check_integrity, journal_path


def journal_integrity(profile: str, *, full: bool = False) -> IntegrityReport:
    """SQLite's check of the profile's journal (`quick_check`, or the full one): never raises
    for damage — `state` is ok, damaged, missing or empty. For `sochi doctor`."""
    return check_integrity(journal_path(profile), full=full)


def archive_root(profile: str) -> Path:
    return journal_path(profile).parent / "archive"


def journal_presence(path: Path) -> str:
    """ "missing", "empty" (0 bytes or no sochi schema) or "present" (not looked into)."""
    if not path.exists():
        return "missing"
    if path.stat().st_size == 0:
        return "empty"
    try:
        with Journal(path, readonly=True, check=False) as journal:
            return "empty" if journal.blank else "present"
    except SochiError:
        return "present"  # damaged or unreadable: the caller's own open reports it


def lost_journal(profile: str) -> str | None:
    """Why the journal counts as lost — missing or empty next to an archive or an audit head
    file that need it — or None (also for a present journal, damaged or not)."""
    path = journal_path(profile)
    state = journal_presence(path)
    if state == "present":
        return None
    reasons = []
    objects = len(object_files(archive_root(profile)))
    if objects:
        reasons.append(f"the archive beside it holds {objects} object(s)")
    head, _trouble = read_head_file(head_file_of(path))
    if head is not None and head.seq > 0:
        reasons.append(f"the audit head file names record {head.seq}")
    if not reasons:
        return None
    return f"the journal at {printable(path)} is {state} but {' and '.join(reasons)}"


LOST_REMEDY = (
    "its index and history are lost: run `sochi archive reconcile` (or `sochi restore BACKUP`)"
)


def verify_archive(profile: str) -> ArchiveCheck:
    """Every indexed object against its digest, every object file against the index."""
    journal = Journal.reader(profile)
    if journal is None:
        check = ArchiveCheck()
        lost = lost_journal(profile)
        if lost:
            check.problems.append(f"{lost}: {LOST_REMEDY}")
            check.unindexed = object_files(archive_root(profile))
        return check
    with journal:
        return Archive(journal).verify()


def verify_audit(profile: str, anchors: Sequence[str] = ()) -> AuditVerification:
    """Walk the audit chain and check it against the head file and the anchors given."""
    from sochi_cli.store.audit import parse_anchor

    wanted = [parse_anchor(a) for a in anchors]  # a bad --head is a usage error first
    journal = Journal.reader(profile)
    if journal is None:
        lost = lost_journal(profile)
        named = [seq for seq, _ in wanted if seq != 0]
        if lost is None and named:
            lost = f"there is no journal at {printable(journal_path(profile))} to check --head"
        if lost:
            return AuditVerification(
                False, 0, GENESIS, broken_seq=1, reason=f"{lost}: {LOST_REMEDY}"
            )
        return AuditVerification(True, 0, GENESIS)
    with journal:
        return AuditLog(journal).verify(anchors)


@dataclass(frozen=True)
class HeadReport:
    """`sochi audit head`: the chain's head, and whether the head file agrees."""

    head: Head
    head_file: Path
    stored: Head | None
    problem: str | None

    @property
    def agrees(self) -> bool:
        return self.stored is not None and self.stored == Head(
            self.head.seq, self.head.hash, self.stored.at
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.head.to_json(),
            "head_file": {
                "path": printable(self.head_file),
                "head": self.stored.to_json() if self.stored else None,
                "agrees": self.agrees,
                "problem": self.problem,
            },
        }


def audit_head(profile: str) -> HeadReport:
    """The last record of the chain (to keep elsewhere) and the head file's view of it."""
    path = journal_path(profile)
    stored, trouble = read_head_file(head_file_of(path))
    journal = Journal.reader(profile)
    if journal is None:
        lost = lost_journal(profile)
        if lost is None:
            raise NotFound("no audit records yet in this profile")
        return HeadReport(Head(0, GENESIS), head_file_of(path), stored, f"{lost}: {LOST_REMEDY}")
    with journal:
        head = AuditLog(journal).head()
    problem = trouble
    if problem is None and stored is not None and stored.seq > head.seq:
        problem = f"the head file names record {stored.seq}, the chain ends at {head.seq}"
    return HeadReport(head, head_file_of(path), stored, problem)


# browsing (the TUI's audit and archive screens) -----------------------------------------
if TYPE_CHECKING:
    from datetime import datetime

    from sochi_cli.store.archive import ArchiveEntry
    from sochi_cli.store.audit import AuditRecord


def audit_records(
    profile: str, *, since: datetime | None = None, action: str | None = None
) -> list[AuditRecord]:
    """Audit records, oldest first (optionally from `since`, for an action or its prefix)."""
    journal = Journal.reader(profile)
    if journal is None:
        return []
    with journal:
        return AuditLog(journal).records(since=since, action=action)


def archive_entries(
    profile: str,
    *,
    client: str | None = None,
    period: str | None = None,
    form: str | None = None,
    kind: str | None = None,
) -> list[ArchiveEntry]:
    journal = Journal.reader(profile)
    if journal is None:
        return []
    with journal:
        return Archive(journal).entries(client=client, period=period, form=form, kind=kind)


def record_audit(profile: str, action: str, details: dict[str, Any]) -> str | None:
    """Append `action` to the audit log of a command that only read the records and wrote
    its result elsewhere (`archive export`, `backup`); None once recorded, else why it
    could not be — a read-only copy of the data directory, say. The command's own work is
    done by then and stands: that is a warning for the user, not a failure."""
    from sochi_cli.errors import StorageError
    from sochi_cli.store.journal import JournalDamaged

    try:
        with Journal.for_profile(profile) as journal:
            AuditLog(journal).append(action, details)
    except JournalDamaged:
        raise
    except StorageError as exc:
        return f"not recorded in the audit log: {exc.message}"
    return None


def export_archive(
    profile: str,
    destination: Path,
    *,
    client: str | None = None,
    period: str | None = None,
    form: str | None = None,
    on_file: Callable[[int, int], None] | None = None,
) -> tuple[ExportResult, str | None]:
    """Copy archived objects to DIR or FILE.zip (read-only: works on a read-only copy of the
    data directory); the export is in the audit log, or the warning says why not."""
    journal = Journal.reader(profile)
    if journal is None:
        raise NotFound("nothing archived yet in this profile")
    with journal:
        result = Archive(journal).export(
            destination, client=client, period=period, form=form, on_file=on_file
        )
    warning = record_audit(
        profile,
        "archive.export",
        {
            "out": printable(destination),
            "files": result.files,
            "client": client,
            "period": period,
            "form": form,
        },
    )
    return result, warning


def read_archived(profile: str, sha256: str) -> bytes:
    """The bytes of one archived object (NotFound/StorageError when it is gone)."""
    journal = Journal.reader(profile)
    if journal is None:
        raise NotFound("nothing archived yet in this profile")
    with journal:
        return Archive(journal).read(sha256)


__all__ = [
    "HeadReport",
    "archive_entries",
    "archive_root",
    "audit_head",
    "audit_records",
    "export_archive",
    "journal_integrity",
    "journal_presence",
    "lost_journal",
    "read_archived",
    "record_audit",
    "verify_archive",
    "verify_audit",
]
