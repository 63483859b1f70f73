"""The operator as the last anchor: rebuild the journal and archive from what it holds.

`reconcile` (`sochi archive reconcile [--period P] [--client X]`) lists the operator's
submissions and, for each one the journal or the archive lacks, downloads the report, the
signature, attachments, receipts and the protocol (clause 16.5: the subscriber keeps its
own copy), checks them (digests against the submission and the signed delivery receipt,
receipt signatures against the operator's CA), archives them and records the filing in
the journal — as a new item of a `reconcile` batch when the journal never knew it. Then it
lists what the journal holds as filed that the operator does not know.

`adopt` is also how `sochi submit` settles an `idempotency_conflict` whose submission turns
out to be this very report (a rerun after the journal was lost): filed once, recorded with
the operator's submission id, not reported as a failure.

Each submission is settled in one step: its files are written and synced, then indexed and
recorded in one journal transaction — a kill leaves it either settled or untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.store.archive import Archive, ObjectKind, Target
from sochi_cli.store.audit import Actor, AuditLog
from sochi_cli.store.journal import (
    FILED_STATES,
    BatchStatus,
    Item,
    ItemState,
    Journal,
    Outcome,
    Stage,
)

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Receipt, Submission
    from sochi_cli.services.plan import PlanItem
    from sochi_cli.services.signing import TrustMaterial
    from sochi_cli.store.config import Config

_STATE_ORDER = {
    ItemState.RECEIVED: 1,
    ItemState.DELIVERED: 2,
    ItemState.ACCEPTED: 3,
    ItemState.REJECTED: 3,
}


def operator_state(submission: Submission) -> ItemState:
    try:
        state = ItemState(submission.status)
    except ValueError:
        return ItemState.RECEIVED
    return state if state in _STATE_ORDER else ItemState.RECEIVED


def same_filing(item: Item, submission: Submission) -> bool:
    """The operator's submission is this item's report for the same target, attachments too."""
    report = submission.report
    return (
        submission.client_inn == item.client_inn
        and submission.form.upper() == item.form.upper()
        and submission.period == item.period
        and submission.correction == item.correction
        and report is not None
        and report.sha256 == item.file_sha256
        and sorted(a.sha256 for a in submission.attachments)
        == sorted(str(a["sha256"]) for a in item.attachments)
    )


# what to fetch --------------------------------------------------------------------------
@dataclass
class Fetched:
    """What the operator holds for one submission, downloaded (None: not needed, archived)."""

    submission: Submission
    receipts: list[Receipt]
    report: bytes | None = None
    signature: bytes | None = None
    attachments: list[tuple[bytes | None, bytes]] = field(default_factory=list)


def document_parts(submission: Submission, archived: Callable[[str], bool]) -> list[str]:
    """The `GET /submissions/{id}/…` parts to download: the signatures always (small, and a
    local copy may be a superseded one), the report and attachments unless archived."""
    parts = []
    if submission.report is not None and not archived(submission.report.sha256):
        parts.append("report")
    parts.append("signature")
    for index, attachment in enumerate(submission.attachments):
        if not archived(attachment.sha256):
            parts.append(f"attachments/{index}")
        parts.append(f"attachments/{index}/signature")
    return parts


def assemble(submission: Submission, receipts: list[Receipt], parts: dict[str, bytes]) -> Fetched:
    fetched = Fetched(submission, receipts, parts.get("report"), parts.get("signature"))
    for index in range(len(submission.attachments)):
        fetched.attachments.append(
            (parts.get(f"attachments/{index}"), parts[f"attachments/{index}/signature"])
        )
    return fetched


def check_fetched(fetched: Fetched) -> str | None:
    """Why the downloaded bytes cannot be the filing the operator describes, or None."""
    submission = fetched.submission
    if fetched.report is not None and (
        submission.report is None or _sha(fetched.report) != submission.report.sha256
    ):
        return "the report downloaded does not match the submission's report digest"
    for (content, _signature), ref in zip(fetched.attachments, submission.attachments, strict=True):
        if content is not None and _sha(content) != ref.sha256:
            return f"attachment {ref.filename!r} does not match its digest"
    delivery = _delivery_document(fetched.receipts)
    signed = delivery.get("signature_sha256")
    if fetched.signature is not None and signed and _sha(fetched.signature) != signed:
        return "the signature downloaded is not the one the delivery receipt names"
    return None


def _delivery_document(receipts: Sequence[Receipt]) -> dict[str, Any]:
    for receipt in receipts:
        if receipt.kind == "delivery":
            try:
                data = json.loads(receipt.document_bytes())
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# recording ------------------------------------------------------------------------------
def adopt(
    journal: Journal,
    archive: Archive,
    audit: AuditLog,
    actor: Actor,
    item: Item,
    fetched: Fetched,
    *,
    action: str,
) -> ItemState:
    """Archive what was fetched and record `item` as the operator's submission; its state.

    Files first (one sync), then one transaction: index entries, superseded local signatures,
    the item's outcome (never moved backwards), an audit record.
    """
    submission = fetched.submission
    target = Target.of(item, submission.id)
    report_name = submission.report.filename if submission.report else "report.xml"
    blobs: list[tuple[bytes, ObjectKind, str]] = []
    if fetched.report is not None:
        blobs.append((fetched.report, ObjectKind.REPORT, report_name))
    if fetched.signature is not None:
        blobs.append((fetched.signature, ObjectKind.SIGNATURE, report_name + ".p7s"))
    for (content, signed), ref in zip(fetched.attachments, submission.attachments, strict=True):
        if content is not None:
            blobs.append((content, ObjectKind.ATTACHMENT, ref.filename))
        blobs.append((signed, ObjectKind.ATTACHMENT_SIGNATURE, ref.filename + ".p7s"))
    for receipt in fetched.receipts:
        protocol = receipt.kind == "protocol"
        name = f"{receipt.kind}-{receipt.id}.json"
        blobs.append(
            (
                receipt.document_bytes(),
                ObjectKind.PROTOCOL if protocol else ObjectKind.RECEIPT,
                name,
            )
        )
        blobs.append(
            (
                receipt.signature_bytes(),
                ObjectKind.PROTOCOL_SIGNATURE if protocol else ObjectKind.RECEIPT_SIGNATURE,
                name + ".p7s",
            )
        )
    shas = archive.store_many([data for data, _kind, _name in blobs])
    state = operator_state(submission)
    if _STATE_ORDER.get(ItemState(item.state), 0) > _STATE_ORDER[state]:
        state = ItemState(item.state)
    filed_signatures = {
        sha
        for sha, (_data, kind, _name) in zip(shas, blobs, strict=True)
        if kind in (ObjectKind.SIGNATURE, ObjectKind.ATTACHMENT_SIGNATURE)
    }
    signature = _sha(fetched.signature) if fetched.signature is not None else None
    error = None
    if state == ItemState.REJECTED and submission.protocol and submission.protocol.errors:
        first = submission.protocol.errors[0]
        error = f"{first.path}: {first.message}" if first.path else first.message
    with journal.transaction():
        for sha, (data, kind, name) in zip(shas, blobs, strict=True):
            archive.index(sha, len(data), kind, target, filename=name)
        superseded = archive.supersede_signatures(item.id, filed_signatures) if signature else []
        archive.link_submission(item.id, submission.id)
        journal.record_after(
            item.id,
            Stage.FOLLOW if state != ItemState.RECEIVED else Stage.SEND,
            Outcome(
                state,
                submission_id=submission.id,
                operator_status=submission.status,
                receipt_ids=[r.id for r in fetched.receipts],
                signature_sha256=signature,
                attachment_signatures=(
                    [_sha(sig) for _content, sig in fetched.attachments] if signature else None
                ),
                fee=submission.fee,
                error_code="rejected" if state == ItemState.REJECTED else None,
                error_message=error,
            ),
        )
        audit.append(
            action,
            {
                "item": item.idempotency_key,
                "client": item.client_inn,
                "form": item.form,
                "period": item.period,
                "correction": item.correction,
                "submission": submission.id,
                "state": state,
                "report_sha256": item.file_sha256,
                "signature_sha256": signature or item.signature_sha256,
                "superseded_signatures": superseded,
                "objects": len(blobs),
            },
            actor=actor,
        )
    return state


# the use case ---------------------------------------------------------------------------
def _as_planned(submission: Submission) -> PlanItem:
    """A submission the journal never knew, as the plan item it would have come from."""
    from sochi_cli.services.plan import FileRef, PlanItem

    report = submission.report
    return PlanItem(
        file=FileRef(
            Path(report.filename if report else "report.xml"),
            report.sha256 if report else "",
            report.size if report else 0,
        ),
        client_inn=submission.client_inn,
        form=submission.form.upper(),
        period=submission.period,
        correction=submission.correction,
        attachments=tuple(
            FileRef(Path(a.filename), a.sha256, a.size) for a in submission.attachments
        ),
        idempotency_key=submission.idempotency_key or f"operator:{submission.id}",
        origin=f"operator:{submission.id}",
    )


@dataclass
class ReconcileResult:
    operator_submissions: int = 0
    complete: int = 0  # journaled and archived already, nothing to do
    recovered: list[dict[str, Any]] = field(default_factory=list)  # new to the journal
    updated: list[dict[str, Any]] = field(default_factory=list)  # journaled, completed now
    local_only: list[dict[str, Any]] = field(default_factory=list)  # filed here, unknown there
    unsent: list[dict[str, Any]] = field(default_factory=list)  # signed here, not there
    problems: list[dict[str, Any]] = field(default_factory=list)
    # filed there, but the operator has no report or signature to hand back: a note
    unavailable: list[dict[str, Any]] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)  # known neither here nor there
    batch_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.local_only and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "operator_submissions": self.operator_submissions,
            "complete": self.complete,
            "recovered": self.recovered,
            "updated": self.updated,
            "local_only": self.local_only,
            "unsent": self.unsent,
            "problems": self.problems,
            "unavailable": self.unavailable,
            "set_aside": self.set_aside,
            "batch_id": self.batch_id,
        }


ReconcileProgress = Callable[[int, int], None]
# an object written this recently may belong to a write still on its way to the index
SET_ASIDE_AFTER = 600.0


def reconcile(
    config: Config,
    *,
    period: str | None = None,
    client: str | None = None,
    command: str = "sochi archive reconcile",
    progress: ReconcileProgress | None = None,
    operator: OperatorClient | None = None,
) -> ReconcileResult:
    """Compare the operator's submissions (filtered) with the journal and archive; fetch
    and record what is missing; list what only the journal knows.

    Each submission is settled on its own: a run stopped by the session or the network
    (errors raised as they are) keeps what it settled, and a rerun goes on from there.
    """
    from sochi_cli.api import resources
    from sochi_cli.services.receipts import operator_trust
    from sochi_cli.services.session import open_client

    profile, api_url = config.profile, str(config.get("api_url"))
    with Journal.for_profile(profile) as journal, journal.writer_lock():
        with contextlib.ExitStack() as stack:
            api = operator or stack.enter_context(open_client(config))
            listing = resources.submissions.list(client=client, period=period, limit=500)
            submissions = list(api.iterate(listing))
            run = _Reconciler(
                journal, api, operator_trust(profile, api_url), profile, api_url, command
            )
            run.result.operator_submissions = len(submissions)
            for done, submission in enumerate(submissions, start=1):
                run.settle(submission)
                if progress is not None:
                    progress(done, len(submissions))
        result = run.result
        _local_only(journal, {s.id for s in submissions}, period, client, result)
        if period is None and client is None:
            result.set_aside = run.archive.set_aside_unindexed(min_age=SET_ASIDE_AFTER)
        # this run's batch and any a killed run left `interrupted`: their items are settled
        # now (a rerun completes what it finds half-recorded), so each gets its verdict
        from sochi_cli.services.batch_state import batch_verdict

        closing = set(interrupted_reconciles(journal))
        if result.batch_id is not None:
            closing.add(result.batch_id)
        for batch_id in sorted(closing):
            counts = journal.state_counts(batch_id)
            status = batch_verdict(counts)[0] if counts else BatchStatus.DONE  # nothing recorded
            journal.set_batch_status(batch_id, status)
        run.audit.append(
            "archive.reconcile",
            {
                "period": period,
                "client": client,
                "operator_submissions": result.operator_submissions,
                "recovered": len(result.recovered),
                "updated": len(result.updated),
                "local_only": len(result.local_only),
                "problems": len(result.problems),
                "unavailable": len(result.unavailable),
            },
        )
    return result


class _Reconciler:
    """One reconcile run: settles the operator's submissions one at a time."""

    def __init__(
        self,
        journal: Journal,
        api: OperatorClient,
        trust: TrustMaterial | None,
        profile: str,
        api_url: str,
        command: str,
    ) -> None:
        self.journal = journal
        self.archive = Archive(journal)
        self.audit = AuditLog(journal)
        self.api = api
        self.trust = trust
        self.profile = profile
        self.api_url = api_url
        self.command = command
        self.result = ReconcileResult()

    def settle(self, submission: Submission) -> None:
        """Nothing to do, complete a journaled item, or adopt a filing the journal lacks."""
        journal, result = self.journal, self.result
        item = journal.find_by_submission(submission.id)
        if item is None and submission.idempotency_key:
            item = journal.find_by_key(submission.idempotency_key)
        if item is not None and not same_filing(item, submission):
            message = f"journal item {item.id} has the same key but another report"
            result.problems.append(_row(submission, message))
            return
        if item is not None and _complete(self.archive, item, submission):
            result.complete += 1
            return
        fetched = self._fetch(submission)
        if fetched is None:
            return
        new = item is None
        had_batch = result.batch_id
        try:
            with journal.transaction():
                if item is None:
                    planned = _as_planned(submission)
                    item = journal.item(journal.add_item(self._batch(), planned)[0])
                state = adopt(
                    journal,
                    self.archive,
                    self.audit,
                    Actor(),  # the local user rebuilding the records
                    item,
                    fetched,
                    action="submission.recovered",
                )
        except BaseException:
            result.batch_id = had_batch  # a batch made in the rolled back transaction is gone
            raise
        row = {**_row(submission), "state": state, "item": item.id}
        (result.recovered if new else result.updated).append(row)

    def _fetch(self, submission: Submission) -> Fetched | None:
        """Receipts (signatures verified) and the documents not archived yet, checked."""
        from sochi_cli.api import resources
        from sochi_cli.errors import NotFound, OperatorRefused, ValidationFailed
        from sochi_cli.services.receipts import check_receipt

        try:
            receipts = self.api.call(resources.submissions.receipts(submission.id)).items
            bad = [r for r in receipts if not check_receipt(r, self.trust).verified]
            if bad:
                message = f"the signature on receipt {bad[0].id} does not verify"
                self.result.problems.append(_row(submission, message))
                return None
            parts: dict[str, bytes] = {}
            missing: list[str] = []
            for part in document_parts(submission, self.archive.has_object):
                try:
                    parts[part] = self.api.call(resources.submissions.document(submission.id, part))
                except NotFound as err:
                    if err.code != "document_not_found":
                        raise
                    missing.append(part)
        except (NotFound, OperatorRefused, ValidationFailed) as err:
            self.result.problems.append(_row(submission, err.one_line()))
            return None
        if missing:
            # nothing here or there can bring them back: listed, not retried as a failure
            self.result.unavailable.append({**_row(submission), "missing": missing})
            return None
        fetched = assemble(submission, receipts, parts)
        problem = check_fetched(fetched)
        if problem:
            self.result.problems.append(_row(submission, problem))
            return None
        return fetched

    def _batch(self) -> int:
        """The `reconcile` batch the new items go into: the one a killed run left behind
        (resumed), else a new one (created with the first item)."""
        if self.result.batch_id is None:
            left = interrupted_reconciles(self.journal)
            self.result.batch_id = (
                left[-1]
                if left
                else self.journal.new_batch(
                    profile=self.profile,
                    api_url=self.api_url,
                    command=self.command,
                    plan_digest=RECONCILE_BATCH,
                    status=BatchStatus.RUNNING,
                ).id
            )
        return self.result.batch_id


