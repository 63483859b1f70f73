"""Data of the batch engine: its options, the progress events it emits and the result it returns.

No I/O here; `services.submit` runs the pipeline, front-ends render `SubmitResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import ExitCode, SochiError
from sochi_cli.services.progress import ProgressCallback, ProgressEvent

if TYPE_CHECKING:
    from sochi_cli.token.base import Signer

SignerFactory = Callable[[], "Signer"]


@dataclass(frozen=True)
class SubmitOptions:
    """What to file and how (the command line of `sochi submit`, as data)."""

    inputs: Sequence[str] = ()
    manifest: Path | None = None
    dry_run: bool = False
    concurrency: int = 8
    wait: bool = True
    strict: bool = False
    wait_maintenance: bool = True
    wait_timeout: float = 1800.0  # give up following verdicts after this many seconds
    command: str = "sochi submit"  # recorded in the journal (secrets redacted there)
    sign_chunk: int = 256  # signatures produced per token call (one session for all chunks)
    send_rounds: int = 3  # how often a transiently failing send is retried by the engine
    correction: int | None = None  # for report paths whose header has no <correction>


@dataclass(frozen=True)
class Cost:
    """The batch's price against the balance (tyiyn; 100 tyiyn = 1 som)."""

    currency: str
    required: int
    balance: int | None
    items: int

    @property
    def shortfall(self) -> int:
        return max(0, self.required - (self.balance or 0)) if self.balance is not None else 0

    def to_json(self) -> dict[str, Any]:
        """Money as som decimal strings, like every other JSON output (README)."""
        from sochi_cli.services.account import som

        return {
            "currency": self.currency,
            "required": som(self.required),
            "balance": None if self.balance is None else som(self.balance),
            "items": self.items,
            "shortfall": som(self.shortfall),
        }


@dataclass(frozen=True)
class JournalRows:
    """A batch's outcome rows, read from the journal a chunk at a time on each iteration."""

    journal_path: Path
    batch_id: int
    already_filed: frozenset[int]
    profile: str | None = None  # client names and late flags from this profile's caches

    def __iter__(self) -> Iterator[dict[str, Any]]:
        from sochi_cli.services.batch_report import RowContext, outcome_row
        from sochi_cli.store.journal import Journal

        context = RowContext.load(self.profile) if self.profile else None
        # the run that wrote them checked the file when it opened it: read-only, unchecked
        with Journal(self.journal_path, readonly=True, check=False) as journal:
            for item in journal.iter_batch_items(self.batch_id):
                row = outcome_row(item, context).to_json()
                row["already_filed"] = item.id in self.already_filed
                row["idempotency_key"] = item.idempotency_key
                yield row


