"""The batch engine (`sochi submit`, `sochi batch resume`): plan → validate → preflight → sign →
send → receipts → verdicts → archive, every step journaled so a rerun resumes exactly once.

No printing: progress goes through a callback, the outcome is a `SubmitResult`; see
docs/batch.md for the stages, resume semantics and exit codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import hashlib
import itertools
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import ExitCode, Unavailable, ValidationFailed
from sochi_cli.services.batch_state import (
    NEVER_FILED,
    batch_verdict,
    next_stage,
    refused_when_sent,
    work_left,
)
from sochi_cli.services.submit_model import (
    Cost,
    JournalRows,
    ProgressCallback,
    ProgressEvent,
    SignerFactory,
    SubmitOptions,
    SubmitResult,
)
from sochi_cli.services.submit_send import MAINTENANCE_POLL_SECONDS, SendReport
from sochi_cli.store.files import os_reason, printable
from sochi_cli.store.journal import (
    FILED_STATES,
    BatchStart,
    BatchStatus,
    Item,
    ItemState,
    Journal,
    Outcome,
    PlannedItem,
    Stage,
)

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Status
    from sochi_cli.services.submit_checks import BatchContext, ItemProblem
    from sochi_cli.store.archive import Archive
    from sochi_cli.store.audit import Actor, AuditLog
    from sochi_cli.store.config import Config
    from sochi_cli.token.base import Signer

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopFlag:
    """Set by SIGINT/SIGTERM: finish what is in flight, record it, start nothing new.

    A front-end that runs the engine off the main thread (the TUI's worker) passes its own
    flag and calls `set()` from any thread: the effect is the CLI's Ctrl-C.
    """

    def __init__(self) -> None:
        self.raised = False
        self.event: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def set(self, *_: object) -> None:
        self.raised = True
        event, loop = self.event, self.loop
        if event is not None and loop is not None:
            # from another thread the loop may be closing right now: `raised` is enough then
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)


@contextlib.contextmanager
def _signals(flag: StopFlag) -> Iterator[None]:
    """Turn SIGINT/SIGTERM into the stop flag while the engine runs (main thread only)."""
    previous: dict[signal.Signals, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        flag.set()

    try:
        for sig in _STOP_SIGNALS:
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: the caller handles interruption
        previous.clear()
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def submit(
    config: Config,
    options: SubmitOptions,
    *,
    signer_factory: SignerFactory | None,
    progress: ProgressCallback | None = None,
    warn: Callable[[str], None] | None = None,
    stop: StopFlag | None = None,
) -> SubmitResult:
    """Plan the inputs and run the batch (or check it with `dry_run`).

    `warn` hears, before anything is signed, about reports that will be filed late.
    """
    from sochi_cli.services.plan import make_plan

    emit = progress or (lambda _event: None)
    profile, api_url = config.profile, str(config.get("api_url"))
    emit(ProgressEvent("plan", 0))
    plan = make_plan(
        options.inputs,
        manifest=options.manifest,
        profile=profile,
        api_url=api_url,
        strict=options.strict,
        progress=lambda n: emit(ProgressEvent("plan", 0, n)),
        correction=options.correction,
    )
    if not plan.items:
        raise plan.error() if plan.problems else ValidationFailed("nothing to file")
    problems = [p.to_json() for p in plan.problems]
    run = _Run(config, options, signer_factory, emit, stop)
    run.warn = warn
    return run.run(plan.items, problems)


def resume(
    config: Config,
    batch_id: int,
    options: SubmitOptions,
    *,
    signer_factory: SignerFactory | None,
    progress: ProgressCallback | None = None,
    warn: Callable[[str], None] | None = None,
    stop: StopFlag | None = None,
) -> SubmitResult:
    """Continue batch `batch_id` from the journal alone (same items, keys and signatures)."""
    from sochi_cli.errors import NotFound

    journal = Journal.existing(config.profile)
    if journal is None:
        raise NotFound("no batches yet in this profile", hint="file reports with `sochi submit`")
    with journal:
        batch = journal.batch(batch_id)
        items = [_plan_item(i) for i in journal.batch_items(batch.id)]
    emit = progress or (lambda _event: None)
    run = _Run(config, options, signer_factory, emit, stop)
    run.warn = warn
    return run.run(items, [], batch_id=batch.id)


@dataclass(frozen=True)
class _JournalFile:
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class _JournalPlanItem:
    file: _JournalFile
    client_inn: str
    form: str
    period: str
    correction: int
    attachments: tuple[_JournalFile, ...]
    idempotency_key: str


def _plan_item(item: Item) -> _JournalPlanItem:
    return _JournalPlanItem(
        file=_JournalFile(Path(item.source_path), item.file_sha256, item.file_size),
        client_inn=item.client_inn,
        form=item.form,
        period=item.period,
        correction=item.correction,
        attachments=tuple(
            _JournalFile(Path(str(a["path"])), str(a["sha256"]), int(a["size"]))
            for a in item.attachments
        ),
        idempotency_key=item.idempotency_key,
    )


@dataclasses.dataclass
class _SignJob:
    """Signing to run in a worker thread: `run(on_signed)` returns how many were signed."""

    run: Callable[[Callable[[list[Item]], None]], int]
    count: int
    signed: int = 0


class _Run:
    """One execution of the pipeline over planned items."""

    def __init__(
        self,
        config: Config,
        options: SubmitOptions,
        signer_factory: SignerFactory | None,
        emit: ProgressCallback,
        stop: StopFlag | None = None,
    ) -> None:
        self.config = config
        self.options = options
        self.signer_factory = signer_factory
        self.emit = emit
        self.profile = config.profile
        self.api_url = str(config.get("api_url"))
        self.stop = stop or StopFlag()
        self.warn: Callable[[str], None] | None = None
        self.warnings: list[str] = []
        self.abort_signing = False
        self.started = time.monotonic()
        # what the run did so far, for the summary of a run the operator's outage stopped
        self.already: set[int] = set()
        self.cost: Cost | None = None
        self.send_report: SendReport | None = None

    # entry ---------------------------------------------------------------------------
    def run(
        self,
        items: Sequence[PlannedItem],
        problems: list[dict[str, Any]],
        *,
        batch_id: int | None = None,
    ) -> SubmitResult:
        """Run (or resume `batch_id`); a batch with nothing left to do is only reported."""
        from sochi_cli.services.session import open_client
        from sochi_cli.services.submit_checks import BatchContext
        from sochi_cli.timeutil import to_bishkek

        if not self.options.dry_run:
            # said first: a missing or empty journal is about to be replaced by a new one
            from sochi_cli.services.records import lost_journal

            lost = lost_journal(self.profile)
            if lost:
                warning = (
                    f"{lost}: a new journal was started; reports the operator already "
                    "holds are recorded as filed, `sochi archive reconcile` fetches and "
                    "indexes the rest"
                )
                self._say(warning)
            finished = self._nothing_to_do(items, problems, batch_id)
            if finished is not None:
                return finished
        with contextlib.ExitStack() as stack:
            journal: Journal | None = None
            reader: Journal | None = None
            if self.options.dry_run:
                # read-only, but checked all the same: a damaged journal stops a dry run
                # exactly as it stops the real one, whose "already filed" it reads too
                reader = Journal.reader(self.profile)
                if reader is not None:
                    stack.enter_context(reader)
            else:
                # a damaged journal (or another batch) stops the run before anything is
                # asked of the operator, signed or sent
                journal = stack.enter_context(Journal.for_profile(self.profile))
                stack.enter_context(journal.writer_lock())
            stack.enter_context(_signals(self.stop))
            client = stack.enter_context(open_client(self.config))
            try:
                status = self._outside_maintenance(client)
            except Unavailable as exc:
                if journal is not None and exc.code == "maintenance":
                    self._refused_by_maintenance(journal, items, batch_id, exc)
                raise
            context = BatchContext.fetch(
                client, self.profile, to_bishkek(status.server_time).date()
            )
            if journal is None:
                return self._dry_run(client, context, items, problems, reader)
            if batch_id is not None:
                start = journal.resume_batch(batch_id)
            else:
                start = journal.start_batch(
                    items,
                    profile=self.profile,
                    api_url=self.api_url,
                    command=self.options.command,
                )
            if isinstance(items, list):
                items.clear()  # journaled now: from here on items are read back in chunks
            try:
                return self._journaled(journal, client, context, status, start, problems)
            except Unavailable as exc:
                if isinstance(exc, MaintenanceNotWaited):
                    _record_failure(journal, start.batch.id, exc)
                    raise  # told not to wait for maintenance: refused before sending
                # the operator went away mid-run: a summary like any other stop (exit 7)
                return self._stopped(journal, context, start, problems, exc)
            except BaseException as exc:
                _record_failure(journal, start.batch.id, exc)
                raise

    def _refused_by_maintenance(
        self,
        journal: Journal,
        items: Sequence[PlannedItem],
        batch_id: int | None,
        exc: Unavailable,
    ) -> None:
        """Told not to wait for the window: the batch is journaled as `refused` (nothing
        signed or sent), so `batch list` tells the truth and a rerun or resume continues it."""
        if batch_id is not None:
            batch = journal.resume_batch(batch_id).batch
        else:
            batch = journal.start_batch(
                items, profile=self.profile, api_url=self.api_url, command=self.options.command
            ).batch
        _record_failure(journal, batch.id, exc)
        exc.hint = (
            f"batch {batch.id} is kept as refused: rerun the same command after the window, "
            f"or `sochi batch resume {batch.id}` (without --no-wait-maintenance it waits)"
        )

    def _stopped(
        self,
        journal: Journal,
        context: BatchContext,
        start: BatchStart,
        problems: list[dict[str, Any]],
        exc: Unavailable,
    ) -> SubmitResult:
        """The summary of a run stopped by the operator's outage (or a maintenance window
        that began meanwhile): interrupted, what was done recorded, a rerun resumes."""
        from sochi_cli.store.audit import Actor, AuditLog

        report = self.send_report
        stopped_by = "maintenance" if exc.code == "maintenance" else "unavailable"
        result = self._finish(
            journal,
            AuditLog(journal),
            Actor(inn=context.own_inn),
            start.batch.id,
            start.resumed,
            problems,
            self.already | (report.already_filed if report else set()),
            stopped_by,
            report.sent if report else 0,
            self.cost,
        )
        result.cause = exc.message
        return result

    def _nothing_to_do(
        self,
        items: Sequence[PlannedItem],
        problems: list[dict[str, Any]],
        batch_id: int | None,
    ) -> SubmitResult | None:
        """The outcome of a rerun (or resume) that would do nothing, read from the journal
        alone (no operator call, no new batch); None when something is left to do."""
        from sochi_cli.services.batch_report import RowContext, outcome_row

        journal = Journal.existing(self.profile)
        if journal is None:
            return None
        with journal:
            if batch_id is not None:
                known: list[Item] = journal.batch_items(batch_id)
            else:
                found = [journal.find_by_key(item.idempotency_key) for item in items]
                if any(item is None for item in found):
                    return None
                known = [item for item in found if item is not None]
            if not known or work_left(known, wait=self.options.wait, recheck=True):
                return None
            batch = journal.batch(batch_id) if batch_id is not None else journal.plan_batch(items)
            counts = dict(Counter(item.state for item in known))
            status, code = batch_verdict(counts, wait=self.options.wait)
            if batch is not None and batch.status != status:
                _settle(journal, batch.id, status)
        real = _real_problems(problems)
        if real and code == ExitCode.OK:
            status, code = BatchStatus.PARTIAL, ExitCode.PARTIAL
        rows = []
        context = RowContext.load(self.profile)  # names from the cached client list
        for item in known:
            row = outcome_row(item, context).to_json()
            row["already_filed"] = item.state in FILED_STATES
            row["idempotency_key"] = item.idempotency_key
            rows.append(row)
        return SubmitResult(
            batch_id=batch.id if batch is not None else None,
            status=str(status),
            exit_code=code,
            resumed=False,
            nothing_to_do=True,
            total=len(known),
            counts=counts,
            already_filed=sum(1 for item in known if item.state in FILED_STATES),
            pending=_pending(counts),
            problems=problems,
            items=rows,
            seconds=time.monotonic() - self.started,
        )

    def _warn(self, context: BatchContext) -> None:
        """Late filings, said before anything is signed (at most 10 lines, then a count);
        every one of them goes into the summary's `warnings`."""
        self.warnings.extend(w for w in context.warnings if w not in self.warnings)
        if self.warn is None:
            return
        for line in context.warnings[:10]:
            self.warn(line)
        if len(context.warnings) > 10:
            self.warn(f"{len(context.warnings) - 10} more report(s) will be filed late")

    def _say(self, warning: str) -> None:
        """A warning for stderr (unless --quiet) and for the summary's `warnings`."""
        if warning not in self.warnings:
            self.warnings.append(warning)
        if self.warn is not None:
            self.warn(warning)

    def _outside_maintenance(self, client: OperatorClient) -> Status:
        """The operator's status once no maintenance window is active (waiting if allowed)."""
        from sochi_cli.errors import Interrupted

        while True:
            status = _operator_status(client)
            window = status.maintenance.current
            if not status.maintenance.active or self.options.dry_run:
                return status
            if not self.options.wait_maintenance:
                raise _maintenance_error(status)
            left = (window.ends_at - status.server_time).total_seconds() if window else None
            self.emit(
                ProgressEvent("maintenance", 0, message="operator maintenance", seconds_left=left)
            )
            deadline = time.monotonic() + min(MAINTENANCE_POLL_SECONDS, max(left or 0, 0.2))
            while time.monotonic() < deadline:
                if self.stop.raised:
                    raise Interrupted(
                        "stopped while waiting for the maintenance window to end; nothing was sent",
                        hint="rerun the same command to file the reports",
                    )
                time.sleep(0.1)

    # dry run -------------------------------------------------------------------------
    def _dry_run(
        self,
        client: OperatorClient,
        context: BatchContext,
        items: Sequence[PlannedItem],
        problems: list[dict[str, Any]],
        journal: Journal | None,
    ) -> SubmitResult:
        from sochi_cli.services.submit_checks import batch_cost, check_item

        rows: list[dict[str, Any]] = []
        valid_forms: list[str] = []
        context.remember_names(item.client_inn for item in items)
        for done, item in enumerate(items, start=1):
            problem = check_item(
                context,
                item.file.path,
                item.client_inn,
                item.form,
                item.period,
                correction=item.correction,
                key=item.idempotency_key,
            )
            filed = [
                s
                for s in context.filed(item.client_inn, item.form, item.period)
                if s.status != "rejected"
            ]
            known = journal.find_by_key(item.idempotency_key) if journal is not None else None
            already = any(s.idempotency_key == item.idempotency_key for s in filed) or (
                known is not None and known.state in FILED_STATES
            )
            rows.append(
                {
                    "client_inn": item.client_inn,
                    "form": item.form,
                    "period": item.period,
                    "correction": item.correction,
                    "file": printable(item.file.path),
                    "client_name": context.client_name(item.client_inn),
                    "state": problem.state if problem else ItemState.VALIDATED,
                    "error_code": problem.code if problem else None,
                    "error": problem.message if problem else None,
                    "idempotency_key": item.idempotency_key,
                    "already_filed": already,
                    "on_file": [
                        {"submission_id": s.id, "correction": s.correction, "status": s.status}
                        for s in filed
                    ],
                }
            )
            if problem is None and not already:
                valid_forms.append(item.form)
            self.emit(ProgressEvent("validate", len(items), done))
        cost = batch_cost(client, valid_forms)
        invalid = sum(1 for row in rows if row["state"] == ItemState.INVALID)
        refused = sum(1 for row in rows if row["state"] == ItemState.FAILED)
        code = ExitCode.OK
        if invalid or _real_problems(problems):
            code = ExitCode.VALIDATION
        elif refused or cost.shortfall:
            code = ExitCode.REFUSED
        filed_count = sum(1 for row in rows if row["already_filed"])
        counts = {
            ItemState.VALIDATED.value: len(valid_forms),
            ItemState.INVALID.value: invalid,
            ItemState.FAILED.value: refused,
            "already_filed": filed_count,
        }
        self._warn(context)
        return SubmitResult(
            batch_id=None,
            status="dry_run",
            exit_code=code,
            dry_run=True,
            total=len(items),
            counts={k: v for k, v in counts.items() if v},
            cost=cost,
            problems=problems,
            items=rows,
            already_filed=filed_count,
            warnings=list(self.warnings),
            seconds=time.monotonic() - self.started,
        )

    # the journaled pipeline ----------------------------------------------------------
    def _journaled(
        self,
        journal: Journal,
        client: OperatorClient,
        context: BatchContext,
        status: Status,
        start: BatchStart,
        problems: list[dict[str, Any]],
    ) -> SubmitResult:
        from sochi_cli.store.archive import Archive
        from sochi_cli.store.audit import Actor, AuditLog

        archive, audit = Archive(journal), AuditLog(journal)
        actor = Actor(inn=context.own_inn)
        batch = start.batch
        journal.set_batch_status(batch.id, BatchStatus.RUNNING)
        wait = self.options.wait
        states: dict[int, str] = {}
        already = self.already
        validate_count = 0
        for i in journal.iter_batch_items(batch.id):
            states[i.id] = i.state
            validate_count += next_stage(i, wait=wait, recheck=True) is Stage.VALIDATE
            if i.id in start.known_item_ids and i.state in FILED_STATES:
                already.add(i.id)
        audit.append(
            "batch.resume" if start.resumed else "batch.start",
            {"batch": batch.id, "items": len(states), "command": self.options.command},
            actor=actor,
        )
        stopped_by: str | None = None
        sent = 0

        def finish() -> SubmitResult:
            return self._finish(
                journal,
                audit,
                actor,
                batch.id,
                start.resumed,
                problems,
                already,
                stopped_by,
                sent,
                cost,
            )

        cost: Cost | None = None
        # validate (local, clause 6.3 + POA); items never filed are checked again ------
        to_validate = (
            i
            for i in journal.iter_batch_items(batch.id)
            if next_stage(i, wait=wait, recheck=True) is Stage.VALIDATE
        )
        group = max(1, self.options.sign_chunk)  # one commit per group of local outcomes
        done = 0
        while part := list(itertools.islice(to_validate, group)):
            if self.stop.raised:
                stopped_by = "signal"
                return finish()
            with journal.transaction():
                for item in part:
                    self._validate(journal, archive, context, item, states)
            done += len(part)
            self.emit(ProgressEvent("validate", validate_count, done, _counts(states)))
        del part, to_validate
        self._warn(context)
        context.remember_names(i.client_inn for i in journal.iter_batch_items(batch.id))
        context.forget_clients()  # the operator's client list is needed for validation only
        if self.options.strict and any(s == ItemState.INVALID for s in states.values()):
            bad = next(i for i in journal.batch_items(batch.id) if i.state == ItemState.INVALID)
            raise ValidationFailed(
                f"{printable(bad.source_path)}: {bad.error_message}",
                hint="--strict stops at the first invalid report; nothing was signed or sent",
                code=bad.error_code or "validation_failed",
            )
        # preflight: the whole batch's cost against the balance --------------------------
        # one pass: what to sign (counted; the signing thread reads them back in chunks),
        # what to pay for, what to send or follow (items of a resumed batch)
        sign_count = 0
        to_pay: list[str] = []  # forms
        to_send: list[Item] = []
        to_follow: list[Item] = []
        sending = False
        for i in journal.iter_batch_items(batch.id):
            stage = next_stage(i, wait=wait)
            sign_count += stage is Stage.SIGN
            if stage in (Stage.SIGN, Stage.SEND) and not i.in_flight:
                to_pay.append(i.form)
            if stage is Stage.SEND:
                to_send.append(i)
            if i.state in (ItemState.RECEIVED, ItemState.DELIVERED):
                to_follow.append(i)
            sending = sending or next_stage(i) is Stage.SEND
        sending = sending or sign_count > 0
        if to_pay:
            from sochi_cli.services.submit_checks import batch_cost, require_affordable

            cost = self.cost = batch_cost(client, to_pay)
            self.emit(ProgressEvent("preflight", len(to_pay), len(to_pay), _counts(states)))
            audit.append("batch.preflight", {"batch": batch.id, **cost.to_json()}, actor=actor)
            require_affordable(cost)
        if sending and status.maintenance.active and not self.options.wait_maintenance:
            raise _maintenance_error(status)
        del to_pay
        # sign (one signer session, in a thread) while sending what is signed ---------------
        if self.stop.raised:
            stopped_by = "signal"
            return finish()
        # what lives now (modules, items, context) lives to the end: keep the cyclic
        # collector from rescanning it on every collection while thousands of sends allocate
        gc.freeze()
        with contextlib.ExitStack() as session:
            job: _SignJob | None = None
            if sign_count:
                if self.signer_factory is None:
                    from sochi_cli.errors import UsageError

                    raise UsageError("signing is needed but no signer was given")
                self._ensure_chain(client)
                signer = self.signer_factory()
                if signer.kind == "file":
                    from sochi_cli.services.signers import KEY_FILE_WARNING

                    self._say(KEY_FILE_WARNING)
                session.enter_context(signer)
                actor = self._gate(signer, context)
                to_sign = (
                    i
                    for i in journal.iter_batch_items(batch.id)
                    if next_stage(i, wait=wait) is Stage.SIGN
                )
                job = _SignJob(
                    lambda on_signed: self._sign_chunks(
                        journal, archive, signer, to_sign, sign_count, on_signed
                    ),
                    sign_count,
                )
            if to_send or job is not None or (self.options.wait and to_follow):
                report = asyncio.run(
                    self._remote(
                        journal, archive, audit, actor, states, to_send, to_follow, job, batch.id
                    )
                )
                already |= report.already_filed
                stopped_by = report.stopped_by
                sent = report.sent
            if job is not None:
                audit.append(
                    "batch.sign",
                    {"batch": batch.id, "signed": job.signed, "signer": signer.kind},
                    actor=actor,
                )
        if self.stop.raised and stopped_by is None:
            stopped_by = "signal"
        to_follow.clear()  # the summary reads the items back from the journal, a chunk at a time
        return finish()

    def _ensure_chain(self, client: OperatorClient) -> None:
        """Cache the operator's CA chain (with the client's retries) for the signing gate."""
        import base64

        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        from sochi_cli.api import resources
        from sochi_cli.services import certificates as certs

        if certs.cached_chain(self.profile):
            return
        chain = client.call(resources.pki.chain())
        pem = b"".join(
            x509.load_der_x509_certificate(base64.b64decode(c.certificate)).public_bytes(
                Encoding.PEM
            )
            for c in chain.certificates
        )
        certs.store_chain(self.profile, pem)

    def _validate(
        self,
        journal: Journal,
        archive: Archive,
        context: BatchContext,
        item: Item,
        states: dict[int, str],
    ) -> None:
        """Check one item; an item never filed (invalid, or refused) is checked again here.

        A refused item that passes goes back to `signed` when its archived signature is good
        to resend (same key, same bytes), or to `validated` when the operator refused the
        signature itself: the refused signature is kept in the archive as superseded and the
        item is signed anew. Either way nothing is filed under its key yet (a refusal stores
        nothing at the operator), so exactly once holds.
        """
        from sochi_cli.services.batch_state import must_sign_again
        from sochi_cli.services.submit_checks import check_item

        # checked again, the file must still be the report that was planned (its key says
        # so): one edited or removed since is another report, planned by `sochi submit`
        problem = _changed_since_planned(item) if item.state in NEVER_FILED else None
        if problem is None:
            problem = check_item(
                context,
                Path(item.source_path),
                item.client_inn,
                item.form,
                item.period,
                correction=item.correction,
                key=item.idempotency_key,
            )
        signed = item.signature_sha256 is not None
        drop = signed and item.state in NEVER_FILED and must_sign_again(item)
        if drop:
            archive.supersede_signatures(item.id, filed=set())
        if problem is not None:
            # `invalid` (the report), or `failed` (refused by the operator's terms: a POA)
            outcome = Outcome(
                problem.state,
                error_code=problem.code,
                error_message=problem.message,
                clear_signatures=drop,
            )
        elif signed and not drop:
            outcome = Outcome(ItemState.SIGNED)  # resent with the same key and bytes
        else:
            outcome = Outcome(ItemState.VALIDATED, clear_signatures=drop)
        journal.record_after(item.id, Stage.VALIDATE, outcome)
        states[item.id] = outcome.state

    def _gate(self, signer: Signer, context: BatchContext) -> Actor:
        """Clause 1.5 on the opened signer's certificate: refuse before signing anything."""
        from sochi_cli.services import certificates as certs
        from sochi_cli.services.signing import trust_material
        from sochi_cli.store.audit import Actor

        # the CRL is fetched again first: a certificate revoked since the last fetch (or
        # by `sochi cert revoke`, recorded then) is refused before anything is signed
        trust = trust_material(self.profile, api_url=self.api_url, fetch_missing=True, refresh=True)
        gate = certs.check_can_sign(
            signer.certificate,
            chain=[*signer.chain, *trust.intermediates],
            trust_roots=trust.roots,
            crls=trust.crls,
            revoked=trust.revoked,
        )
        for warning in [*trust.warnings, *gate.warnings]:
            self._say(warning)
        return Actor.from_certificate(signer.certificate, inn=context.own_inn)

    def _sign_chunks(
        self,
        journal: Journal,
        archive: Archive,
        signer: Signer,
        items: Iterator[Item],
        count: int,
        on_signed: Callable[[list[Item]], None],
    ) -> int:
        """Sign chunk after chunk in the open session; each chunk archived, journaled, handed on.

        Runs in a worker thread while the first chunks are already being sent.
        """
        from sochi_cli.cms import sign_detached_many

        chunk = max(1, self.options.sign_chunk)
        ramp = 16  # a first small chunk: sending starts while the rest is signed
        if signer.kind == "cloud":
            chunk = ramp = max(1, count)  # one E-Cloud authorisation for the whole batch
        done = 0
        for first, last in _ramp(count, chunk, ramp):
            if self.stop.raised or self.abort_signing:
                break
            # read from the journal a chunk at a time: signed items are handed on, not kept
            part = list(itertools.islice(items, last - first))
            if not part:
                break
            contents: list[bytes | Path] = []
            for item in part:
                contents.append(Path(item.source_path))
                contents.extend(Path(str(a["path"])) for a in item.attachments)
            signatures = iter(sign_detached_many(contents, signer))
            signed = self._archive_signed(journal, archive, part, signatures)
            done += len(signed)
            on_signed(signed)
        return done

    def _archive_signed(
        self,
        journal: Journal,
        archive: Archive,
        part: list[Item],
        signatures: Iterator[bytes],
    ) -> list[Item]:
        """Archive each report, signature and attachment (one sync), record them signed."""
        from sochi_cli.errors import NotFound
        from sochi_cli.store.archive import ObjectKind

        entries: list[tuple[Item, ObjectKind, bytes, str]] = []
        for item in part:
            try:
                report = Path(item.source_path).read_bytes()
            except OSError as exc:
                raise NotFound(
                    f"{printable(item.source_path)}: cannot read: {os_reason(exc)}"
                ) from None
            if hashlib.sha256(report).hexdigest() != item.file_sha256:
                raise ValidationFailed(
                    f"{printable(item.source_path)} changed after it was planned",
                    hint="rerun `sochi submit` to plan it again",
                    code="file_changed",
                )
            name = Path(item.source_path).name
            entries.append((item, ObjectKind.REPORT, report, name))
            entries.append((item, ObjectKind.SIGNATURE, next(signatures), name + ".p7s"))
            for att in item.attachments:
                att_path = Path(str(att["path"]))
                try:
                    content = att_path.read_bytes()
                except OSError as exc:
                    raise NotFound(
                        f"{printable(att_path)}: cannot read: {os_reason(exc)}"
                    ) from None
                entries.append((item, ObjectKind.ATTACHMENT, content, att_path.name))
                entries.append(
                    (
                        item,
                        ObjectKind.ATTACHMENT_SIGNATURE,
                        next(signatures),
                        att_path.name + ".p7s",
                    )
                )
        # files first (synced, no journal lock held), then one commit for the whole chunk
        shas = archive.store_many([data for _item, _kind, data, _name in entries])
        with journal.transaction():
            return self._record_signed(journal, archive, part, entries, shas)

    def _record_signed(
        self,
        journal: Journal,
        archive: Archive,
        part: list[Item],
        entries: list[tuple[Item, Any, bytes, str]],
        shas: list[str],
    ) -> list[Item]:
        from sochi_cli.store.archive import ObjectKind, Target

        signed: dict[int, dict[str, Any]] = {}
        for (item, kind, data, name), sha in zip(entries, shas, strict=True):
            target = Target(
                item_id=item.id,
                client_inn=item.client_inn,
                form=item.form,
                period=item.period,
                correction=item.correction,
            )
            archive.index(sha, len(data), kind, target, filename=name)
            record = signed.setdefault(item.id, {"signature": None, "attachments": []})
            if kind is ObjectKind.SIGNATURE:
                record["signature"] = sha
            elif kind is ObjectKind.ATTACHMENT_SIGNATURE:
                record["attachments"].append(sha)
        result = []
        for item in part:
            record = signed[item.id]
            journal.record_after(
                item.id,
                Stage.SIGN,
                Outcome(
                    ItemState.SIGNED,
                    signature_sha256=record["signature"],
                    attachment_signatures=record["attachments"],
                ),
            )
            result.append(
                dataclasses.replace(
                    item,
                    state=ItemState.SIGNED,
                    stage=Stage.SIGN,
                    signature_sha256=record["signature"],
                    attachment_signatures=list(record["attachments"]),
                )
            )
        return result

    async def _remote(
        self,
        journal: Journal,
        archive: Archive,
        audit: AuditLog,
        actor: Actor,
        states: dict[int, str],
        to_send: list[Item],
        to_follow: list[Item],
        job: _SignJob | None,
        batch_id: int,
    ) -> Any:
        from sochi_cli.services.session import open_async_client
        from sochi_cli.services.submit_send import Remote
        from sochi_cli.services.submit_writer import JournalWriter

        loop = asyncio.get_running_loop()
        self.stop.event = asyncio.Event()
        self.stop.loop = loop
        if self.stop.raised:
            self.stop.event.set()
        installed = []
        for sig in _STOP_SIGNALS:
            # Not every loop can take signal handlers (Windows: NotImplementedError; not the
            # main thread: ValueError/RuntimeError); there Ctrl-C arrives as KeyboardInterrupt.
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(sig, self.stop.set)
                installed.append(sig)
        concurrency = max(1, self.options.concurrency)
        try:
            async with (
                open_async_client(self.config, max_connections=concurrency) as client,
                JournalWriter(journal, archive) as writer,
            ):
                remote = Remote(
                    journal=journal,
                    archive=archive,
                    audit=audit,
                    actor=actor,
                    client=client,
                    writer=writer,
                    options=self.options,
                    states=states,
                    emit=self.emit,
                    stop=self.stop.event,
                )
                self.send_report = remote.report
                feed: asyncio.Queue[Item | None] | None = None
                producer: asyncio.Future[int] | None = None
                if job is not None:
                    feed = asyncio.Queue()
                    queue = feed

                    handed = 0
                    ahead = max(64, self.options.sign_chunk)

                    def on_signed(items: list[Item]) -> None:
                        # in the signing thread: hand the chunk to the senders, then sign
                        # at most `ahead` items beyond what they took (memory flat in size)
                        nonlocal handed
                        handed += len(items)
                        loop.call_soon_threadsafe(remote.signed, items, queue)
                        while handed - remote.taken > ahead:
                            if self.stop.raised or self.abort_signing:
                                return
                            time.sleep(0.005)

                    async def produce() -> int:
                        try:
                            return await asyncio.to_thread(job.run, on_signed)
                        finally:
                            queue.put_nowait(None)

                    producer = asyncio.ensure_future(produce())
                try:
                    report = await remote.send_all(to_send, feed)
                except BaseException:
                    self.abort_signing = True  # a send failed hard: sign no further
                    if producer is not None:
                        await asyncio.gather(producer, return_exceptions=True)
                    raise
                if producer is not None and job is not None:
                    self.abort_signing = True  # stopped early (signal, maintenance): stop too
                    job.signed = await producer
                sent_ids = {i.id for i in to_send} | remote.fed
                to_send.clear()
                if self.options.wait and report.stopped_by is None:
                    received = journal.batch_items(batch_id, states=[ItemState.RECEIVED])
                    fresh = [i for i in received if i.id in sent_ids]
                    await remote.follow(fresh, check_first=False)
                    await remote.follow(to_follow, check_first=True)
                    if self.stop.event.is_set():
                        report.stopped_by = "signal"
                return report
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
                signal.signal(sig, self.stop.set)  # still ours until the run ends
            self.stop.event = None
            self.stop.loop = None

    # the end -------------------------------------------------------------------------
    def _finish(
        self,
        journal: Journal,
        audit: AuditLog,
        actor: Actor,
        batch_id: int,
        resumed: bool,
        problems: list[dict[str, Any]],
        already: set[int],
        stopped_by: str | None,
        sent: int,
        cost: Cost | None,
    ) -> SubmitResult:
        # one pass over the journal, a chunk at a time: counts, what is left, the rows
        tally: Counter[str] = Counter()
        remaining = recheck = sent_refusals = 0
        for item in journal.iter_batch_items(batch_id):
            tally[item.state] += 1
            remaining += next_stage(item, wait=self.options.wait) is not None
            recheck += item.state in NEVER_FILED and not item.in_flight
            sent_refusals += refused_when_sent(item)
        counts = dict(tally)
        status, code = batch_verdict(counts, wait=self.options.wait, sent_refusals=sent_refusals)
        if stopped_by == "signal":
            status, code = BatchStatus.INTERRUPTED, ExitCode.INTERRUPTED
        elif stopped_by in ("maintenance", "unavailable"):
            status, code = BatchStatus.INTERRUPTED, ExitCode.UNAVAILABLE
        elif self.options.wait and _pending(counts):
            stopped_by = "wait_timeout"  # filed; the agencies' verdicts did not all come in time
        if _real_problems(problems) and code == ExitCode.OK:
            status, code = BatchStatus.PARTIAL, ExitCode.PARTIAL  # rows that were not planned
        journal.set_batch_status(batch_id, status)
        audit.append(
            "batch.finish",
            {"batch": batch_id, "status": status, "counts": counts, "stopped_by": stopped_by},
            actor=actor,
        )
        return SubmitResult(
            batch_id=batch_id,
            status=str(status),
            exit_code=code,
            resumed=resumed,
            stopped_by=stopped_by,
            total=sum(counts.values()),
            counts=counts,
            already_filed=len(already),
            sent=sent,
            remaining=remaining,
            recheck=recheck,
            pending=_pending(counts),
            wait_timeout=self.options.wait_timeout if stopped_by == "wait_timeout" else None,
            cost=cost,
            problems=problems,
            warnings=self.warnings,
            items=JournalRows(journal.path, batch_id, frozenset(already), self.profile),
            seconds=time.monotonic() - self.started,
        )


