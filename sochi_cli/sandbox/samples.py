"""Realistic sample report XML (valid and deliberately broken) for the demo clients."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sochi_cli.sandbox.catalogue import FORMS_BY_CODE
from sochi_cli.sandbox.history import agreeing_values
from sochi_cli.sandbox.reports import NAMESPACE
from sochi_cli.sandbox.seed import REPRESENTATIVE_INN, bulk_client_inn, bulk_client_name
from sochi_cli.store.files import atomic_write_text, make_private_dirs

BROKEN_KINDS = ("totals", "missing_field")
# agency rejections the client cannot see locally, in the order --rejected cycles through them
REJECTIONS = ("not_registered", "before_registration", "figures_disagree", "inactive_taxpayer")
REJECTION_ROUNDS = 4  # each rule has distinct targets for this many samples
SAMPLES_FILE = "samples.json"


@dataclass(frozen=True)
class Sample:
    path: Path
    client_inn: str
    form: str
    period: str
    correction: int
    expected: str  # what `sochi submit` ends with: accepted | rejected (agency) | invalid
    broken: str | None  # totals | missing_field | period_not_ended | one of REJECTIONS
    error_code: str | None = None  # the item's error_code in `sochi submit --json`

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path.name,
            "client_inn": self.client_inn,
            "form": self.form,
            "period": self.period,
            "correction": self.correction,
            "expected": self.expected,
            "broken": self.broken,
            "error_code": self.error_code,
        }


def previous_period(form: dict[str, Any], today: date) -> str:
    first = today.replace(day=1)
    last_month = first - timedelta(days=1)
    if form["periodicity"] == "monthly":
        return last_month.strftime("%Y-%m")
    if form["periodicity"] == "quarterly":
        quarter = (today.month - 1) // 3  # the quarter before the current one
        return f"{today.year - 1}-Q4" if quarter == 0 else f"{today.year}-Q{quarter}"
    return str(today.year - 1)


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def body_values(form_code: str, rng: random.Random) -> dict[str, str]:
    """Values that satisfy the form's schema and totals rules."""
    if form_code == "STI-077":
        turnover = _money(rng, 10_000, 2_000_000)
        charged = (turnover * Decimal("0.12")).quantize(Decimal("0.01"))
        credit = (charged * Decimal(rng.randint(0, 80)) / 100).quantize(Decimal("0.01"))
        return {
            "turnover": str(turnover),
            "vat_charged": str(charged),
            "vat_credit": str(credit),
            "vat_payable": str(charged - credit),
        }
    if form_code == "STI-081":
        goods, services = _money(rng, 0, 500_000), _money(rng, 0, 500_000)
        return {
            "revenue_goods": str(goods),
            "revenue_services": str(services),
            "revenue_total": str(goods + services),
            "sales_tax": str(((goods + services) * Decimal("0.02")).quantize(Decimal("0.01"))),
            "activity_code": "47.11",
        }
    if form_code == "STI-100":
        payroll = _money(rng, 50_000, 900_000)
        deductions = _money(rng, 0, 20_000)
        taxable = payroll - deductions
        return {
            "employees": str(rng.randint(1, 80)),
            "payroll": str(payroll),
            "deductions": str(deductions),
            "taxable_income": str(taxable),
            "tax_withheld": str((taxable * Decimal("0.10")).quantize(Decimal("0.01"))),
        }
    if form_code == "STI-001":
        income, expenses = _money(rng, 100_000, 9_000_000), _money(rng, 50_000, 5_000_000)
        return {
            "income_total": str(income),
            "expenses_total": str(expenses),
            "profit": str(income - expenses),
            "tax_due": str(
                (max(income - expenses, Decimal(0)) * Decimal("0.10")).quantize(Decimal("0.01"))
            ),
        }
    if form_code == "SF-001":
        base = _money(rng, 50_000, 900_000)
        employer = (base * Decimal("0.1725")).quantize(Decimal("0.01"))
        employee = (base * Decimal("0.10")).quantize(Decimal("0.01"))
        return {
            "insured_persons": str(rng.randint(1, 80)),
            "contribution_base": str(base),
            "contributions_employer": str(employer),
            "contributions_employee": str(employee),
            "contributions_total": str(employer + employee),
        }
    start, hired, dismissed = rng.randint(5, 200), rng.randint(0, 10), rng.randint(0, 5)
    return {
        "headcount_start": str(start),
        "hired": str(hired),
        "dismissed": str(dismissed),
        "headcount_end": str(start + hired - dismissed),
        "ownership": "private",
    }


