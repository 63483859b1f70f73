"""Doctor checks of recent trouble, from the local journal only: the last submissions that did
not go through (with the operator's or the agency's reason) and interrupted batches."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import SochiError
from sochi_cli.services.diagnostics import Check, Finding
from sochi_cli.services.diagnostics_context import DoctorContext, SkipCheck
from sochi_cli.services.rejections import Rejected, rejection_fix, rejection_kind
from sochi_cli.store.journal import BatchStatus, ItemState

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sochi_cli.store.journal import Batch, Item, Journal

RECENT_BATCHES = 10
SHOWN = 10
TROUBLE_STATES = (ItemState.FAILED, ItemState.REJECTED, ItemState.INVALID)
UNFINISHED = (BatchStatus.OPEN, BatchStatus.RUNNING, BatchStatus.INTERRUPTED)

# What fixes a refusal, by the operator's problem code (docs/api.md).
_FIX_BY_CODE = {
    "balance_exhausted": "top up the personal account (clause 5.2), then: sochi account balance",
    "poa_missing": "add the client with its power of attorney: sochi clients add INN …",
    "poa_expired": "record the client's new power of attorney: sochi clients renew INN "
    "--poa-scan SCAN.pdf --poa-number N --issued YYYY-MM-DD --valid-until YYYY-MM-DD",
    "poa_period_not_covered": "the power of attorney does not cover the period: get one that does",
    "registration_pending": "wait for the account's activation (sochi doctor --only account)",
    "geo_blocked": "from abroad: sochi access abroad --help (clause 3.6)",
    "signature_invalid": "sochi doctor --only signing   (certificate, clock, key)",
    "validation_failed": "sochi validate FILE, fix the report, then submit it again",
    "idempotency_conflict": "the report changed after it was filed: file it as a correction",
    "maintenance": "sochi batch resume BATCH after the maintenance window",
    "original_exists": "an original is on file: set the report's <correction> to the next "
    "number (without one in it: sochi submit FILE --correction N)",
    "correction_out_of_order": "file the corrections in order: sochi submissions list --client INN",
    "period_not_ended": "the period has not ended: file it after its last day",
    "client_detached": "the client is detached; if you represent them again: sochi clients "
    "attach INN --poa-scan SCAN.pdf …",
}


def _journal(ctx: DoctorContext) -> Journal | None:
    from sochi_cli.services.diagnostics_setup import open_journal

    bad = ctx.findings.get("setup.journal")
    if bad is not None and bad.result.value == "fail":
        raise SkipCheck("the journal is damaged (see setup.journal)")
    try:
        return open_journal(ctx)
    except SochiError as err:
        raise SkipCheck(f"the journal cannot be read: {err.message}") from None


def recent_items(
    ctx: DoctorContext, *, states: Sequence[str] | None = None, limit: int = 1000
) -> list[Item]:
    """Items (in `states`) of the last batches, newest batch first; none without a journal."""
    journal = _journal(ctx)
    if journal is None:
        return []
    with journal:
        found: list[Item] = []
        for batch in journal.batches(limit=RECENT_BATCHES):
            found.extend(journal.batch_items(batch.id, states=states))
            if len(found) >= limit:
                break
    return found[:limit]


def _fix_for(item: Item) -> str:
    if item.state == ItemState.REJECTED:
        return rejection_fix(
            Rejected(
                item.client_inn,
                item.form,
                item.period,
                item.correction,
                item.submission_id,
                item.error_message,
                item.source_path,
            )
        )
    if item.state == ItemState.INVALID:
        return f"sochi validate {item.source_path}"
    fix = _FIX_BY_CODE.get(item.error_code or "", f"sochi batch show {item.batch_id}")
    return fix.replace("INN", item.client_inn).replace("BATCH", str(item.batch_id))


def item_facts(item: Item) -> dict[str, Any]:
    """A journal item as the doctor shows it (and a bundle keeps it): no path, no content."""
    return {
        "batch": item.batch_id,
        "seq": item.seq,
        "client_inn": item.client_inn,
        "form": item.form,
        "period": item.period,
        "correction": item.correction,
        "state": item.state,
        "stage": item.stage,
        "in_flight": item.in_flight,
        "attempts": item.attempts,
        "submission_id": item.submission_id,
        "error_code": item.error_code,
        "error_message": item.error_message,
        "file": os.path.basename(item.source_path),
        "rejection": rejection_kind(item.error_message)
        if item.state == ItemState.REJECTED
        else None,
        "updated_at": item.updated_at,
        "fix": _fix_for(item),
    }


def check_submissions(ctx: DoctorContext, check: Check) -> Finding:
    items = recent_items(ctx, states=TROUBLE_STATES)
    items.sort(key=lambda i: i.updated_at, reverse=True)
    shown = items[:SHOWN]
    evidence = {"count": len(items), "items": [item_facts(i) for i in shown]}
    if not items:
        return check.ok(
            f"nothing refused, rejected or invalid in the last {RECENT_BATCHES} batches",
            evidence=evidence,
        )
    first = shown[0]
    reason = first.error_message or first.error_code or first.state
    return check.warn(
        f"{len(items)} recent report(s) did not go through; latest: {first.form} "
        f"{first.period} for {first.client_inn} {first.state}: {reason}",
        evidence=evidence,
        fix=_fix_for(first),
    )


def _locked_by(journal_path: str) -> str | None:
    """The pid holding the profile's batch lock (a batch running now), else None."""
    import fcntl

    lock = journal_path + ".lock"
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
    finally:
        os.close(fd)  # also releases the shared lock at once
    return None


def _batch_json(batch: Batch, counts: dict[str, int], in_flight: int) -> dict[str, Any]:
    return {
        "id": batch.id,
        "created_at": batch.created_at,
        "status": batch.status,
        "items": batch.item_count,
        "counts": counts,
        "in_flight": in_flight,
        "fix": f"sochi batch resume {batch.id}",
    }


def check_batches(ctx: DoctorContext, check: Check) -> Finding:
    journal = _journal(ctx)
    if journal is None:
        return check.ok("no batches yet", evidence={})
    with journal:
        running = _locked_by(str(journal.path))
        stopped = []
        for batch in journal.batches(limit=RECENT_BATCHES):
            if batch.status not in UNFINISHED:
                continue
            counts = journal.state_counts(batch.id)
            stopped.append(_batch_json(batch, counts, len(journal.in_flight(batch.id))))
    evidence: dict[str, Any] = {"unfinished": stopped, "running_pid": running}
    if running is not None and stopped:
        return check.ok(
            f"batch {stopped[0]['id']} is running now (pid {running})", evidence=evidence
        )
    if stopped:
        first = stopped[0]
        return check.warn(
            f"{len(stopped)} batch(es) did not finish; batch {first['id']} "
            f"({first['items']} items, {first['in_flight']} in flight) stopped "
            f"{first['status']}",
            evidence=evidence,
            fix=str(first["fix"]),
        )
    return check.ok("no interrupted batch", evidence=evidence)


CHECKS = [
    Check("trouble.submissions", "Recent failed submissions", check_submissions, "6.2, 6.3"),
    Check("trouble.batches", "Interrupted batches", check_batches, "16.5"),
]

__all__ = ["CHECKS", "item_facts", "recent_items"]
