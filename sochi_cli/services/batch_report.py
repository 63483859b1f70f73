"""Per-item outcome table of a batch, from the journal: what a firm sends to its clients."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from typing import Any

from sochi_cli.store.journal import Batch, Item, Journal

REPORT_COLUMNS = (
    "seq",
    "client_inn",
    "form",
    "period",
    "correction",
    "file",
    "state",
    "submission_id",
    "receipt_id",
    "error_code",
    "error",
)


@dataclass(frozen=True)
class OutcomeRow:
    seq: int
    client_inn: str
    form: str
    period: str
    correction: int
    file: str
    state: str
    submission_id: str | None
    receipt_id: str | None  # the delivery receipt (first one); all ids are in receipt_ids
    error_code: str | None
    error: str | None
    receipt_ids: tuple[str, ...] = ()
    in_flight_stage: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["receipt_ids"] = list(self.receipt_ids)
        return data


@dataclass(frozen=True)
class BatchSummary:
    batch: Batch
    counts: dict[str, int]
    in_flight: int

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self.batch), "counts": self.counts, "in_flight": self.in_flight}


def outcome_row(item: Item) -> OutcomeRow:
    return OutcomeRow(
        seq=item.seq,
        client_inn=item.client_inn,
        form=item.form,
        period=item.period,
        correction=item.correction,
        file=item.source_path,
        state=item.state,
        submission_id=item.submission_id,
        receipt_id=item.receipt_ids[0] if item.receipt_ids else None,
        error_code=item.error_code,
        error=item.error_message,
        receipt_ids=tuple(item.receipt_ids),
        in_flight_stage=item.stage if item.in_flight else None,
    )


def batch_outcomes(journal: Journal, batch_id: int) -> list[OutcomeRow]:
    journal.batch(batch_id)  # NotFound for an unknown id
    return [outcome_row(item) for item in journal.batch_items(batch_id)]


def batch_summary(journal: Journal, batch: Batch) -> BatchSummary:
    counts = journal.state_counts(batch.id)
    in_flight = len(journal.in_flight(batch.id))
    return BatchSummary(batch, counts, in_flight)


def outcomes_csv(rows: list[OutcomeRow]) -> str:
    """CSV with a header row (UTF-8, `\\r\\n` line ends as RFC 4180 says)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in (getattr(row, c) for c in REPORT_COLUMNS)])
    return buffer.getvalue()


def outcomes_json(batch: Batch, rows: list[OutcomeRow]) -> str:
    data = {"batch": asdict(batch), "items": [row.to_json() for row in rows]}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


__all__ = [
    "REPORT_COLUMNS",
    "BatchSummary",
    "OutcomeRow",
    "batch_outcomes",
    "batch_summary",
    "outcome_row",
    "outcomes_csv",
    "outcomes_json",
]