RECONCILE_BATCH = "reconcile"  # the plan_digest of a reconcile batch (never a plan's digest)


def interrupted_reconciles(journal: Journal) -> list[int]:
    """Reconcile batches a killed run left `running`, oldest first. Only for a caller holding
    the writer lock: then no reconcile is live, so every one still running was cut short.
    (Batches of older versions have no mark: their command names the subcommand.)"""
    rows = journal.query(
        "SELECT id FROM batches WHERE status = ? AND (plan_digest = ? OR"
        " (plan_digest = '' AND command LIKE '%archive reconcile%')) ORDER BY id",
        (str(BatchStatus.RUNNING), RECONCILE_BATCH),
    )
    return [int(row["id"]) for row in rows]


def _complete(archive: Archive, item: Item, submission: Submission) -> bool:
    """Journaled with this submission id, state current, every receipt and file archived."""
    if item.submission_id != submission.id or item.state != operator_state(submission).value:
        return False
    if set(submission.receipt_ids) - set(item.receipt_ids):
        return False
    entries = archive.entries(item_id=item.id)
    kinds = {e.kind for e in entries}
    needed = {ObjectKind.REPORT, ObjectKind.SIGNATURE}
    if submission.receipt_ids:
        needed.add(ObjectKind.RECEIPT)
    if submission.protocol is not None:
        needed.add(ObjectKind.PROTOCOL)
    if not needed <= kinds:
        return False
    return all(archive.object_path(e.sha256).is_file() for e in entries)


