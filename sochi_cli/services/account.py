"""Account use cases: requisites (clause 4.3.11), balance with E-Cloud projection, charges."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import UsageError

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Account, Balance, Charge, Tariffs


def som(tyiyn: int) -> str:
    """Money for people and JSON: som as a decimal string (`5000.00`)."""
    sign = "-" if tyiyn < 0 else ""
    whole, cents = divmod(abs(tyiyn), 100)
    return f"{sign}{whole}.{cents:02d}"


def get_account(client: OperatorClient) -> Account:
    from sochi_cli.api import resources

    return client.call(resources.account.get())


def update_requisites(client: OperatorClient, changes: dict[str, str]) -> Account:
    """PATCH only the given requisites; unknown names and empty values refused locally."""
    from sochi_cli.api import resources
    from sochi_cli.api.models import REQUISITE_FIELDS

    if not changes:
        raise UsageError("nothing to update", hint="pass --set FIELD=VALUE")
    for name, value in changes.items():
        if name not in REQUISITE_FIELDS:
            raise UsageError(
                f"unknown requisite '{name}'", hint=f"known: {', '.join(REQUISITE_FIELDS)}"
            )
        if not value.strip():
            raise UsageError(f"requisite '{name}' cannot be empty")
        if name == "email" and "@" not in value:
            raise UsageError(f"'{value}' is not an e-mail address")
    return client.call(resources.account.update(changes))


@dataclass
class BalanceReport:
    balance: Balance
    monthly_fee: int
    subscribed: bool
    month_end: date
    month_end_debit: int
    runs_out_on: date | None
    filing_fees: int = 0  # fees of what is still to be filed this month (obligations)
    filings: int = 0

    @property
    def projected_month_end_balance(self) -> int:
        return self.balance.balance - self.filing_fees - self.month_end_debit

    def to_json(self) -> dict[str, Any]:
        return {
            "balance": som(self.balance.balance),
            "balance_tyiyn": self.balance.balance,
            "currency": self.balance.currency,
            "status": self.balance.status,
            "as_of": self.balance.as_of,
            "ecloud_subscribed": self.subscribed,
            "ecloud_monthly_fee": som(self.monthly_fee),
            "month_end": self.month_end,
            "projected_month_end_debit": som(self.month_end_debit),
            "projected_filing_fees": som(self.filing_fees),
            "projected_filings": self.filings,
            "projected_month_end_balance": som(self.projected_month_end_balance),
            "runs_out_on": self.runs_out_on,
        }


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def project_balance(
    balance: int, monthly_fee: int, today: date, filing_fees: int = 0
) -> tuple[date, int, date | None]:
    """(this month's end, its E-Cloud debit, the month-end when the balance reaches zero).

    The subscription (clause 3.10) and `filing_fees`, the fees of what is still to be filed
    this month, are projected; every later month is assumed to cost as much.
    """
    end = _month_end(today.year, today.month)
    monthly = monthly_fee + filing_fees
    if monthly <= 0:
        return end, 0, None
    debit = min(monthly_fee, max(balance - filing_fees, 0))
    if balance <= 0:
        return end, 0, today
    months = -(-balance // monthly)  # ceil: the month whose debits take the last som
    if months > 1200:  # a century of filings: not a date anyone plans for
        return end, debit, None
    index = today.year * 12 + today.month - 1 + months - 1
    return end, debit, _month_end(index // 12, index % 12 + 1)


def balance_report(
    client: OperatorClient,
    today: date,
    profile: str | None = None,
    *,
    account: Account | None = None,
) -> BalanceReport:
    """Balance with the month projected; with `profile`, the fees of this month's open
    obligations (`sochi due`) count too — a representative's filing fees. A caller that
    already holds the `account` passes it."""
    from sochi_cli.api import resources
    from sochi_cli.timeutil import to_bishkek

    balance = client.call(resources.account.balance())
    if account is None:
        account = client.call(resources.account.get())
    if balance.as_of is not None:  # the operator's calendar decides when months end
        today = to_bishkek(balance.as_of).date()
    fee = account.ecloud.monthly_fee if account.ecloud.subscribed else 0
    fees = filings = 0
    if profile is not None:
        from sochi_cli.forms.deadlines import UnknownDeadlineRule
        from sochi_cli.services.obligations import OPEN_STATES, DueQuery, obligations_report

        month_end = _month_end(today.year, today.month)
        try:
            report = obligations_report(client, profile, DueQuery(), account=account)
        except UnknownDeadlineRule:  # the balance itself is still worth showing
            report = None
        open_ = [
            o
            for o in (report.obligations if report else [])
            if o.state in OPEN_STATES and o.state != "upcoming" and o.deadline <= month_end
        ]
        fees, filings = sum(o.fee for o in open_), len(open_)
    end, debit, runs_out = project_balance(balance.balance, fee, today, fees)
    return BalanceReport(
        balance, fee, account.ecloud.subscribed, end, debit, runs_out, fees, filings
    )


@dataclass(frozen=True)
class ClientCharge:
    charge: Charge
    client_inn: str | None
    client_name: str | None
    form: str | None
    period: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.charge.to_json(),
            "amount": som(self.charge.amount),
            "balance_after": None
            if self.charge.balance_after is None
            else som(self.charge.balance_after),
            "client_inn": self.client_inn,
            "client_name": self.client_name,
            "form": self.form,
            "period": self.period,
        }


def client_charges(
    client: OperatorClient, profile: str, who: str | None, period: str | None
) -> list[ClientCharge]:
    """Filing fees per client (and period): what a firm invoices each client for.

    One submissions listing (filtered by client/period) and one charges listing.
    """
    from sochi_cli.api import resources
    from sochi_cli.services.clients import client_names, resolve_client

    inn = resolve_client(client, profile, who) if who else None
    if inn is not None:
        from sochi_cli.forms.inn import check_inn

        inn = check_inn(inn, what="--client INN")
    if period is not None:
        from sochi_cli.forms.periods import periodicity_of

        if periodicity_of(period) is None:
            raise UsageError(
                f"--period {period!r} is not a period", hint="YYYY-MM, YYYY-Qn or YYYY"
            )
    listing = resources.submissions.list(client=inn, period=period, limit=500)
    subs = {s.id: s for s in client.iterate(listing)}
    names = client_names(profile)
    rows = []
    for charge in client.iterate(resources.account.charges(limit=500)):
        sub = subs.get(charge.submission_id or "")
        if sub is None:
            continue
        rows.append(
            ClientCharge(charge, sub.client_inn, names.get(sub.client_inn), sub.form, sub.period)
        )
    return rows


def list_charges(client: OperatorClient, limit: int | None = None) -> list[Charge]:
    """All charges, or the newest `limit` of them, oldest first."""
    from collections import deque

    from sochi_cli.api import resources

    # The feed is oldest first; keep only the newest `limit` while paging through it.
    recent: deque[Charge] = deque(maxlen=limit)
    recent.extend(client.iterate(resources.account.charges(limit=200)))
    return list(recent)


def get_tariffs(client: OperatorClient) -> Tariffs:
    from sochi_cli.api import resources

    return client.call(resources.account.tariffs())


__all__ = [
    "BalanceReport",
    "ClientCharge",
    "balance_report",
    "client_charges",
    "get_account",
    "get_tariffs",
    "list_charges",
    "project_balance",
    "som",
    "update_requisites",
]
