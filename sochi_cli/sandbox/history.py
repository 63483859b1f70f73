"""The demo seed's taxpayer register and filing history: a believable month to rehearse on.

Everything here is a pure function of a client's index (or INN) and the seed date, so
`sochi sandbox sample-reports` can write reports that the agency rejects for a reason the
client cannot see locally (not registered, before the registration, inactive, a figure that
disagrees with the accepted report of another form) without asking the server.

History (only with `history=True`, the default of `sochi sandbox serve --seed demo`): the
last three months, the last two quarters and the last year are filed and accepted for the
generated clients' and the named active clients' registrations, except:
- STI-077 of the last month: not filed for clients 0–5 (the demo files them), rejected for
  client 7, still at the agency for client 9, missing for client 11;
- STI-100 of the last month: not filed for clients 1, 4, 7, 10… (their SF-001 is accepted:
  an STI-100 with another payroll disagrees with it);
- SF-001 of the last month: missing for client 6; NSC-1T of the last quarter: missing for 8;
- STI-077 two months back: filed late by client 3.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sochi_cli.sandbox.catalogue import FORMS_BY_CODE

HISTORY_CLIENTS = 24  # generated clients that get a history (the bench seeds 1000, no history)
DEMO_FILES_FROM = 6  # STI-077 of the last month is left to the demo for clients 0..5
INACTIVE_CLIENT = "00712201610078"  # Issyk-Kul Tour LLC: inactive since four months ago
BEFORE_REGISTRATION_CLIENT = 5  # an employer only since the first day of last month

_NAMED_REGISTRATIONS = {
    "02010201910123": ("taxpayer", "vat_payer", "employer", "statistics_respondent"),
    "01503201810045": ("taxpayer", "vat_payer", "sales_tax_payer", "employer"),
    "00712201610078": ("taxpayer", "vat_payer", "employer"),
    "02201202010011": ("taxpayer", "vat_payer"),
    "01108201710099": ("taxpayer", "vat_payer", "employer"),
    "12505199000042": ("taxpayer", "sales_tax_payer"),
    "22011198500017": ("taxpayer",),
    "00203202010077": ("taxpayer", "vat_payer", "employer"),
    "00105201510033": ("taxpayer", "vat_payer", "employer", "statistics_respondent"),
    "21503198800123": ("taxpayer",),
}
_NAMED_WITH_HISTORY = ("02010201910123", "01503201810045", "12505199000042", "00203202010077")


def month_back(today: date, months: int) -> str:
    index = today.year * 12 + today.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def first_of_month_back(today: date, months: int) -> date:
    return date.fromisoformat(month_back(today, months) + "-01")


def quarter_back(today: date, quarters: int) -> str:
    index = today.year * 4 + (today.month - 1) // 3 - quarters
    return f"{index // 4:04d}-Q{index % 4 + 1}"


def _inn_date(inn: str) -> str:
    return date(int(inn[5:9]), int(inn[3:5]), int(inn[1:3])).isoformat()


def _taxpayer(inn: str, kinds: tuple[str, ...], **since: str) -> dict[str, Any]:
    registered = _inn_date(inn)
    return {
        "status": "active",
        "registered_on": registered,
        "inactive_since": None,
        "registrations": [
            {"kind": kind, "since": since.get(kind, registered), "until": None} for kind in kinds
        ],
    }


def bulk_kinds(index: int) -> tuple[str, ...]:
    kinds = ["taxpayer", "vat_payer"]
    if index % 3 != 2 or index == BEFORE_REGISTRATION_CLIENT:
        kinds.append("employer")
    if index % 4 == 0:
        kinds.append("statistics_respondent")
    if index % 5 == 2:
        kinds.append("sales_tax_payer")
    return tuple(kinds)


def bulk_taxpayer(index: int, inn: str, today: date) -> dict[str, Any]:
    """Generated clients: every one a VAT payer since 2020; the rest varies with the index."""
    since = {}
    if index == BEFORE_REGISTRATION_CLIENT:
        since["employer"] = first_of_month_back(today, 1).isoformat()
    return _taxpayer(inn, bulk_kinds(index), **since)


def named_taxpayer(inn: str, today: date) -> dict[str, Any]:
    taxpayer = _taxpayer(inn, _NAMED_REGISTRATIONS.get(inn, ("taxpayer",)))
    if inn == INACTIVE_CLIENT:
        taxpayer["status"] = "inactive"
        taxpayer["inactive_since"] = first_of_month_back(today, 4).isoformat()
    return taxpayer


def employer_base(inn: str, period: str) -> Decimal:
    """The payroll of a month: STI-100 payroll and SF-001 contribution base agree on it."""
    rng = random.Random(f"{inn}:{period}:payroll")
    return Decimal(rng.randint(50_000 * 100, 900_000 * 100)) / 100


def history_values(
    inn: str, form_code: str, period: str, *, payroll_shift: int = 0
) -> dict[str, str]:
    """Body values of a report that passes the form's schema and totals rules."""
    from sochi_cli.sandbox.samples import body_values

    values = body_values(form_code, random.Random(f"{inn}:{form_code}:{period}"))
    return agreeing_values(values, inn, form_code, period, payroll_shift=payroll_shift)


