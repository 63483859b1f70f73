"""The sandbox's taxpayer register and the agency rules the client cannot check locally.

A taxpayer (a client, or a subscriber filing for itself) has a status (`active` or
`inactive` since a date), the date it was registered and its registrations — VAT payer,
employer, statistics respondent… — each from a date. A form names the registration that
obliges it. When the agency decides a submission it rejects, with a protocol:
- a taxpayer not registered for the form, or for a period before that registration;
- an inactive taxpayer (for a period from the day it became inactive);
- a figure that disagrees with another report accepted for the same taxpayer and period
  (the form's `cross_checks`, e.g. STI-100 payroll vs SF-001 contribution base).
A taxpayer the register does not hold (a client added with any INN) counts as active and
registered for every form since the date in its INN.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sochi_cli.sandbox.catalogue import FORMS, FORMS_BY_CODE
from sochi_cli.sandbox.reports import period_bounds

KINDS = {
    "taxpayer": "a taxpayer",
    "vat_payer": "a VAT payer",
    "sales_tax_payer": "a sales tax payer",
    "employer": "an employer",
    "statistics_respondent": "a statistics respondent",
}


def inn_date(inn: str) -> date:
    """The registration (or birth) date in digits 2–9 of an INN (DDMMYYYY)."""
    return date(int(inn[5:9]), int(inn[3:5]), int(inn[1:3]))


def default_taxpayer(inn: str) -> dict[str, Any]:
    since = inn_date(inn).isoformat()
    return {
        "status": "active",
        "registered_on": since,
        "inactive_since": None,
        "registrations": [
            {"kind": kind, "since": since, "until": None}
            for kind in sorted({f["registration"] for f in FORMS})
        ],
    }


def taxpayer_json(row: sqlite3.Row | None, inn: str) -> dict[str, Any]:
    """The contract's `taxpayer` object of a client or account (docs/api.md)."""
    if row is None:
        return default_taxpayer(inn)
    return {
        "status": row["status"],
        "registered_on": row["registered_on"],
        "inactive_since": row["inactive_since"],
        "registrations": json.loads(row["registrations"]),
    }


def load_taxpayer(conn: sqlite3.Connection, inn: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM taxpayers WHERE inn=?", (inn,)).fetchone()
    return taxpayer_json(row, inn)


def save_taxpayer(conn: sqlite3.Connection, inn: str, taxpayer: dict[str, Any]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO taxpayers (inn, status, registered_on, inactive_since,"
        " registrations) VALUES (?,?,?,?,?)",
        (
            inn,
            taxpayer["status"],
            taxpayer["registered_on"],
            taxpayer["inactive_since"],
            json.dumps(taxpayer["registrations"]),
        ),
    )


def registration_problem(taxpayer: dict[str, Any], form: dict[str, Any], period: str) -> str | None:
    """Why the agency refuses `form` for `period` of this taxpayer, or None."""
    refusal = registration_refusal(taxpayer, form, period)
    return refusal[1] if refusal else None


def registration_refusal(
    taxpayer: dict[str, Any], form: dict[str, Any], period: str
) -> tuple[str, str] | None:
    """`(rule, why)` when the register makes the agency refuse `form` for `period`: rule
    `inactive_taxpayer`, `not_registered` or `before_registration`; None when it may file."""
    bounds = period_bounds(period, form["periodicity"])
    if bounds is None:
        return None
    first, last = bounds
    if taxpayer["status"] == "inactive" and taxpayer["inactive_since"]:
        since = date.fromisoformat(taxpayer["inactive_since"])
        if last >= since:
            return "inactive_taxpayer", f"the taxpayer is inactive since {since.isoformat()}"
    kind = form["registration"]
    spans = [r for r in taxpayer["registrations"] if r["kind"] == kind]
    what = KINDS.get(kind, kind)
    if not spans:
        return (
            "not_registered",
            f"the taxpayer is not registered as {what} ({form['code']} does not apply)",
        )
    for span in spans:
        since = date.fromisoformat(span["since"])
        until = date.fromisoformat(span["until"]) if span.get("until") else None
        if first >= since and (until is None or last <= until):
            return None
    earliest = min(date.fromisoformat(s["since"]) for s in spans)
    if first < earliest:
        return (
            "before_registration",
            f"period {period} is before the taxpayer's registration as {what} "
            f"on {earliest.isoformat()}",
        )
    return "not_registered", f"the taxpayer was not registered as {what} in period {period}"


def cross_check_errors(
    conn: sqlite3.Connection, row: sqlite3.Row, form: dict[str, Any], values: dict[str, str]
) -> list[dict[str, Any]]:
    """Figures that disagree with the latest accepted report of the other form (same period)."""
    errors = []
    for check in form.get("cross_checks", []):
        other = conn.execute(
            "SELECT id, values_json FROM submissions WHERE client_inn=? AND form=? AND period=?"
            " AND status='accepted' ORDER BY correction DESC, seq DESC LIMIT 1",
            (row["client_inn"], check["form"], row["period"]),
        ).fetchone()
        if other is None:
            continue
        theirs = json.loads(other["values_json"]).get(check["other"])
        ours = values.get(check["field"])
        if theirs is None or ours is None or _number(theirs) == _number(ours):
            continue
        other_form = FORMS_BY_CODE[check["form"]]
        errors.append(
            {
                "path": f"body/{check['field']}",
                "message": f"{check['field']} {ours} disagrees with {check['other']} {theirs} "
                f"of the accepted {other_form['code']} {row['period']} ({other['id']})",
            }
        )
    return errors


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


__all__ = [
    "KINDS",
    "cross_check_errors",
    "default_taxpayer",
    "inn_date",
    "load_taxpayer",
    "registration_problem",
    "registration_refusal",
    "save_taxpayer",
    "taxpayer_json",
]
