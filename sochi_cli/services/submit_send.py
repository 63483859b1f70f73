"""The remote half of the batch engine: bounded concurrent sends, maintenance waits, verdicts.

Every send is journaled before (`record_before(SEND)`) and after (`record_after`) and reuses
the archived signature, so a repeat after a crash or a lost answer carries the same bytes
and the same Idempotency-Key: the operator answers with the original submission.
Journal and archive writes go through one writer thread (`submit_writer.JournalWriter`)
that commits the steps of all concurrently in-flight sends together: one archive sync and
one journal commit per group, each send still waiting for its own step's commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sochi_cli.errors import AuthError, SochiError, Unavailable
from sochi_cli.services.submit_model import ProgressEvent, SubmitOptions
from sochi_cli.services.submit_writer import JournalWriter, Step
from sochi_cli.store.archive import Archive, ObjectKind, Target
from sochi_cli.store.audit import Actor, AuditLog
from sochi_cli.store.journal import Item, ItemState, Journal, Outcome, Stage

if TYPE_CHECKING:
    from sochi_cli.api.client import AsyncOperatorClient
    from sochi_cli.api.errors import ApiProblem
    from sochi_cli.api.models import Receipt, Submission, SubmissionCreated

MAINTENANCE_POLL_SECONDS = 2.0
EVENTS_WAIT_SECONDS = 10
# While following verdicts, the pending submissions are also read directly this often: an
# event the feed lost (or a feed that was reset) then delays a verdict, never stalls --wait.
DIRECT_CHECK_SECONDS = 15.0
DIRECT_CHECK_ONE_BY_ONE = 20  # up to this many pending: GET each; more: list their periods
_CURSOR_KEY = "events.cursor"
_FINAL_VERDICTS = {"accepted": ItemState.ACCEPTED, "rejected": ItemState.REJECTED}


@dataclass
class SendReport:
    """What the remote phase did."""

    sent: int = 0
    already_filed: set[int] = field(default_factory=set)
    stopped_by: str | None = None  # "signal" | "maintenance" | "unavailable"
    unsent: int = 0
    last_error: str | None = None


class Remote:
    """Sends signed items and follows their verdicts for one batch run."""

    def __init__(
        self,
        *,
        journal: Journal,
        archive: Archive,
        audit: AuditLog,
        actor: Actor,
        client: AsyncOperatorClient,
        writer: JournalWriter,
        options: SubmitOptions,
        states: dict[int, str],
        emit: Callable[[ProgressEvent], None],
        stop: asyncio.Event,
    ) -> None:
        self.journal = journal
        self.archive = archive
        self.audit = audit
        self.actor = actor
        self.client = client
        self.writer = writer
        self.options = options
        self.states = states
        self.counts: Counter[str] = Counter(states.values())
        self.total = len(states)
        self.emit = emit
        self.stop = stop
        self.report = SendReport()
        self.fed: set[int] = set()  # ids of items signed during this run, handed to send
        self.taken = 0  # how many of them a sender took (the signing thread reads it)
        self._feed: asyncio.Queue[Item | None] | None = None
        self._feed_open = False
        self._done = 0

    # bookkeeping ---------------------------------------------------------------------
    def _moved(
        self, item_id: int, new: str, phase: str, *, step: bool = True, emit: bool = True
    ) -> None:
        old = self.states.get(item_id)
        if old is not None:
            self.counts[old] -= 1
        self.states[item_id] = new
        self.counts[new] += 1
        self._done += int(step)
        if emit:
            self.emit(ProgressEvent(phase, self.total, self._done, self.count_map()))

    def count_map(self) -> dict[str, int]:
        return {state: n for state, n in self.counts.items() if n}

    async def _record(self, item_id: int, stage: Stage, outcome: Outcome) -> None:
        journal = self.journal
        await self.writer.run(Step(lambda: journal.record_after(item_id, stage, outcome)))

    # maintenance ---------------------------------------------------------------------
    async def maintenance_over(self) -> bool:
        """Wait for the operator's maintenance window to end (True), or stop (False)."""
        from sochi_cli.api import resources
        from sochi_cli.api.errors import Maintenance

        while not self.stop.is_set():
            try:
                status = await self.client.call(resources.status.get())
            except Maintenance:
                left: float | None = None
            else:
                window = status.maintenance.current
                if not status.maintenance.active or window is None:
                    return True
                left = max(0.0, (window.ends_at - status.server_time).total_seconds())
            if not self.options.wait_maintenance:
                return False
            self.emit(
                ProgressEvent(
                    "maintenance",
                    self.total,
                    self._done,
                    self.count_map(),
                    message="operator maintenance: waiting",
                    seconds_left=left,
                )
            )
            pause = (
                MAINTENANCE_POLL_SECONDS if left is None else min(MAINTENANCE_POLL_SECONDS, left)
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=max(pause, 0.2))
        return False

    # sending -------------------------------------------------------------------------
    async def send_all(
        self, items: list[Item], feed: asyncio.Queue[Item | None] | None = None
    ) -> SendReport:
        """Send `items` and whatever arrives on `feed` (signed meanwhile; None ends it).

        Pauses on maintenance, stops on a signal, retries transient failures a few rounds.
        """
        queue: deque[Item] = deque(items)
        self._feed = feed
        self._feed_open = feed is not None
        rounds: Counter[int] = Counter()
        while queue or self._feed_open:
            if self.stop.is_set():
                self.report.stopped_by = "signal"
                break
            if not await self.maintenance_over():
                self.report.stopped_by = "signal" if self.stop.is_set() else "maintenance"
                break
            pause = asyncio.Event()
            workers = [
                asyncio.create_task(self._worker(queue, rounds, pause))
                for _ in range(max(1, self.options.concurrency))
            ]
            results = await asyncio.gather(*workers, return_exceptions=True)
            for outcome in results:
                if isinstance(outcome, BaseException):
                    raise outcome
            if self.report.stopped_by == "unavailable":
                break
        waiting = feed.qsize() if feed is not None else 0
        self.report.unsent = len(queue) + waiting
        return self.report

    def signed(self, items: list[Item], feed: asyncio.Queue[Item | None]) -> None:
        """Called on the loop when the signing thread finished a chunk: queue it for sending."""
        for item in items:
            self.fed.add(item.id)
            self._moved(item.id, ItemState.SIGNED, "sign", step=False, emit=False)
            feed.put_nowait(item)
        # the sign phase counts signatures made this run (the others count sends)
        self.emit(ProgressEvent("sign", self.total, len(self.fed), self.count_map()))

    async def _next(self, queue: deque[Item]) -> Item | None:
        if queue:
            return queue.popleft()
        if not self._feed_open or self._feed is None:
            return None
        item = await self._feed.get()
        if item is None:
            self._feed_open = False
            self._feed.put_nowait(None)  # wake the other workers too
            return queue.popleft() if queue else None
        self.taken += 1
        return item

    async def _worker(self, queue: deque[Item], rounds: Counter[int], pause: asyncio.Event) -> None:
        while not self.stop.is_set() and not pause.is_set():
            item = await self._next(queue)
            if item is None:
                return
            verdict = await self._send_one(item)
            if verdict == "maintenance":
                queue.appendleft(item)
                pause.set()
            elif verdict == "retry":
                rounds[item.id] += 1
                if rounds[item.id] >= self.options.send_rounds:
                    queue.appendleft(item)
                    self.report.stopped_by = "unavailable"
                    pause.set()
                else:
                    queue.append(item)
                    await asyncio.sleep(0.2 * rounds[item.id])

    async def _send_one(self, item: Item) -> str:
        from sochi_cli.api import resources
        from sochi_cli.api.errors import ApiProblem, Maintenance

        report, signature, attachments = await self.writer.run(Step(lambda: self._before(item)))
        call = resources.submissions.create(
            idempotency_key=item.idempotency_key,
            client_inn=item.client_inn,
            form=item.form,
            period=item.period,
            correction=item.correction,
            report=report,
            signature=signature,
            report_filename=_name(item.source_path),
            attachments=attachments,
        )
        try:
            created = await self.client.call(call)
        except Maintenance:
            # answered before the endpoint ran: not filed; back to "signed", not in flight
            await self._record(item.id, Stage.SEND, Outcome(ItemState.SIGNED))
            return "maintenance"
        except AuthError:
            await self._record(item.id, Stage.SEND, Outcome(ItemState.SIGNED))
            raise
        except Unavailable as exc:
            # maybe filed, maybe not: stays "signed"; the resend carries the same key and bytes
            self.report.last_error = exc.one_line()
            await self._record(
                item.id,
                Stage.SEND,
                Outcome(ItemState.SIGNED, error_code=exc.code, error_message=exc.message),
            )
            return "retry"
        except ApiProblem as exc:
            problem = exc
            if exc.code == "idempotency_conflict" and exc.problem.get("submission_id"):
                recognized = await self._recognize(item, str(exc.problem["submission_id"]))
                if recognized is not None:
                    return recognized
            await self.writer.run(Step(lambda: self._refused(item, problem)))
            self._moved(item.id, ItemState.FAILED, "send")
            return "failed"
        files, index_receipt = self._store_receipt(created.receipt)
        state = await self.writer.run(
            Step(lambda: self._received(item, created, index_receipt), files=files)
        )
        if created.replayed:
            self.report.already_filed.add(item.id)
        self.report.sent += 1
        self._moved(item.id, state, "send")
        return "sent"

    async def _recognize(self, item: Item, submission_id: str) -> str | None:
        """The key is taken by submission `submission_id`: if it is this very report (the
        journal that knew it was lost, so it was signed again), record the item as filed
        with that submission — once, not as a failure. None: it is not (the 409 stands)."""
        from sochi_cli.api import resources
        from sochi_cli.services.reconcile import (
            adopt,
            assemble,
            check_fetched,
            document_parts,
            same_filing,
        )

        local = {item.file_sha256, *(str(a["sha256"]) for a in item.attachments)}
        try:
            submission = await self.client.call(resources.submissions.get(submission_id))
            if not same_filing(item, submission):
                return None
            receipts = await self.client.call(resources.submissions.receipts(submission_id))
            parts = {
                part: await self.client.call(resources.submissions.document(submission_id, part))
                for part in document_parts(submission, local.__contains__)
            }
        except Unavailable as exc:
            # the same as a lost answer: stays "signed", the next round asks again
            self.report.last_error = exc.one_line()
            await self._record(item.id, Stage.SEND, Outcome(ItemState.SIGNED))
            return "retry"
        except AuthError:
            await self._record(item.id, Stage.SEND, Outcome(ItemState.SIGNED))
            raise
        except SochiError:
            return None  # it cannot be shown to be this report: the conflict stands
        fetched = assemble(submission, receipts.items, parts)
        if check_fetched(fetched) is not None:
            return None
        state = await self.writer.run(
            Step(
                lambda: adopt(
                    self.journal,
                    self.archive,
                    self.audit,
                    self.actor,
                    self.journal.item(item.id),
                    fetched,
                    action="submission.recognized",
                )
            )
        )
        self.report.already_filed.add(item.id)
        self._moved(item.id, state, "send")
        return "sent"

    def _before(self, item: Item) -> tuple[bytes, bytes, list[tuple[str, bytes, bytes]]]:
        """Mark the send in flight (committed before the POST) and read its archived payload."""
        self.journal.record_before(item.id, Stage.SEND)
        return self._payload(item)

    def _refused(self, item: Item, exc: ApiProblem) -> None:
        self.journal.record_after(
            item.id,
            Stage.SEND,
            Outcome(ItemState.FAILED, error_code=exc.code, error_message=exc.message),
        )
        self.audit.append(
            "submission.refused",
            {"item": item.idempotency_key, "client": item.client_inn, "code": exc.code},
            actor=self.actor,
        )

    def _payload(self, item: Item) -> tuple[bytes, bytes, list[tuple[str, bytes, bytes]]]:
        """Report, signature and attachments exactly as archived when the item was signed."""
        assert item.signature_sha256 is not None
        report = self.archive.read(item.file_sha256)
        signature = self.archive.read(item.signature_sha256)
        attachments = [
            (_name(str(att["path"])), self.archive.read(str(att["sha256"])), self.archive.read(sig))
            for att, sig in zip(item.attachments, item.attachment_signatures, strict=True)
        ]
        return report, signature, attachments

    def _store_receipt(
        self, receipt: Receipt
    ) -> tuple[Callable[[], list[Path]], Callable[[Item, str], None]]:
        """(write a receipt's files unsynced → paths, index them): the writer syncs between."""
        document, signature = receipt.document_bytes(), receipt.signature_bytes()
        shas: list[str] = []

        def files() -> list[Path]:
            digests, written = self.archive.write_unsynced([document, signature])
            shas[:] = digests
            return written

        protocol = receipt.kind == "protocol"
        kind = ObjectKind.PROTOCOL if protocol else ObjectKind.RECEIPT
        sig_kind = ObjectKind.PROTOCOL_SIGNATURE if protocol else ObjectKind.RECEIPT_SIGNATURE
        name = f"{receipt.kind}-{receipt.id}.json"

        def index(item: Item, submission_id: str) -> None:
            doc_sha, sig_sha = shas
            target = Target.of(item, submission_id)
            self.archive.index(doc_sha, len(document), kind, target, filename=name)
            self.archive.index(sig_sha, len(signature), sig_kind, target, filename=name + ".p7s")

        return files, index

    def _received(
        self,
        item: Item,
        created: SubmissionCreated,
        index_receipt: Callable[[Item, str], None],
    ) -> ItemState:
        """Index the (synced) receipt, record the outcome and audit it (inside the commit)."""
        submission = created.submission
        state = _state_of(submission.status)
        index_receipt(item, submission.id)
        self.archive.link_submission(item.id, submission.id)
        self._record_received(item, created, state)
        return state

    def _record_received(self, item: Item, created: SubmissionCreated, state: ItemState) -> None:
        submission, receipt = created.submission, created.receipt
        self.journal.record_after(
            item.id,
            Stage.SEND,
            Outcome(
                state,
                submission_id=submission.id,
                operator_status=submission.status,
                receipt_ids=[receipt.id],
                fee=submission.fee,
            ),
        )
        self.audit.append(
            "submission.sent",
            {
                "item": item.idempotency_key,
                "client": item.client_inn,
                "form": item.form,
                "period": item.period,
                "correction": item.correction,
                "report_sha256": item.file_sha256,
                "signature_sha256": item.signature_sha256,
                "submission": submission.id,
                "receipt": receipt.id,
                "replayed": created.replayed,
            },
            actor=self.actor,
        )

    # verdicts ------------------------------------------------------------------------
    async def follow(self, items: list[Item], *, check_first: bool) -> None:
        """Follow `/events` until every item has an agency verdict, a stop, or the timeout.

        The feed is the fast path, not the only one: the pending submissions are read
        directly first when `check_first` (verdicts that came while nobody was following),
        whenever the feed says the stored cursor is not one it issued (`invalid_cursor`: the
        feed was reset; following starts over from its beginning), and every
        `DIRECT_CHECK_SECONDS` while something is pending.
        """
        from sochi_cli.api import resources
        from sochi_cli.api.errors import InvalidCursor, Maintenance

        pending = {i.submission_id: i for i in items if i.submission_id}
        if not pending:
            return
        if check_first:
            await self._check_directly(pending)
        deadline = time.monotonic() + self.options.wait_timeout
        next_check = time.monotonic() + DIRECT_CHECK_SECONDS
        cursor = await asyncio.to_thread(self.journal.get_value, self._cursor_key())
        while pending and not self.stop.is_set() and time.monotonic() < deadline:
            now = time.monotonic()
            wait = int(max(1, min(EVENTS_WAIT_SECONDS, deadline - now, next_check - now)))
            poll = asyncio.create_task(
                self.client.call(resources.events.poll(after=cursor, wait=wait, limit=500))
            )
            stopper = asyncio.create_task(self.stop.wait())
            done, _ = await asyncio.wait({poll, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if poll not in done:
                poll.cancel()
                await asyncio.gather(poll, return_exceptions=True)
                break
            stopper.cancel()
            try:
                batch = poll.result()
            except Maintenance:
                # a window began while following: wait it out (within --wait-timeout) unless
                # told not to wait, as sending does
                try:
                    over = await asyncio.wait_for(
                        self.maintenance_over(), timeout=max(0.0, deadline - time.monotonic())
                    )
                except TimeoutError:
                    break  # still pending at --wait-timeout
                if over or self.stop.is_set():
                    continue
                raise
            except InvalidCursor:
                if cursor is None:
                    raise
                cursor = None  # the feed does not know it (reset since): from its beginning
                await asyncio.to_thread(self.journal.delete_value, self._cursor_key())
                await self._check_directly(pending)
                next_check = time.monotonic() + DIRECT_CHECK_SECONDS
                continue
            for event in batch.events:
                if event.submission_id in pending and event.status:
                    if event.status in _FINAL_VERDICTS:
                        sub = await self.client.call(resources.submissions.get(event.submission_id))
                        await self._update(pending, sub)
                    elif event.status == "delivered":
                        await self._delivered(pending[event.submission_id])
            if batch.next_cursor and batch.next_cursor != cursor:
                cursor = batch.next_cursor
                await asyncio.to_thread(self.journal.set_value, self._cursor_key(), cursor)
            if pending and time.monotonic() >= next_check:
                await self._check_directly(pending)
                next_check = time.monotonic() + DIRECT_CHECK_SECONDS

    async def _check_directly(self, pending: dict[str, Item]) -> None:
        """Read the pending submissions from the operator (not the feed) and record what
        changed: one GET each when they are few, else one listing per period."""
        from sochi_cli.api import resources

        if len(pending) <= DIRECT_CHECK_ONE_BY_ONE:
            for sub_id in list(pending):
                submission = await self.client.call(resources.submissions.get(sub_id))
                await self._update(pending, submission)
            return
        for period in sorted({item.period for item in pending.values()}):
            listing = resources.submissions.list(period=period, limit=500)
            async for submission in self.client.iterate(listing):
                if submission.id in pending:
                    await self._update(pending, submission)

    def _cursor_key(self) -> str:
        return f"{_CURSOR_KEY}:{self.client.base_url}"

    async def _delivered(self, item: Item) -> None:
        if self.states.get(item.id) == ItemState.RECEIVED:
            await self._record(
                item.id, Stage.FOLLOW, Outcome(ItemState.DELIVERED, operator_status="delivered")
            )
            self._moved(item.id, ItemState.DELIVERED, "follow", step=False)

    async def _update(self, pending: dict[str, Item], submission: Submission) -> None:
        from sochi_cli.api import resources

        item = pending.get(submission.id)
        if item is None:
            return
        if submission.status == "delivered":
            await self._delivered(item)
            return
        state = _FINAL_VERDICTS.get(submission.status)
        if state is None:
            return
        receipts = await self.client.call(resources.submissions.receipts(submission.id))
        await self._verdict(item, submission, receipts.items, state)
        pending.pop(submission.id, None)
        self._moved(item.id, state, "follow", step=False)

    async def _verdict(
        self, item: Item, submission: Submission, receipts: list[Receipt], state: ItemState
    ) -> None:
        known = set((await asyncio.to_thread(self.journal.item, item.id)).receipt_ids)
        steps = [self._store_receipt(r) for r in receipts if r.id not in known]

        def files() -> list[Path]:
            return [path for write, _index in steps for path in write()]

        def commit() -> None:
            for _write, index_receipt in steps:
                index_receipt(item, submission.id)
            self._record_verdict(item, submission, receipts, state)

        await self.writer.run(Step(commit, files=files))

    def _record_verdict(
        self, item: Item, submission: Submission, receipts: list[Receipt], state: ItemState
    ) -> None:
        protocol = submission.protocol
        error: str | None = None
        if state == ItemState.REJECTED and protocol is not None and protocol.errors:
            first = protocol.errors[0]
            error = f"{first.path}: {first.message}" if first.path else first.message
        self.journal.record_after(
            item.id,
            Stage.FOLLOW,
            Outcome(
                state,
                operator_status=submission.status,
                receipt_ids=[r.id for r in receipts],
                error_code="rejected" if state == ItemState.REJECTED else None,
                error_message=error,
            ),
        )
        self.audit.append(
            "submission.verdict",
            {
                "item": item.idempotency_key,
                "submission": submission.id,
                "verdict": submission.status,
                "protocol": protocol.receipt_id if protocol else None,
            },
            actor=self.actor,
        )


def _state_of(status: str) -> ItemState:
    try:
        state = ItemState(status)
    except ValueError:
        return ItemState.RECEIVED
    if state in (ItemState.DELIVERED, ItemState.ACCEPTED, ItemState.REJECTED):
        return state
    return ItemState.RECEIVED


def _name(path: str) -> str:
    """The file name the operator is told (a name that is not UTF-8 is sent escaped)."""
    from sochi_cli.store.files import printable

    return printable(path.replace("\\", "/").rsplit("/", 1)[-1]) or "report.xml"


__all__ = ["MAINTENANCE_POLL_SECONDS", "Remote", "SendReport"]
