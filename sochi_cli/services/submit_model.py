"""Data of the batch engine: its options, the progress events it emits and the result it returns.

No I/O here; `services.submit` runs the pipeline, front-ends render `SubmitResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import ExitCode
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
        with Journal(self.journal_path) as journal:
            for item in journal.iter_batch_items(self.batch_id):
                row = outcome_row(item, context).to_json()
                row["already_filed"] = item.id in self.already_filed
                row["idempotency_key"] = item.idempotency_key
                yield row


@dataclass
class SubmitResult:
    """What a run did; `exit_code` follows docs/batch.md."""

    batch_id: int | None
    status: str
    exit_code: ExitCode
    dry_run: bool = False
    resumed: bool = False
    interrupted: bool = False
    stopped_by: str | None = None  # "signal" | "maintenance" | "unavailable" | None
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    already_filed: int = 0
    sent: int = 0
    remaining: int = 0
    cost: Cost | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    # Per-item outcome rows; after a journaled run, read back from the journal a chunk at a
    # time on each iteration, so a 5000-item summary never sits in memory.
    items: Iterable[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Every field; `items` materialised (`head_json` + iterating `items` streams)."""
        return {**self.head_json(), "items": list(self.items)}

    def head_json(self) -> dict[str, Any]:
        """Every field but `items`."""
        return {
            "batch_id": self.batch_id,
            "status": self.status,
            "exit_code": int(self.exit_code),
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "interrupted": self.interrupted,
            "stopped_by": self.stopped_by,
            "total": self.total,
            "counts": self.counts,
            "already_filed": self.already_filed,
            "sent": self.sent,
            "remaining": self.remaining,
            "cost": self.cost.to_json() if self.cost else None,
            "problems": self.problems,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
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