@dataclass
class SubmitResult:
    """What a run did; `status` and `exit_code` follow docs/cli.md ("Batch states")."""

    batch_id: int | None
    status: str  # a BatchStatus value, or "dry_run"
    exit_code: ExitCode
    dry_run: bool = False
    resumed: bool = False
    nothing_to_do: bool = False  # every item was already final: no batch run, none created
    # Why the run ended before everything was final: "signal" | "maintenance" |
    # "unavailable" (status interrupted) or "wait_timeout" (verdicts still pending).
    stopped_by: str | None = None
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    already_filed: int = 0
    sent: int = 0
    remaining: int = 0  # items left in the pipeline (unsent, or a verdict to follow)
    # items never filed (invalid, or refused by the operator) that a rerun checks again and
    # files once their cause is gone (docs/batch.md "Items never filed")
    recheck: int = 0
    pending: int = 0  # filed items whose agency verdict is not in yet
    wait_timeout: float | None = None  # the --wait-timeout that ran out
    cost: Cost | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    # Per-item outcome rows; after a journaled run, read back from the journal a chunk at a
    # time on each iteration, so a 5000-item summary never sits in memory.
    items: Iterable[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cause: str | None = None  # what stopped the run early, in words (e.g. the outage)

    @property
    def interrupted(self) -> bool:
        return self.status == "interrupted"

    @property
    def follow_up(self) -> str | None:
        """The command that continues this batch or shows what needs attention."""
        if self.batch_id is None:
            return None
        if self.remaining or self.status in ("interrupted", "pending_verdicts", "refused"):
            return f"sochi batch resume {self.batch_id}"
        if self.exit_code != ExitCode.OK:
            return f"sochi batch show {self.batch_id}"
        return None

    def problem(self) -> SochiError | None:
        """The run's outcome as one error (the stderr line and `error` in JSON), if not 0."""
        from sochi_cli import errors

        if self.exit_code == ExitCode.OK:
            return None
        if self.dry_run:
            invalid = self.counts.get("invalid", 0)
            rows = len([p for p in self.problems if p.get("severity", "error") != "note"])
            if invalid or rows:
                return errors.ValidationFailed(
                    f"dry run: {invalid} of {self.total} report(s) invalid"
                    + (f", {rows} input problem(s)" if rows else ""),
                    hint="fix them and rerun; nothing was signed or sent",
                )
            refused = self.counts.get("failed", 0)
            if refused:
                first = self._first_refusal()
                return errors.OperatorRefused(
                    f"dry run: {refused} of {self.total} report(s) refused before signing"
                    + (f" ({first[1]})" if first else ""),
                    hint="nothing was signed or sent; fix the cause (a power of attorney: "
                    "`sochi clients renew CLIENT …`) and rerun",
                    code=first[0] if first else "refused",
                )
            return errors.OperatorRefused(
                "dry run: the balance does not cover the batch"
                + (f" ({self.cost.to_json()['shortfall']} short)" if self.cost else ""),
                hint="top up the account; nothing was signed or sent",
                code="balance_insufficient",
            )
        batch = f"batch {self.batch_id}" if self.batch_id is not None else "the batch"
        then = f"`{self.follow_up}`" if self.follow_up else None
        bad = sum(self.counts.get(s, 0) for s in ("invalid", "failed", "rejected"))
        rerun = self._rerun_hint()
        error: SochiError
        if self.status == "interrupted":
            why = {
                "signal": "stopped by a signal",
                "maintenance": "the operator went into maintenance",
                "unavailable": "the operator is unavailable",
            }.get(self.stopped_by or "", "stopped")
            if self.cause:
                why += f": {self.cause}"
            error = errors.SochiError(
                f"{batch} interrupted ({why}) with {self.remaining} report(s) left",
                hint=f"rerun the same command or {then}",
                code="interrupted",
            )
            error.exit_code = self.exit_code
        elif self.status == "pending_verdicts":
            error = errors.VerdictsPending(
                f"{batch}: every report filed, {self.pending} agency verdict(s) still pending "
                f"after --wait-timeout {self.wait_timeout or 0:.0f} s",
                hint=f"follow them up with {then}",
            )
        elif self.status == "partial":
            error = errors.PartialFailure(
                f"{batch} partial: {bad} of {self.total} report(s) invalid, refused or rejected"
                + (f", {self.pending} verdict(s) pending" if self.pending else "")
                + (f", {len(self.problems)} input problem(s)" if self.problems else ""),
                hint="; ".join(h for h in (f"see {then}" if then else None, rerun) if h) or None,
            )
        elif self.status == "refused":
            error = self._refused(batch, then)
        else:
            failed = (
                errors.ValidationFailed
                if self.exit_code == ExitCode.VALIDATION
                else (errors.OperatorRefused)
            )
            invalid, refused = self.counts.get("invalid", 0), self.counts.get("failed", 0)
            if refused == 0:
                what = "invalid"
            elif invalid == 0:
                what = "refused by the operator"
            else:
                what = f"invalid or refused by the operator ({invalid} invalid, {refused} refused)"
            error = failed(
                f"{batch} failed: nothing filed ({bad} of {self.total} report(s) {what})",
                hint="; ".join(h for h in (f"see {then}" if then else None, rerun) if h)
                or "fix the reports and rerun",
            )
        error.details = {
            "batch_id": self.batch_id,
            "status": self.status,
            "stopped_by": self.stopped_by,
        }
        return error

    def _first_refusal(self) -> tuple[str, str] | None:
        """(code, `CLIENT FORM PERIOD: why`) of the first refused item, if any."""
        for row in self.items:
            if row.get("state") == "failed" and row.get("error_code"):
                what = " ".join(str(row.get(k) or "") for k in ("client_inn", "form", "period"))
                return str(row["error_code"]), f"{what}: {row.get('error') or row['error_code']}"
        return None

    def _refused(self, batch: str, then: str | None) -> SochiError:
        """Every report refused before signing by the operator's terms (a power of attorney, a
        detached client, from its client list); the first one's code and reason say which.
        Reports the operator refused when they were sent make the batch `failed` instead."""
        from sochi_cli import errors

        first = self._first_refusal()
        refused = self.counts.get("failed", 0)
        if first and first[0].startswith("poa_"):
            hint = (
                "nothing was signed or sent; record the client's new power of attorney "
                "(`sochi clients renew CLIENT …`) and rerun" + (f", or {then}" if then else "")
            )
        else:
            hint = f"see `sochi batch show {self.batch_id}`"
        return errors.OperatorRefused(
            f"{batch} refused: {refused} of {self.total} report(s) refused, nothing filed"
            + (f" ({first[1]})" if first else ""),
            hint=hint,
            code=first[0] if first else "refused",
        )

    def _rerun_hint(self) -> str | None:
        """What a rerun does with the items never filed (said with a failed/partial batch)."""
        if not self.recheck or self.batch_id is None:
            return None
        return (
            f"fix the cause, then rerun the same command or `sochi batch resume {self.batch_id}`:"
            f" the {self.recheck} report(s) never filed are checked again and filed once"
        )

    def to_json(self) -> dict[str, Any]:
        """Every field; `items` materialised (`head_json` + iterating `items` streams)."""
        return {**self.head_json(), "items": list(self.items)}

    def head_json(self) -> dict[str, Any]:
        """Every field but `items`."""
        problem = self.problem()
        return {
            "batch_id": self.batch_id,
            "status": self.status,
            "exit_code": int(self.exit_code),
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "nothing_to_do": self.nothing_to_do,
            "interrupted": self.interrupted,
            "stopped_by": self.stopped_by,
            "total": self.total,
            "counts": self.counts,
            "already_filed": self.already_filed,
            "sent": self.sent,
            "remaining": self.remaining,
            "recheck": self.recheck,
            "pending": self.pending,
            "follow_up": self.follow_up,
            "cost": self.cost.to_json() if self.cost else None,
            "problems": self.problems,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "error": problem.to_json() if problem is not None else None,
        }


__all__ = [
    "Cost",
    "JournalRows",
    "ProgressCallback",
    "ProgressEvent",
    "SignerFactory",
    "SubmitOptions",
    "SubmitResult",
]