def report_xml(
    *,
    form_code: str,
    client_inn: str,
    client_name: str,
    period: str,
    correction: int,
    values: dict[str, str],
    filer_inn: str | None = None,
    composed_on: date | None = None,
) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<report xmlns="{NAMESPACE}" form="{form_code}" version="1">',
        "  <header>",
        f"    <inn>{client_inn}</inn>",
        f"    <name>{escape(client_name)}</name>",
        f"    <period>{period}</period>",
        f"    <correction>{correction}</correction>",
    ]
    if filer_inn:
        lines.append(f"    <filer-inn>{filer_inn}</filer-inn>")
    if composed_on:
        lines.append(f"    <composed-on>{composed_on.isoformat()}</composed-on>")
    lines += ["  </header>", "  <body>"]
    lines += [f"    <{name}>{escape(value)}</{name}>" for name, value in values.items()]
    lines += ["  </body>", "</report>", ""]
    return "\n".join(lines)


def write_samples(
    out: Path,
    *,
    clients: int,
    invalid: int = 0,
    rejected: int = 0,
    form_code: str = "STI-077",
    period: str | None = None,
    today: date | None = None,
    seed: int = 1,
    seeded_on: date | None = None,
    history: bool = False,
) -> list[Sample]:
    """`clients` reports (one per generated demo client) of which `invalid` are broken, plus
    `rejected` reports the agency rejects for a reason no local check can see.

    Broken ones alternate: a totals-rule breaker and a report missing a required field
    (sochi stops both before signing with validation_failed). Rejections cycle through
    REJECTIONS, using the demo seed's register and history as of `seeded_on` (the day the
    sandbox was seeded; default `today`). `samples.json` is a manifest that `sochi submit
    --manifest` takes (`items`) with every file's expected outcome (`expected`).

    The expected outcome is what `sochi submit` ends with on that sandbox — with its filing
    history when `history` — when nothing else was filed since: a report whose original the
    history holds is written as correction 1; an STI-100 or SF-001 carries the payroll its
    counterpart declares (the agency cross-checks them); a report for a period that has not
    ended is refused before signing; one the register refuses (a generated client that is
    no sales tax payer, a period before a registration) is rejected by the agency.
    """
    form = FORMS_BY_CODE[form_code]
    today = today or date.today()
    seeded = seeded_on or today
    period = period or previous_period(form, today)
    on_file = _on_file(seeded) if history else frozenset()
    rng = random.Random(seed)
    make_private_dirs(out)  # reports hold client figures: 0700, the files 0600
    broken_at = set(rng.sample(range(clients), min(invalid, clients)))
    samples = []
    broken_count = 0
    for index in range(clients):
        inn = bulk_client_inn(index)
        values = agreeing_values(body_values(form_code, rng), inn, form_code, period)
        broken = None
        if index in broken_at:
            broken = BROKEN_KINDS[broken_count % 2]
            broken_count += 1
            total = form["totals"][0]["total"]
            if broken == "totals":
                values[total] = str(Decimal(values[total]) + 1)
            else:
                values.pop(form["fields"][0]["name"])
        target = (inn, form_code, period)
        expected, error_code, why = _outcome(form, index, period, broken, today, seeded)
        samples.append(
            _write(
                out,
                target,
                bulk_client_name(index),
                values,
                today,
                correction=1 if target in on_file else 0,
                outcome=(expected, error_code, why),
            )
        )
    taken = {(s.client_inn, s.form, s.period) for s in samples}
    samples += _rejected_samples(out, rejected, seeded, today, taken, on_file)
    manifest = {
        "items": [
            {
                "file": s.path.name,
                "client": s.client_inn,
                "form": s.form,
                "period": s.period,
                "correction": s.correction,
            }
            for s in samples
        ],
        "expected": [s.to_json() for s in samples],
    }
    atomic_write_text(out / SAMPLES_FILE, json.dumps(manifest, indent=2) + "\n")
    return samples


def _on_file(seeded: date) -> frozenset[tuple[str, str, str]]:
    """Targets (INN, form, period) the seeded history holds a filing for that counts as the
    original (rejected ones do not: the taxpayer files again under the same number)."""
    from sochi_cli.sandbox.history import HISTORY_CLIENTS, seeded_filings

    return frozenset(
        (f.client_inn, f.form, f.period)
        for f in seeded_filings(seeded, HISTORY_CLIENTS)
        if f.status != "rejected"
    )


