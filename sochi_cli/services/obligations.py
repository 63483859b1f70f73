"""What is due, for whom, by when: obligations of the subscriber and every client it represents.

An obligation is one taxpayer × form × period. Which forms apply comes from the taxpayer
registrations the operator returns (`taxpayer.registrations` of each client and of the
account: VAT payer, employer, statistics respondent…) matched with each form's
`registration`; the deadline from the form's rule, moved to the next Kyrgyz working day
(`sochi_cli.forms.deadlines`); the state from the operator's submissions and the local
journal:

| state         | meaning                                                                |
|---------------|------------------------------------------------------------------------|
| `accepted`    | the agency accepted the original or a correction                       |
| `rejected`    | the latest filing was rejected (`reason` says why) and nothing accepted |
| `in_progress` | filed, the operator or the agency has not decided yet                  |
| `unsent`      | in the journal (planned, validated or signed) but not sent yet         |
| `upcoming`    | the period has not ended; the form cannot be filed yet                 |
| `missing`     | not filed, the deadline has not passed                                 |
| `overdue`     | not filed, the deadline has passed                                     |

`late` is set for a filing received after its deadline and for anything not accepted whose
deadline has passed; `overdue` (bool) for every state that still needs a filing after the
deadline (`rejected` included).

API (no printing, no Typer; the TUI calls it from a worker):

    query = DueQuery(client="Ak-Suu", overdue=True)
    report = obligations_report(client, profile, query, progress=lambda msg: ...)
    for o in report.obligations: o.client_name, o.form, o.period, o.deadline, o.state
    compute_obligations(taxpayers, forms, submissions, journal_entries, query, today)  # pure

`obligations_report` makes the same few calls whatever the number of clients: `GET /status`
(the operator's date), `GET /account`, `GET /forms`, the client list (one page per 500) and
the submissions of just the periods whose deadlines fall in the window (`plan`; one listing
per period, one page per 500, narrowed by client and form when asked), plus one local
journal query. The listing is streamed and reduced per target as it arrives (`_Filed`), so
a firm with years of filings costs neither the time to read them nor the memory to hold
them; a caller that already has the account and the clients passes them.

Errors are `SochiError` subclasses: `UsageError` (bad period syntax for the form, a bad
`within`), `NotFound`/`UsageError` for an unknown or ambiguous client name,
`UnknownDeadlineRule` for a catalogue rule this sochi does not know.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import UsageError
from sochi_cli.forms.deadlines import Deadline, deadline, period_end
from sochi_cli.forms.periods import (
    PERIOD_SYNTAX,
    period_containing,
    period_start,
    periodicity_of,
    shift_period,
)

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Account, Client, Form, Submission, Taxpayer

STATES = ("accepted", "rejected", "in_progress", "unsent", "upcoming", "missing", "overdue")
OPEN_STATES = frozenset({"rejected", "unsent", "upcoming", "missing", "overdue"})
_IN_PROGRESS = frozenset({"received", "delivered"})
_UNSENT = ("planned", "validated", "signed")


@dataclass(frozen=True)
class DueQuery:
    """Which obligations to list. Dates are Bishkek calendar dates."""

    client: str | None = None  # INN (a name or prefix is resolved by `obligations_report`)
    period: str | None = None  # exactly this period (forms of its periodicity)
    form: str | None = None
    overdue: bool = False  # only what still needs filing after its deadline
    within_days: int | None = None  # only what is not accepted and due within N days
    since: date | None = None  # deadlines on/after (default: first day two months back)


@dataclass(frozen=True)
class TaxpayerRef:
    """A taxpayer whose obligations are computed: a client, or the subscriber itself."""

    inn: str
    name: str
    taxpayer: Taxpayer | None
    own: bool = False
    period_from: str | None = None  # the POA covers periods from this month (YYYY-MM)
    period_to: str | None = None


@dataclass(frozen=True)
class JournalEntry:
    """A local journal item for a target (only what `obligations` needs)."""

    client_inn: str
    form: str
    period: str
    correction: int
    state: str
    in_flight: bool
    error: str | None = None


@dataclass(frozen=True)
class Obligation:
    client_inn: str
    client_name: str
    own: bool  # the subscriber's own report
    form: str
    form_title: str
    agency: str
    period: str
    deadline: date  # the working day it is due
    nominal_deadline: date  # what the rule says, before weekends and holidays
    deadline_moved_because: str | None
    days_left: int  # negative when the deadline has passed
    state: str
    overdue: bool
    late: bool
    fee: int  # tyiyn, the form's fee (what filing it costs)
    submission_id: str | None = None
    correction: int | None = None
    reason: str | None = None  # why rejected, or the last local error

    def to_json(self) -> dict[str, Any]:
        from sochi_cli.services.account import som

        return {
            "client_inn": self.client_inn,
            "client_name": self.client_name,
            "own": self.own,
            "form": self.form,
            "form_title": self.form_title,
            "agency": self.agency,
            "period": self.period,
            "deadline": self.deadline,
            "nominal_deadline": self.nominal_deadline,
            "deadline_moved_because": self.deadline_moved_because,
            "days_left": self.days_left,
            "state": self.state,
            "overdue": self.overdue,
            "late": self.late,
            "fee": som(self.fee),
            "submission_id": self.submission_id,
            "correction": self.correction,
            "reason": self.reason,
        }


@dataclass
class ObligationReport:
    today: date
    since: date
    until: date
    taxpayers: int
    obligations: list[Obligation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(o.state for o in self.obligations))

    def open_fees_until(self, day: date) -> int:
        """Fees (tyiyn) of what still needs filing with a deadline on or before `day`."""
        return sum(o.fee for o in self.obligations if o.state in OPEN_STATES and o.deadline <= day)

    def to_json(self) -> dict[str, Any]:
        return {
            "today": self.today,
            "since": self.since,
            "until": self.until,
            "taxpayers": self.taxpayers,
            "counts": self.counts,
            "obligations": [o.to_json() for o in self.obligations],
            "warnings": self.warnings,
        }


def parse_within(text: str) -> int:
    """`7d`, `2w` or `7` → days (0–366)."""
    import re

    match = re.fullmatch(r"\s*(\d{1,3})\s*([dw]?)\s*", text)
    if not match:
        raise UsageError(f"--within {text!r} is not a number of days such as 7d or 2w")
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if days > 366:
        raise UsageError(f"--within {text!r}: at most 366 days")
    return days


def check_query(query: DueQuery, forms: Sequence[Form]) -> None:
    """Bad input → one clear UsageError before anything is computed."""
    if query.period is not None:
        periodicity = periodicity_of(query.period)
        if periodicity is None:
            raise UsageError(
                f"--period {query.period!r} is not a period",
                hint="monthly YYYY-MM, quarterly YYYY-Qn, annual YYYY",
            )
        if query.form is not None:
            form = next((f for f in forms if f.code == query.form), None)
            if form is not None and form.periodicity != periodicity:
                syntax = PERIOD_SYNTAX[form.periodicity][1]
                raise UsageError(
                    f"--period {query.period!r} does not fit {form.code}: a {form.periodicity}"
                    f" form takes a period {syntax}",
                )
    if query.form is not None and not any(f.code == query.form for f in forms):
        from sochi_cli.errors import NotFound

        raise NotFound(
            f"unknown form {query.form!r}", hint="see `sochi forms list`", code="form_not_found"
        )


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def window(query: DueQuery, today: date) -> tuple[date, date]:
    """Deadlines shown: from the first day two months back to the end of next month.

    `overdue` ends the window yesterday, `within_days` N days from today.
    """
    since = query.since or _month_start(today, 2)
    until = _month_start(today, -2) - timedelta(days=1)
    if query.overdue:
        until = today - timedelta(days=1)
    elif query.within_days is not None:
        until = today + timedelta(days=query.within_days)
    return since, until


@dataclass(frozen=True)
class Slot:
    """One form × period whose obligations are listed, its dates worked out once."""

    form: Form
    period: str
    due: Deadline
    start: date
    end: date

    @property
    def key(self) -> tuple[str, str]:
        return self.form.code, self.period


def _deadline(form: Form, period: str) -> Deadline:
    rule = form.deadline.to_json() if form.deadline else {"kind": None}
    return deadline(rule, period, form.periodicity, form=form.code)


def _periods_due(form: Form, since: date, until: date) -> list[tuple[str, Deadline]]:
    """Periods of `form` whose deadline falls within since..until (oldest first)."""
    found = []
    period = period_containing(since - timedelta(days=400), form.periodicity)
    for _ in range(200):
        due = _deadline(form, period)
        if due.due > until:
            break
        if due.due >= since:
            found.append((period, due))
        period = shift_period(period, form.periodicity, 1)
    return found


def plan(query: DueQuery, forms: Sequence[Form], today: date) -> list[Slot]:
    """The forms × periods the query covers: the periods whose deadlines fall in its window,
    or exactly `query.period` (forms of its periodicity). Only these are fetched and kept."""
    since, until = window(query, today)
    chosen = [f for f in forms if query.form is None or f.code == query.form]
    if query.period is not None:
        periodicity = periodicity_of(query.period)
        pairs = [
            (f, query.period, _deadline(f, query.period))
            for f in chosen
            if f.periodicity == periodicity
        ]
    else:
        pairs = [(f, p, due) for f in chosen for p, due in _periods_due(f, since, until)]
    slots = []
    for form, period, due in pairs:
        start = period_start(period, form.periodicity)
        end = period_end(period, form.periodicity)
        if start is not None and end is not None:
            slots.append(Slot(form, period, due, start, end))
    return slots


def _applies(slot: Slot, who: TaxpayerRef) -> bool:
    """Does the taxpayer's register oblige it to file the slot's form for its period?"""
    form, start, end = slot.form, slot.start, slot.end
    kind = "legal" if who.inn.startswith("0") else "natural"
    if form.filers and kind not in form.filers:
        return False
    if who.period_from and f"{start:%Y-%m}" < who.period_from:
        return False
    if who.period_to and f"{end:%Y-%m}" > who.period_to:
        return False
    taxpayer = who.taxpayer
    if taxpayer is None:
        return True  # the operator did not say: every form of this kind of taxpayer
    if taxpayer.inactive_since is not None and end >= taxpayer.inactive_since:
        return False
    if taxpayer.registered_on is not None and end < taxpayer.registered_on:
        return False
    if form.registration is None:
        return True
    return any(
        r.kind == form.registration and start >= r.since and (r.until is None or end <= r.until)
        for r in taxpayer.registrations
    )


_NO_TIME = datetime.min.replace(tzinfo=UTC)


class _Filed:
    """What the operator holds for one target, reduced as the listing streams by: the
    latest submission (highest correction, then newest) in each group that decides the
    state, so a listing of any length is never held whole."""

    __slots__ = ("accepted", "in_progress", "rejected")

    def __init__(self) -> None:
        self.in_progress: Submission | None = None
        self.accepted: Submission | None = None
        self.rejected: Submission | None = None

    def add(self, sub: Submission) -> None:
        if sub.status in _IN_PROGRESS:
            group = "in_progress"
        elif sub.status in ("accepted", "rejected"):
            group = sub.status
        else:
            return
        held = getattr(self, group)
        if held is None or recency(sub) > recency(held):
            setattr(self, group, sub)


def recency(sub: Submission) -> tuple[int, datetime]:
    """Which of two filings of one target is the later: the higher correction, then newer."""
    return sub.correction, sub.received_at or _NO_TIME


def _state(
    filed: _Filed | None,
    entries: list[JournalEntry],
    due: Deadline,
    period_ended: bool,
    today: date,
) -> tuple[str, Submission | None, str | None]:
    if filed is not None:
        if filed.in_progress is not None:
            return "in_progress", filed.in_progress, None
        if filed.accepted is not None:
            return "accepted", filed.accepted, None
        rejected = filed.rejected
        if rejected is not None:
            errors = rejected.protocol.errors if rejected.protocol else []
            return "rejected", rejected, errors[0].message if errors else "rejected by the agency"
    if any(e.state in _UNSENT or e.in_flight for e in entries):
        return "unsent", None, None
    note = next((e.error for e in reversed(entries) if e.error), None)
    if not period_ended:
        return "upcoming", None, note
    return ("overdue" if due.due < today else "missing"), None, note


def compute_obligations(
    taxpayers: Sequence[TaxpayerRef],
    forms: Sequence[Form],
    submissions: Iterable[Submission],
    journal: Iterable[JournalEntry],
    query: DueQuery,
    today: date,
) -> ObligationReport:
    """The obligations of `taxpayers` (no I/O): what `obligations_report` computes.

    `submissions` is consumed once, lazily (a listing streamed page by page does): only
    those of a listed taxpayer, form and period are kept, reduced to what decides a state.
    """
    since, until = window(query, today)
    slots = plan(query, forms, today)
    return _compute(taxpayers, slots, submissions, journal, query, today, since, until)


def _compute(
    taxpayers: Sequence[TaxpayerRef],
    slots: Sequence[Slot],
    submissions: Iterable[Submission],
    journal: Iterable[JournalEntry],
    query: DueQuery,
    today: date,
    since: date,
    until: date,
) -> ObligationReport:
    listed = [t for t in taxpayers if query.client is None or t.inn == query.client]
    inns = {t.inn for t in listed}
    planned = {slot.key for slot in slots}
    filed: dict[tuple[str, str, str], _Filed] = {}
    for filing in submissions:
        code = filing.form.upper()
        if filing.client_inn in inns and (code, filing.period) in planned:
            key = (filing.client_inn, code, filing.period)
            held = filed.get(key)
            if held is None:
                held = filed[key] = _Filed()
            held.add(filing)
    entries: dict[tuple[str, str, str], list[JournalEntry]] = defaultdict(list)
    for entry in journal:
        entries[(entry.client_inn, entry.form.upper(), entry.period)].append(entry)
    report = ObligationReport(today, since, until, len(taxpayers))
    unknown = sum(1 for t in taxpayers if t.taxpayer is None)
    if unknown:
        report.warnings.append(
            f"the operator did not say which forms apply to {unknown} taxpayer(s): "
            "every form of their kind is listed"
        )
    for who in listed:
        for slot in slots:
            if not _applies(slot, who):
                continue
            form, due = slot.form, slot.due
            key = (who.inn, form.code, slot.period)
            ended = slot.end < today or form.early_filing
            state, sub, reason = _state(filed.get(key), entries.get(key, []), due, ended, today)
            passed = due.due < today
            overdue = passed and state in OPEN_STATES
            if query.overdue and not overdue:
                continue
            if query.within_days is not None and state not in OPEN_STATES:
                continue
            late = bool(sub.late) if sub is not None and state != "rejected" else passed
            report.obligations.append(
                Obligation(
                    client_inn=who.inn,
                    client_name=who.name,
                    own=who.own,
                    form=form.code,
                    form_title=form.title,
                    agency=form.agency.code,
                    period=slot.period,
                    deadline=due.due,
                    nominal_deadline=due.nominal,
                    deadline_moved_because=due.moved_because,
                    days_left=(due.due - today).days,
                    state=state,
                    overdue=overdue,
                    late=late,
                    fee=form.fee,
                    submission_id=sub.id if sub is not None else None,
                    correction=sub.correction if sub is not None else None,
                    reason=reason,
                )
            )
    report.obligations.sort(key=lambda o: (o.deadline, o.client_name.casefold(), o.form, o.period))
    return report


def journal_entries(
    profile: str, client_inn: str | None = None, periods: Collection[str] | None = None
) -> list[JournalEntry]:
    """Journal items that matter to obligations (one query; empty without a journal),
    only of these `periods` when given."""
    from sochi_cli.store.journal import Journal

    if periods is not None and not periods:
        return []
    journal = Journal.reader(profile)  # read-only: `due` works on a read-only copy too
    if journal is None:
        return []
    sql = (
        "SELECT client_inn, form, period, correction, state, in_flight, error_message"
        " FROM items WHERE state NOT IN ('received', 'delivered', 'accepted', 'rejected')"
    )
    params: list[Any] = []
    if client_inn is not None:
        sql += " AND client_inn=?"
        params.append(client_inn)
    if periods is not None:
        sql += f" AND period IN ({','.join('?' * len(periods))})"
        params.extend(periods)
    with journal:
        rows = journal.query(sql, params)
    return [JournalEntry(r[0], r[1], r[2], int(r[3]), r[4], bool(r[5]), r[6]) for r in rows]


PERIODS_LISTED_ONE_BY_ONE = 12  # beyond this, one listing of everything takes fewer calls


def filed_in(
    client: OperatorClient, periods: Sequence[str], *, inn: str | None, form: str | None
) -> Iterator[Submission]:
    """The account's submissions of these periods, streamed page by page (never held whole).

    The contract's `period` filter takes one period, so it is one listing per period (the
    default window has four to seven); a window of more periods than
    PERIODS_LISTED_ONE_BY_ONE (a `--since` years back) is read in one listing instead, and the
    caller drops what it did not ask about. Narrowed by the client and form when asked.
    """
    from sochi_cli.api import resources

    if len(periods) > PERIODS_LISTED_ONE_BY_ONE:
        yield from client.iterate(resources.submissions.list(client=inn, form=form, limit=500))
        return
    for period in periods:
        yield from client.iterate(
            resources.submissions.list(client=inn, form=form, period=period, limit=500)
        )


def obligations_report(
    client: OperatorClient,
    profile: str,
    query: DueQuery,
    *,
    progress: Callable[[str], None] | None = None,
    account: Account | None = None,
    clients: Sequence[Client] | None = None,
) -> ObligationReport:
    """Fetch what the operator knows, read the journal, compute.

    Only the submissions of the periods the query covers are asked for (`plan`), and they
    are reduced as they stream in. A caller that already holds the `account` and its
    `clients` (the dashboard) passes them, so they are not fetched twice.
    """
    import dataclasses

    from sochi_cli.api import resources
    from sochi_cli.services.clients import list_clients, match_client
    from sochi_cli.services.forms import list_forms
    from sochi_cli.timeutil import to_bishkek

    say = progress or (lambda _message: None)
    say("asking the operator for its date, the account and the forms")
    today = to_bishkek(client.call(resources.status.get()).server_time).date()
    if account is None:
        account = client.call(resources.account.get())
    forms = list_forms(client, profile)
    form = query.form.strip().upper() if query.form else None
    query = dataclasses.replace(query, form=form)
    check_query(query, forms)
    taxpayers = [TaxpayerRef(account.inn, account.name, account.taxpayer, own=True)]
    if account.kind == "tax_representative":
        if clients is None:
            say("listing clients")
            clients = list_clients(client, profile)
        for c in clients:
            if c.status != "active":
                continue
            poa = c.poa
            taxpayers.append(
                TaxpayerRef(
                    c.inn,
                    c.name,
                    c.taxpayer,
                    period_from=poa.period_from if poa else None,
                    period_to=poa.period_to if poa else None,
                )
            )
    if query.client is not None:
        inn = match_client(query.client, [(t.inn, t.name) for t in taxpayers])
        query = dataclasses.replace(query, client=inn)
    since, until = window(query, today)
    slots = plan(query, forms, today)
    periods = sorted({slot.period for slot in slots})
    say("listing the submissions of " + (", ".join(periods) or "no period"))
    submissions = filed_in(client, periods, inn=query.client, form=query.form)
    entries = journal_entries(profile, query.client, periods)
    return _compute(taxpayers, slots, submissions, entries, query, today, since, until)


__all__ = [
    "OPEN_STATES",
    "PERIODS_LISTED_ONE_BY_ONE",
    "STATES",
    "DueQuery",
    "JournalEntry",
    "Obligation",
    "ObligationReport",
    "Slot",
    "TaxpayerRef",
    "check_query",
    "compute_obligations",
    "filed_in",
    "journal_entries",
    "obligations_report",
    "parse_within",
    "plan",
    "recency",
    "window",
]