def _changed_since_planned(item: Item) -> ItemProblem | None:
    """`file_changed` when the item's file is gone or no longer has its planned digest."""
    from sochi_cli.services.submit_checks import ItemProblem

    path = Path(item.source_path)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        reason = f"cannot be read any more ({os_reason(exc)})"
    else:
        if digest == item.file_sha256:
            return None
        reason = "changed since it was planned"
    return ItemProblem(
        "file_changed",
        f"{printable(item.source_path)} {reason}: it is another report now — "
        "file it with `sochi submit` (a new batch, a new idempotency key)",
    )


def _pending(counts: dict[str, int]) -> int:
    """Filed items whose agency verdict is not in yet."""
    return counts.get(ItemState.RECEIVED, 0) + counts.get(ItemState.DELIVERED, 0)


def _real_problems(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Plan problems that kept a row from being filed (a duplicate row is filed once: a note)."""
    return [p for p in problems if p.get("severity", "error") != "note"]


def _settle(journal: Journal, batch_id: int, status: BatchStatus) -> None:
    """Record what a batch with nothing left to do is (a killed run left it "running"),
    unless another process is working on the journal right now."""
    from sochi_cli.errors import StorageError

    with contextlib.suppress(StorageError), journal.writer_lock():
        journal.set_batch_status(batch_id, status)


def _record_failure(journal: Journal, batch_id: int, exc: BaseException) -> None:
    """The batch's status after its run raised: refused, interrupted or failed, never running.

    Refused: the operator's terms (balance, powers of attorney) or a maintenance window the
    run was told not to wait for stopped it before anything was signed. Interrupted: Ctrl-C
    or the operator unreachable, or anything after some reports were filed (a rerun
    resumes). Failed: nothing was filed and the cause needs a fix (key, passphrase, input).
    """
    from sochi_cli.errors import Interrupted, OperatorRefused, SochiError

    if isinstance(exc, OperatorRefused) or getattr(exc, "code", None) == "maintenance":
        status = BatchStatus.REFUSED
    elif isinstance(exc, KeyboardInterrupt | Interrupted | Unavailable):
        status = BatchStatus.INTERRUPTED
    else:
        counts = journal.state_counts(batch_id)
        filed = sum(n for state, n in counts.items() if state in FILED_STATES)
        status = BatchStatus.INTERRUPTED if filed else BatchStatus.FAILED
    with contextlib.suppress(SochiError):
        journal.set_batch_status(batch_id, status)
    if isinstance(exc, SochiError):
        exc.details.setdefault("batch_id", batch_id)
        exc.details.setdefault("batch_status", str(status))


def _ramp(total: int, chunk: int, first: int) -> Iterator[tuple[int, int]]:
    """(start, end) of signing chunks: small ones first so sending starts early, then `chunk`."""
    start, size = 0, min(first, chunk)
    while start < total:
        end = min(total, start + size)
        yield start, end
        start, size = end, min(chunk, size * 4)


def _counts(states: dict[int, str]) -> dict[str, int]:
    return dict(Counter(states.values()))


def _operator_status(client: OperatorClient) -> Status:
    from sochi_cli.api import resources

    return client.call(resources.status.get())


class MaintenanceNotWaited(Unavailable):
    """A maintenance window is on and the run was told not to wait (nothing was sent)."""


def _maintenance_error(status: Status) -> Unavailable:
    from sochi_cli.timeutil import format_local

    window = status.maintenance.current
    until = f" until {format_local(window.ends_at)}" if window else ""
    return MaintenanceNotWaited(
        f"the operator is in maintenance{until}; nothing was sent",
        hint="rerun after the window (or without --no-wait-maintenance to wait)",
        code="maintenance",
    )


__all__ = ["StopFlag", "resume", "submit"]
