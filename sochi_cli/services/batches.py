"""The journal's batches for a browsing front-end: summaries, outcomes, who is submitting now.

Read-only: opening the journal creates nothing when the profile has never filed, and a
read-only copy of the data directory can be browsed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sochi_cli.services.batch_report import BatchSummary, OutcomeRow, batch_outcomes, batch_summary


@dataclass(frozen=True)
class BatchListing:
    """Batches newest first, and the pid of a process submitting with this profile now."""

    batches: list[BatchSummary]
    submitting_pid: int | None  # 0: locked by a process whose pid is unknown


def list_batches(profile: str, *, limit: int | None = 200) -> BatchListing:
    from sochi_cli.store.journal import Journal

    journal = Journal.reader(profile)
    if journal is None:
        return BatchListing([], None)
    with journal:
        summaries = [batch_summary(journal, b) for b in journal.batches(limit=limit)]
        holder = journal.writer_lock_holder()
    return BatchListing(summaries, holder)


def batch_detail(profile: str, batch_id: int) -> tuple[BatchSummary, list[OutcomeRow]]:
    """One batch's summary and every item's outcome; NotFound for an unknown id."""
    from sochi_cli.errors import NotFound
    from sochi_cli.store.journal import Journal

    journal = Journal.reader(profile)
    if journal is None:
        raise NotFound("no batches yet in this profile", hint="file reports first")
    with journal:
        batch = journal.batch(batch_id)
        return batch_summary(journal, batch), batch_outcomes(journal, batch.id)


def submitting_pid(profile: str) -> int | None:
    """The pid of a process holding the profile's batch lock now (0 when unknown), or None."""
    from sochi_cli.store.journal import Journal

    journal = Journal.reader(profile)
    if journal is None:
        return None
    with journal:
        return journal.writer_lock_holder()


def is_resumable(summary: BatchSummary) -> bool:
    """A batch a rerun would continue: stopped early, or with items still in flight (a run
    holding the lock now is not resumable until it ends)."""
    return summary.follow_up is not None or (summary.status != "running" and summary.in_flight > 0)


__all__ = [
    "BatchListing",
    "batch_detail",
    "is_resumable",
    "list_batches",
    "submitting_pid",
]
