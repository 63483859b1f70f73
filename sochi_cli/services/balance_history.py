"""The balance day by day over this month, from the charges ledger: what the dashboard's chart
draws. The ledger is read oldest first and reduced to one sum per day as it streams."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sochi_cli.store.config import Config


@dataclass(frozen=True)
class BalanceMonth:
    """End-of-day balances (tyiyn) from the 1st of the operator's month to its today."""

    currency: str
    first_day: date
    today: date
    last_day: date  # the month's last day (the projection's end)
    closing: list[int]  # one per day, first_day … today
    movements: int  # charges and top-ups this month

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range(len(self.closing))]


def balance_this_month(config: Config) -> BalanceMonth:
    """This month's balance at the end of each day (months are the operator's, in Bishkek).

    A day's balance is what the ledger says after its last movement that day (`balance_after`),
    else the day before's; today's is the balance itself. Without `balance_after` in the
    ledger, today's balance is walked back through this month's amounts instead."""
    import calendar

    from sochi_cli.api import resources
    from sochi_cli.services.session import open_client
    from sochi_cli.timeutil import BISHKEK, as_utc, to_bishkek, utcnow

    with open_client(config) as client:
        balance = client.call(resources.account.balance())
        today = to_bishkek(balance.as_of or utcnow()).date()
        first = today.replace(day=1)
        start = as_utc(datetime.combine(first, time.min, tzinfo=BISHKEK))
        opening: int | None = None  # after the last movement before this month
        after_day: dict[date, int] = {}  # after each day's last movement (ledger order)
        moved: dict[date, int] = defaultdict(int)
        movements, stated = 0, True
        for charge in client.iterate(resources.account.charges(limit=500)):
            stated = stated and charge.balance_after is not None
            if as_utc(charge.at) < start:
                opening = charge.balance_after
                continue
            day = to_bishkek(charge.at).date()
            moved[day] += charge.amount
            if charge.balance_after is not None:
                after_day[day] = charge.balance_after
            movements += 1
    span = (today - first).days + 1
    if stated:
        closing = []
        current = opening if opening is not None else balance.balance - sum(moved.values())
        for offset in range(span):
            current = after_day.get(first + timedelta(days=offset), current)
            closing.append(current)
        closing[-1] = balance.balance
    else:
        closing, later = [], 0  # walked back: a day ends with today's less what moved after it
        for offset in range(span - 1, -1, -1):
            closing.append(balance.balance - later)
            later += moved.get(first + timedelta(days=offset), 0)
        closing.reverse()
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return BalanceMonth(balance.currency, first, today, last, closing, movements)


__all__ = ["BalanceMonth", "balance_this_month"]
