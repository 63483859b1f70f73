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
            "runs_out_on": self.runs_out_on,
        }


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def project_balance(balance: int, monthly_fee: int, today: date) -> tuple[date, int, date | None]:
    """(this month's end, its E-Cloud debit, the month-end when the balance reaches zero).

    Only the subscription is projected (clause 3.10); per-use charges are unknown ahead.
    """
    end = _month_end(today.year, today.month)
    if monthly_fee <= 0:
        return end, 0, None
    debit = min(monthly_fee, max(balance, 0))
    if balance <= 0:
        return end, 0, today
    months = -(-balance // monthly_fee)  # ceil: the month whose debit takes the last som
    index = today.year * 12 + today.month - 1 + months - 1
    return end, debit, _month_end(index // 12, index % 12 + 1)


def balance_report(client: OperatorClient, today: date) -> BalanceReport:
    from sochi_cli.api import resources
    from sochi_cli.timeutil import to_bishkek

    balance = client.call(resources.account.balance())
    account = client.call(resources.account.get())
    if balance.as_of is not None:  # the operator's calendar decides when months end
        today = to_bishkek(balance.as_of).date()
    fee = account.ecloud.monthly_fee if account.ecloud.subscribed else 0
    end, debit, runs_out = project_balance(balance.balance, fee, today)
    return BalanceReport(balance, fee, account.ecloud.subscribed, end, debit, runs_out)


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
    "balance_report",
    "get_account",
    "get_tariffs",
    "list_charges",
    "project_balance",
    "som",
    "update_requisites",
]
