"""Per-item outcome table of a batch, from the journal: what a firm sends to its clients."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from typing import Any

from sochi_cli.store.files import printable
from sochi_cli.store.journal import Batch, BatchStatus, Item, Journal

REPORT_COLUMNS = (
    "seq",
    "client_inn",
    "client_name",
    "form",
    "period",
    "correction",
    "file",
    "state",
    "submission_id",
    "receipt_id",
    "error_code",
    "error",
    "fee",
    "late",
)


@dataclass(frozen=True)
class RowContext:
    """What rows add from local caches: client names and the forms' deadline rules."""

    names: dict[str, str]
    forms: dict[str, dict[str, Any]]  # code → cached catalogue entry (periodicity, deadline)

    @classmethod
    def load(cls, profile: str) -> RowContext:
        from sochi_cli.forms.catalogue import cached_catalogue, cached_codes, load_form
        from sochi_cli.services.clients import client_names

        forms = {str(f.get("code")): f for f in cached_catalogue(profile) or []}
        for code in cached_codes(profile):
            if code not in forms and (form := load_form(profile, code)) is not None:
                forms[code] = form.to_json()
        return cls(client_names(profile), forms)

    def late(self, item: Item) -> bool | None:
        """Received after the form's deadline (None when unknown: not sent, form not cached)."""
        from sochi_cli.forms.deadlines import deadline
        from sochi_cli.timeutil import parse_instant, to_bishkek

        sent = item.stage_times.get("send", {}).get("finished")
        form = self.forms.get(item.form)
        if not sent or form is None or item.submission_id is None:
            return None
        try:
            due = deadline(form["deadline"], item.period, form["periodicity"], form=item.form)
        except Exception:  # a rule this sochi does not know: late is unknown here
            return None
        return to_bishkek(parse_instant(sent)).date() > due.due


@dataclass(frozen=True)
class OutcomeRow:
    seq: int
    client_inn: str
    client_name: str | None
    form: str
    period: str
    correction: int
    file: str
    state: str
    submission_id: str | None
    receipt_id: str | None  # the delivery receipt (first one); all ids are in receipt_ids
    error_code: str | None
    error: str | None
    fee: str | None = None  # som, what the operator charged
    late: bool | None = None
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
    status: str  # the batch's status as it stands now (a dead run's "running" → interrupted)

    @property
    def follow_up(self) -> str | None:
        """The command that would continue this batch, if anything is left to do."""
        if self.status in ("interrupted", "refused", "pending_verdicts", "open"):
            return f"sochi batch resume {self.batch.id}"
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self.batch),
            "status": self.status,
            "counts": self.counts,
            "in_flight": self.in_flight,
            "follow_up": self.follow_up,
        }


def outcome_row(item: Item, context: RowContext | None = None) -> OutcomeRow:
    from sochi_cli.services.account import som

    return OutcomeRow(
        seq=item.seq,
        client_inn=item.client_inn,
        client_name=context.names.get(item.client_inn) if context else None,
        form=item.form,
        period=item.period,
        correction=item.correction,
        file=printable(item.source_path),
        state=item.state,
        submission_id=item.submission_id,
        receipt_id=item.receipt_ids[0] if item.receipt_ids else None,
        error_code=item.error_code,
        error=item.error_message,
        fee=som(item.fee) if item.fee is not None and item.submission_id else None,
        late=context.late(item) if context else None,
        receipt_ids=tuple(item.receipt_ids),
        in_flight_stage=item.stage if item.in_flight else None,
    )


def batch_outcomes(
    journal: Journal, batch_id: int, context: RowContext | None = None
) -> list[OutcomeRow]:
    journal.batch(batch_id)  # NotFound for an unknown id
    return [outcome_row(item, context) for item in journal.batch_items(batch_id)]


def batch_summary(journal: Journal, batch: Batch) -> BatchSummary:
    counts = journal.state_counts(batch.id)
    in_flight = len(journal.in_flight(batch.id))
    return BatchSummary(batch, counts, in_flight, current_status(journal, batch))


def current_status(journal: Journal, batch: Batch) -> str:
    """A batch marked running (or open) whose process is gone — the journal's batch lock
    is free — was interrupted: a kill, a crash or a power cut. A rerun resumes it."""
    if batch.status in (BatchStatus.RUNNING, BatchStatus.OPEN) and not journal.writer_busy():
        return str(BatchStatus.INTERRUPTED)
    return batch.status


def outcomes_csv(rows: list[OutcomeRow]) -> str:
    """CSV with a header row (UTF-8, `\\r\\n` line ends as RFC 4180 says); a yes/no field
    (`late`) as `yes`/`no`, as in every tab-separated output; empty when not known."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        writer.writerow([_csv_field(getattr(row, c)) for c in REPORT_COLUMNS])
    return buffer.getvalue()


def _csv_field(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def outcomes_json(batch: Batch, rows: list[OutcomeRow]) -> str:
    from sochi_cli.timeutil import normalize_instants

    data = {"batch": asdict(batch), "items": [row.to_json() for row in rows]}
    return json.dumps(normalize_instants(data), ensure_ascii=False, indent=2) + "\n"


__all__ = [
    "REPORT_COLUMNS",
    "BatchSummary",
    "OutcomeRow",
    "RowContext",
    "batch_outcomes",
    "batch_summary",
    "current_status",
    "outcome_row",
    "outcomes_csv",
    "outcomes_json",
]