def _local_only(
    journal: Journal,
    known: set[str],
    period: str | None,
    client: str | None,
    result: ReconcileResult,
) -> None:
    sql = "SELECT id FROM items WHERE 1 = 1"
    params: list[Any] = []
    if period:
        sql += " AND period = ?"
        params.append(period)
    if client:
        sql += " AND client_inn = ?"
        params.append(client)
    for row in journal.query(sql + " ORDER BY id", params):
        item = journal.item(int(row["id"]))
        summary = {
            "item": item.id,
            "client_inn": item.client_inn,
            "form": item.form,
            "period": item.period,
            "correction": item.correction,
            "state": item.state,
            "submission_id": item.submission_id,
        }
        if item.state in FILED_STATES and item.submission_id not in known:
            result.local_only.append(summary)
        elif item.state == ItemState.SIGNED or (item.in_flight and item.stage == Stage.SEND):
            result.unsent.append({**summary, "batch_id": item.batch_id})


def _row(submission: Submission, message: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "submission_id": submission.id,
        "client_inn": submission.client_inn,
        "form": submission.form,
        "period": submission.period,
        "correction": submission.correction,
    }
    if message is not None:
        row["message"] = message
    return row


__all__ = [
    "Fetched",
    "ReconcileResult",
    "adopt",
    "assemble",
    "check_fetched",
    "document_parts",
    "operator_state",
    "reconcile",
    "same_filing",
]