def _outcome(
    form: dict[str, Any], index: int, period: str, broken: str | None, today: date, seeded: date
) -> tuple[str, str | None, str | None]:
    """(expected state, error_code, broken) of a generated client's report: the checks of
    `sochi submit` before signing (schema and totals, the period's end), then the agency's."""
    from sochi_cli.sandbox.history import bulk_taxpayer
    from sochi_cli.sandbox.reports import period_bounds
    from sochi_cli.sandbox.taxpayers import registration_refusal

    if broken is not None:
        return "invalid", "validation_failed", broken
    bounds = period_bounds(period, form["periodicity"])
    if bounds is not None and bounds[1] >= today and not form["early_filing"]:
        return "invalid", "period_not_ended", "period_not_ended"
    taxpayer = bulk_taxpayer(index, bulk_client_inn(index), seeded)
    refusal = registration_refusal(taxpayer, form, period)
    if refusal is not None:
        return "rejected", "rejected", refusal[0]
    return "accepted", None, None


def _write(
    out: Path,
    target: tuple[str, str, str],
    name: str,
    values: dict[str, str],
    today: date,
    *,
    correction: int,
    outcome: tuple[str, str | None, str | None],
) -> Sample:
    inn, form_code, period = target
    path = out / f"{form_code}_{inn}_{period}_{correction}.xml"
    atomic_write_text(
        path,
        report_xml(
            form_code=form_code,
            client_inn=inn,
            client_name=name,
            period=period,
            correction=correction,
            values=values,
            filer_inn=REPRESENTATIVE_INN,
            composed_on=today,
        ),
    )
    expected, error_code, broken = outcome
    return Sample(path, inn, form_code, period, correction, expected, broken, error_code)


def _rejected_samples(
    out: Path,
    count: int,
    seeded: date,
    today: date,
    taken: set[tuple[str, str, str]],
    on_file: frozenset[tuple[str, str, str]],
) -> list[Sample]:
    """`count` reports the agency rejects, cycling through REJECTIONS; a target the other
    samples already use is skipped for the rule's next one (two originals of one target
    in one batch would stop the second)."""
    from sochi_cli.sandbox.history import history_values

    candidates = {rule: _rejection_targets(rule, seeded) for rule in REJECTIONS}
    samples = []
    for number in range(count):
        rule = REJECTIONS[number % len(REJECTIONS)]
        inn, name, form_code, period, shift = next(
            c for c in candidates[rule] if (c[0], c[2], c[3]) not in taken
        )
        target = (inn, form_code, period)
        taken.add(target)
        values = history_values(inn, form_code, period, payroll_shift=shift)
        samples.append(
            _write(
                out,
                target,
                name,
                values,
                today,
                correction=1 if target in on_file else 0,
                outcome=("rejected", "rejected", rule),
            )
        )
    return samples


def _rejection_targets(rule: str, seeded: date) -> Iterator[tuple[str, str, str, str, int]]:
    """(INN, name, form, period, payroll shift) the agency rejects under `rule` on the demo
    seed of `seeded` (see sandbox/history.py for the facts), more than REJECTION_ROUNDS."""
    from sochi_cli.sandbox import history
    from sochi_cli.sandbox.seed import NAMED_CLIENTS

    rounds = range(REJECTION_ROUNDS + 1)
    if rule == "not_registered":  # STI-081 for a generated client that is no sales tax payer
        payers = [i for i in range(history.HISTORY_CLIENTS) if i % 5 != 2]
        for r in rounds:
            index = payers[r]
            yield (
                bulk_client_inn(index),
                bulk_client_name(index),
                "STI-081",
                history.month_back(seeded, 1 + r),
                0,
            )
    elif rule == "before_registration":  # STI-100 before the client became an employer
        index = history.BEFORE_REGISTRATION_CLIENT
        for r in rounds:
            period = history.month_back(seeded, 2 + r)
            yield bulk_client_inn(index), bulk_client_name(index), "STI-100", period, 0
    elif rule == "figures_disagree":  # STI-100 payroll ≠ the accepted SF-001 contribution base
        for months in (1, 2):  # last month: not filed yet; two back: a correction of it
            for r in range(REJECTION_ROUNDS):
                index = 1 + 3 * r  # clients 1, 4, 7, 10: SF-001 accepted
                period = history.month_back(seeded, months)
                yield bulk_client_inn(index), bulk_client_name(index), "STI-100", period, 1000
    else:  # inactive_taxpayer: Issyk-Kul Tour LLC, inactive since four months back
        inn = history.INACTIVE_CLIENT
        name = next(n for i, n, _kind in NAMED_CLIENTS if i == inn)
        for r in rounds:
            yield inn, name, "STI-077", history.month_back(seeded, 1 + r), 0


__all__ = [
    "REJECTIONS",
    "REJECTION_ROUNDS",
    "SAMPLES_FILE",
    "Sample",
    "body_values",
    "previous_period",
    "report_xml",
    "write_samples",
]