def agreeing_values(
    values: dict[str, str], inn: str, form_code: str, period: str, *, payroll_shift: int = 0
) -> dict[str, str]:
    """`values` with the month's payroll (`employer_base`, plus `payroll_shift`) in an STI-100
    or SF-001, so the agency's cross-check of the two agrees (unless shifted)."""
    base = employer_base(inn, period) + payroll_shift
    if form_code == "STI-100":
        deductions = Decimal(values["deductions"])
        taxable = base - deductions
        values.update(
            payroll=str(base),
            taxable_income=str(taxable),
            tax_withheld=str((taxable * Decimal("0.10")).quantize(Decimal("0.01"))),
        )
    elif form_code == "SF-001":
        employer = (base * Decimal("0.1725")).quantize(Decimal("0.01"))
        employee = (base * Decimal("0.10")).quantize(Decimal("0.01"))
        values.update(
            contribution_base=str(base),
            contributions_employer=str(employer),
            contributions_employee=str(employee),
            contributions_total=str(employer + employee),
        )
    return values


@dataclass(frozen=True)
class PastFiling:
    client_inn: str
    form: str
    period: str
    status: str  # accepted | rejected | delivered (still at the agency)
    late: bool
    values: dict[str, str]


def _periods(form_code: str, today: date) -> list[str]:
    periodicity = FORMS_BY_CODE[form_code]["periodicity"]
    if periodicity == "monthly":
        return [month_back(today, n) for n in (3, 2, 1)]
    if periodicity == "quarterly":
        return [quarter_back(today, n) for n in (2, 1)]
    return [str(today.year - 1)]


def _forms_for(kinds: tuple[str, ...]) -> list[str]:
    return [code for code, form in FORMS_BY_CODE.items() if form["registration"] in kinds]


def _bulk_exception(index: int, form: str, period: str, today: date) -> str | None:
    """None = accepted as usual; "skip", "rejected", "delivered" or "late"."""
    last_month, two_back = month_back(today, 1), month_back(today, 2)
    if form == "STI-077" and period == last_month:
        if index < DEMO_FILES_FROM or index == 11:
            return "skip"
        return {7: "rejected", 9: "delivered"}.get(index)
    if form == "STI-077" and period == two_back and index == 3:
        return "late"
    if form == "STI-100" and period == last_month and index % 3 == 1:
        return "skip"
    if form == "STI-100" and index == BEFORE_REGISTRATION_CLIENT and period != last_month:
        return "skip"
    if form == "SF-001" and index == BEFORE_REGISTRATION_CLIENT and period != last_month:
        return "skip"
    if form == "SF-001" and period == last_month and index == 6:
        return "skip"
    if form == "NSC-1T" and period == quarter_back(today, 1) and index == 8:
        return "skip"
    return None


def past_filings(today: date, bulk: list[tuple[int, str]], named: list[str]) -> list[PastFiling]:
    """The history of the demo seed: generated clients `(index, inn)` and named INNs."""
    filings: list[PastFiling] = []
    for index, inn in bulk[:HISTORY_CLIENTS]:
        for form in _forms_for(bulk_kinds(index)):
            for period in _periods(form, today):
                how = _bulk_exception(index, form, period, today)
                if how == "skip":
                    continue
                values = history_values(inn, form, period)
                if how == "rejected":
                    total = FORMS_BY_CODE[form]["totals"][0]["total"]
                    values[total] = str(Decimal(values[total]) + 1)
                status = how if how in ("rejected", "delivered") else "accepted"
                filings.append(PastFiling(inn, form, period, status, how == "late", values))
    for inn in named:
        if inn not in _NAMED_WITH_HISTORY:
            continue
        for form in _forms_for(_NAMED_REGISTRATIONS[inn]):
            kind = "legal" if inn.startswith("0") else "natural"
            if kind not in FORMS_BY_CODE[form]["filers"]:
                continue
            for period in _periods(form, today):
                values = history_values(inn, form, period)
                filings.append(PastFiling(inn, form, period, "accepted", False, values))
    return filings


def seeded_filings(today: date, bulk_clients: int) -> list[PastFiling]:
    """The history `seed_demo(history=True)` files on `today` for that many generated clients."""
    from sochi_cli.sandbox.seed import NAMED_CLIENTS, REPRESENTATIVE_INN, bulk_client_inn

    bulk = [(index, bulk_client_inn(index)) for index in range(bulk_clients)]
    named = [inn for inn, _name, kind in NAMED_CLIENTS if kind in ("valid", "natural")]
    return past_filings(today, bulk, [*named, REPRESENTATIVE_INN])


def filed_at(form_code: str, period: str, late: bool, today: date) -> date:
    """When a past filing was received: a few days before its deadline (after, if late)."""
    from sochi_cli.sandbox.reports import deadline_for, period_bounds

    form = FORMS_BY_CODE[form_code]
    due = deadline_for(form, period)
    bounds = period_bounds(period, form["periodicity"])
    assert bounds is not None
    day = due + timedelta(days=2) if late else due - timedelta(days=3)
    day = max(day, bounds[1] + timedelta(days=1))
    return min(day, today - timedelta(days=1))


__all__ = [
    "BEFORE_REGISTRATION_CLIENT",
    "DEMO_FILES_FROM",
    "HISTORY_CLIENTS",
    "INACTIVE_CLIENT",
    "PastFiling",
    "agreeing_values",
    "bulk_kinds",
    "bulk_taxpayer",
    "employer_base",
    "filed_at",
    "first_of_month_back",
    "history_values",
    "month_back",
    "named_taxpayer",
    "past_filings",
    "quarter_back",
    "seeded_filings",
]
