"""The subscriber's own records for browsing front-ends: the audit log and the local archive.

Read-only views over the profile's journal (clauses 6.5 and 16.5); nothing is created when
the profile has never filed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sochi_cli.store.archive import ArchiveCheck, ArchiveEntry
    from sochi_cli.store.audit import AuditRecord, AuditVerification


def audit_records(
    profile: str, *, since: datetime | None = None, action: str | None = None
) -> list[AuditRecord]:
    """Audit records, oldest first (optionally from `since`, for an action or its prefix)."""
    from sochi_cli.store.audit import AuditLog
    from sochi_cli.store.journal import Journal

    journal = Journal.existing(profile)
    if journal is None:
        return []
    with journal:
        return AuditLog(journal).records(since=since, action=action)


def verify_audit(profile: str) -> AuditVerification:
    """Walk the hash chain; the result names the first broken record, if any."""
    from sochi_cli.store.audit import GENESIS, AuditLog, AuditVerification
    from sochi_cli.store.journal import Journal

    journal = Journal.existing(profile)
    if journal is None:
        return AuditVerification(True, 0, GENESIS)
    with journal:
        return AuditLog(journal).verify()


def archive_entries(
    profile: str,
    *,
    client: str | None = None,
    period: str | None = None,
    form: str | None = None,
    kind: str | None = None,
) -> list[ArchiveEntry]:
    from sochi_cli.store.archive import Archive
    from sochi_cli.store.journal import Journal

    journal = Journal.existing(profile)
    if journal is None:
        return []
    with journal:
        return Archive(journal).entries(client=client, period=period, form=form, kind=kind)


def read_archived(profile: str, sha256: str) -> bytes:
    """The bytes of one archived object (NotFound/StorageError when it is gone)."""
    from sochi_cli.errors import NotFound
    from sochi_cli.store.archive import Archive
    from sochi_cli.store.journal import Journal

    journal = Journal.existing(profile)
    if journal is None:
        raise NotFound("nothing archived yet in this profile")
    with journal:
        return Archive(journal).read(sha256)


def verify_archive(profile: str) -> ArchiveCheck:
    """Recompute every object's SHA-256: missing and corrupt objects listed."""
    from sochi_cli.store.archive import Archive, ArchiveCheck
    from sochi_cli.store.journal import Journal

    journal = Journal.existing(profile)
    if journal is None:
        return ArchiveCheck()
    with journal:
        return Archive(journal).verify()


__all__ = ["archive_entries", "audit_records", "read_archived", "verify_archive", "verify_audit"]
