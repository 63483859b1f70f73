"""Checks of the batch engine before anything is signed: schema, POA/period, cost of the batch.

Everything the operator is asked (who we are, the client list, forms, tariffs, balance) is
fetched once per batch through one sync client and kept in a `BatchContext`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sochi_cli.errors import NotFound, OperatorRefused
from sochi_cli.services.submit_model import Cost
from sochi_cli.store.journal import ItemState
from sochi_cli.timeutil import format_local

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Client, Form, Submission


# Refusals by the operator's terms (clause 3.2), found before signing from the operator's
# own client list: the item is `failed` (refused), as the operator would refuse it, not
# `invalid` — nothing is wrong with the report, and a rerun after the fix checks it again.
REFUSAL_CODES = frozenset(
    {
        "poa_missing",
        "poa_expired",
        "poa_period_not_covered",
        "client_detached",
        "not_tax_representative",
    }
)


@dataclass(frozen=True)
class ItemProblem:
    """Why one item may not be filed: a stable code and one line."""

    code: str
    message: str

    @property
    def state(self) -> ItemState:
        """`failed` (refused by the operator's terms) or `invalid` (the report itself)."""
        return ItemState.FAILED if self.code in REFUSAL_CODES else ItemState.INVALID


@dataclass
class BatchContext:
    """Operator facts of one batch, fetched once (the client list is cached per batch)."""

    profile: str
    today: date  # the operator's date in Bishkek (its clock decides POA validity)
    own_inn: str
    own_kind: str
    _client: OperatorClient
    _clients: dict[str, Client] | None = None
    _forms: dict[str, Form | None] = field(default_factory=dict)
    # what the operator already holds, per period (fetched once per period of the batch)
    _filed: dict[str, dict[tuple[str, str], list[Submission]]] = field(default_factory=dict)
    # corrections this batch files per target, so an original and its correction can go together
    _planned: dict[tuple[str, str, str], int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # INN → name (clients and ourselves)
    warnings: list[str] = field(default_factory=list)  # said before signing (late filings)

    @classmethod
    def fetch(cls, client: OperatorClient, profile: str, today: date) -> BatchContext:
        from sochi_cli.api import resources

        account = client.call(resources.account.get())
        context = cls(profile, today, account.inn, account.kind, client)
        context.names[account.inn] = account.name
        return context

    def name(self, inn: str) -> str:
        """`Name (INN)` when the name is known, else the INN."""
        if inn not in self.names and self._clients is not None and inn in self._clients:
            self.names[inn] = self._clients[inn].name
        name = self.names.get(inn)
        return f"{name} ({inn})" if name else inn

    def filed(self, client_inn: str, form: str, period: str) -> list[Submission]:
        """The operator's submissions for one target (all corrections, all states)."""
        if period not in self._filed:
            from sochi_cli.api import resources

            found: dict[tuple[str, str], list[Submission]] = {}
            listing = resources.submissions.list(period=period, limit=500)
            for sub in self._client.iterate(listing):
                found.setdefault((sub.client_inn, sub.form.upper()), []).append(sub)
            self._filed[period] = found
        return self._filed[period].get((client_inn, form.upper()), [])

    def form(self, code: str) -> Form | None:
        if code not in self._forms:
            from sochi_cli.forms import catalogue
            from sochi_cli.services.forms import get_form

            cached = catalogue.load_form(self.profile, code)
            try:
                self._forms[code] = cached or get_form(self._client, self.profile, code)
            except NotFound:
                self._forms[code] = None
        return self._forms[code]

    def clients(self) -> dict[str, Client]:
        if self._clients is None:
            from sochi_cli.services.clients import list_clients

            if self.own_kind == "tax_representative":
                found = list_clients(self._client, self.profile)
            else:
                found = []
            self._clients = {c.inn: c for c in found}
            self.names.update({c.inn: c.name for c in found})
        return self._clients

    def client_name(self, inn: str) -> str | None:
        """The name of `inn` (a client or ourselves): fetched this run, else the cached list."""
        if inn not in self.names:
            from sochi_cli.services.clients import client_names

            for known, name in client_names(self.profile).items():
                self.names.setdefault(known, name)
        return self.names.get(inn)

    def remember_names(self, inns: Iterable[str]) -> None:
        """Every output of a batch takes client names from the cached client list: refresh it
        once when a client of the batch is not in it and this run has not fetched the list
        (e.g. every report failed validation before the POA check asked for it)."""
        if self.own_kind != "tax_representative" or self._clients is not None:
            return
        from sochi_cli.services.clients import client_names

        cached = client_names(self.profile)
        if any(inn not in cached and inn != self.own_inn for inn in inns):
            self.clients()

    def forget_clients(self) -> None:
        """Drop the cached client list (validation is over; fetched again if asked for)."""
        self._clients = None


def check_item(
    context: BatchContext,
    path: Path,
    client_inn: str,
    form_code: str,
    period: str,
    *,
    correction: int = 0,
    key: str | None = None,
) -> ItemProblem | None:
    """Local validation (clause 6.3), the power of attorney (clause 3.2), the period's end,
    then what the operator already holds for the target (one original, corrections in order).

    A late filing is not a problem: it is added to `context.warnings`, said before signing.
    """
    from sochi_cli.forms.validate import validate_report

    form = context.form(form_code)
    if form is None:
        return ItemProblem("form_not_found", f"unknown form '{form_code}'")
    check = validate_report(path, form, today=context.today)
    if not check.ok:
        first = check.issues[0]
        more = len(check.issues) - 1
        suffix = f" (and {more} more)" if more > 0 else ""
        return ItemProblem("validation_failed", first.one_line() + suffix)
    problem = poa_problem(context, client_inn, period) or period_problem(context, form, period)
    if problem is None:
        problem = filing_problem(
            context, client_inn, form.code, period, correction, key, element=_element(path)
        )
    if problem is None and not _sent_before(context, client_inn, form.code, period, key):
        late_warning(context, form, client_inn, period)
    return problem


def _element(path: Path) -> str | None:
    """Where the report's own <correction> is (`report.xml:7`), if it has one."""
    from sochi_cli.services.report_header import HeaderError, read_report_header

    try:
        header = read_report_header(path)
    except (HeaderError, OSError):
        return None
    if header.correction is None:
        return None
    return f"{path}:{header.lines.get('correction', 1)}"


def _sent_before(
    context: BatchContext, client_inn: str, form_code: str, period: str, key: str | None
) -> bool:
    """This very report is already at the operator (a rerun): it will not be filed again."""
    filed = context.filed(client_inn, form_code, period)
    return key is not None and any(s.idempotency_key == key for s in filed)


def period_problem(context: BatchContext, form: Form, period: str) -> ItemProblem | None:
    """A period that has not ended yet is refused unless the form may be filed early."""
    from sochi_cli.forms.deadlines import period_end

    end = period_end(period, form.periodicity)
    if end is None or end < context.today or form.early_filing:
        return None
    return ItemProblem(
        "period_not_ended",
        f"period {period} ends on {end}; {form.code} may be filed only after its period ends",
    )


def late_warning(context: BatchContext, form: Form, client_inn: str, period: str) -> None:
    from sochi_cli.forms.deadlines import deadline

    if form.deadline is None:
        return
    due = deadline(form.deadline.to_json(), period, form.periodicity, form=form.code).due
    if due < context.today:
        context.warnings.append(
            f"late: {form.code} {period} of {context.name(client_inn)} was due {due}; "
            "it will be filed late"
        )


def filing_problem(
    context: BatchContext,
    client_inn: str,
    form_code: str,
    period: str,
    correction: int,
    key: str | None,
    *,
    element: str | None = None,
) -> ItemProblem | None:
    """One original per taxpayer, form and period; corrections 1, 2… in order (docs/api.md).

    `element` is where the report states its own correction number (`report.xml:7`): the
    number is part of what is signed, so the way out is to change it there — `--correction`
    and the manifest's column only fill in a report that does not say it (they never
    override it: the signed report and the filing would disagree).

    Rejected submissions do not count. The item's own earlier send (same idempotency key)
    is not a problem: the engine reports it as already filed.
    """
    subs = [s for s in context.filed(client_inn, form_code, period) if s.status != "rejected"]
    if key is not None and any(s.idempotency_key == key for s in subs):
        return None
    target = (client_inn, form_code.upper(), period)
    numbers = [s.correction for s in subs]
    if target in context._planned:
        numbers.append(context._planned[target])
    expected = max(numbers) + 1 if numbers else 0
    if correction == expected:
        context._planned[target] = correction
        return None
    what = f"{form_code} {period} of {context.name(client_inn)}"
    if correction == 0 and subs:
        original = min(subs, key=lambda s: s.correction)
        received = (
            f", received {format_local(original.received_at)}" if original.received_at else ""
        )
        way = (
            f"set <correction>{expected}</correction> at {element} and submit it again"
            if element
            else f"submit it again with --correction {expected} (in a manifest: its "
            f"correction column)"
        )
        return ItemProblem(
            "original_exists",
            f"an original {what} is already filed: {original.id} ({original.status}{received});"
            f" to file this report as correction {expected}, {way}",
        )
    if not numbers:
        return ItemProblem(
            "correction_out_of_order",
            f"correction {correction} of {what}: no original is on file; file the original "
            "(correction 0) first",
        )
    return ItemProblem(
        "correction_out_of_order",
        f"correction {correction} of {what} is out of order: the last one filed is "
        f"{expected - 1}; file correction {expected} next",
    )


def poa_problem(context: BatchContext, client_inn: str, period: str) -> ItemProblem | None:
    """None when the filer may file for `client_inn` for `period` on the operator's date."""
    from sochi_cli.forms.periods import month_of

    if client_inn == context.own_inn:
        return None
    if context.own_kind != "tax_representative":
        return ItemProblem(
            "not_tax_representative",
            f"a self-filer files only its own reports, not for {client_inn}",
        )
    found = context.clients().get(client_inn)
    if found is None or found.poa is None:
        return ItemProblem(
            "poa_missing", f"{client_inn} is not a client: no power of attorney on file"
        )
    if found.status == "detached":
        return ItemProblem("client_detached", f"{client_inn} is detached from this account")
    poa = found.poa
    if not poa.issued_on <= context.today <= poa.valid_until:
        return ItemProblem(
            "poa_expired",
            f"the power of attorney {poa.number} of {client_inn} is valid "
            f"{poa.issued_on}..{poa.valid_until}, not on {context.today}",
        )
    months = month_of(period)
    if months is not None and (
        (poa.period_from and months[0] < poa.period_from)
        or (poa.period_to and months[1] > poa.period_to)
    ):
        return ItemProblem(
            "poa_period_not_covered",
            f"the power of attorney {poa.number} does not cover period {period}",
        )
    return None


def batch_cost(client: OperatorClient, forms: list[str]) -> Cost:
    """Tariffs × items against the balance (the E-Cloud subscription is not a per-item cost)."""
    from sochi_cli.api import resources

    tariffs = client.call(resources.account.tariffs())
    fees = {t.code: t.amount for t in tariffs.items}
    required = sum(fees.get(f"submission:{code.upper()}", 0) for code in forms)
    balance = client.call(resources.account.balance()).balance if forms else None
    return Cost(tariffs.currency, required, balance, len(forms))


def require_affordable(cost: Cost) -> None:
    """Stop before signing anything when the batch cannot be paid, saying by how much."""
    from sochi_cli.services.account import som

    if cost.balance is None or cost.required <= cost.balance:
        return
    raise OperatorRefused(
        f"the batch costs {som(cost.required)} {cost.currency} for {cost.items} report(s) but "
        f"the balance is {som(cost.balance)} {cost.currency}: "
        f"{som(cost.shortfall)} {cost.currency} short",
        hint="top up the personal account and rerun; nothing was signed or sent",
        code="balance_insufficient",
        details=cost.to_json(),
    )


__all__ = [
    "REFUSAL_CODES",
    "BatchContext",
    "ItemProblem",
    "batch_cost",
    "check_item",
    "filing_problem",
    "late_warning",
    "period_problem",
    "poa_problem",
    "require_affordable",
]
