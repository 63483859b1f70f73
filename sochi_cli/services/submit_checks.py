"""Checks of the batch engine before anything is signed: schema, POA/period, cost of the batch.

Everything the operator is asked (who we are, the client list, forms, tariffs, balance) is
fetched once per batch through one sync client and kept in a `BatchContext`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sochi_cli.errors import NotFound, OperatorRefused
from sochi_cli.services.submit_model import Cost

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Client, Form


@dataclass(frozen=True)
class ItemProblem:
    """Why one item may not be filed: a stable code and one line."""

    code: str
    message: str


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

    @classmethod
    def fetch(cls, client: OperatorClient, profile: str, today: date) -> BatchContext:
        from sochi_cli.api import resources

        account = client.call(resources.account.get())
        return cls(profile, today, account.inn, account.kind, client)

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
        return self._clients

    def forget_clients(self) -> None:
        """Drop the cached client list (validation is over; fetched again if asked for)."""
        self._clients = None


def check_item(
    context: BatchContext, path: Path, client_inn: str, form_code: str, period: str
) -> ItemProblem | None:
    """Local validation (clause 6.3) then the power of attorney (clause 3.2): first problem."""
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
    return poa_problem(context, client_inn, period)


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
    "BatchContext",
    "ItemProblem",
    "batch_cost",
    "check_item",
    "poa_problem",
    "require_affordable",
]
