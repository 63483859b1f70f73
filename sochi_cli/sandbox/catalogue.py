"""The sandbox's forms catalogue: six forms of three agencies with schemas and totals rules.

Each form names the taxpayer registration that obliges it (`registration`), whether it may
be filed before its period ends (`early_filing`) and the figures the agency compares with
another accepted report of the same taxpayer and period (`cross_checks`).
"""

from __future__ import annotations

from typing import Any

from sochi_cli.sandbox.pki import AGENCIES


def _f(
    name: str,
    title: str,
    type_: str = "decimal",
    *,
    required: bool = True,
    min_: str | None = "0",
    max_: str | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
    enum: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "title": title,
        "type": type_,
        "required": required,
        "min": min_ if type_ in ("decimal", "integer") else None,
        "max": max_,
        "max_length": max_length,
        "pattern": pattern,
        "enum": enum,
    }


_MONTHLY_20 = {
    "kind": "day_of_following_month",
    "day": 20,
    "text": "by the 20th of the following month",
}

FORMS: list[dict[str, Any]] = [
    {
        "code": "STI-077",
        "registration": "vat_payer",
        "early_filing": False,
        "title": "VAT return",
        "agency": "STS",
        "periodicity": "monthly",
        "deadline": _MONTHLY_20,
        "fee": 2000,
        "filers": ["legal", "natural"],
        "fields": [
            _f("turnover", "Taxable turnover"),
            _f("vat_charged", "VAT charged"),
            _f("vat_credit", "VAT credit (input VAT)"),
            _f("vat_payable", "VAT payable", min_=None),
        ],
        "totals": [
            {
                "total": "vat_payable",
                "add": ["vat_charged"],
                "subtract": ["vat_credit"],
                "message": "VAT payable must equal VAT charged minus VAT credit",
            }
        ],
    },
    {
        "code": "STI-081",
        "registration": "sales_tax_payer",
        "early_filing": False,
        "title": "Sales tax return",
        "agency": "STS",
        "periodicity": "monthly",
        "deadline": _MONTHLY_20,
        "fee": 2000,
        "filers": ["legal", "natural"],
        "fields": [
            _f("revenue_goods", "Revenue from goods"),
            _f("revenue_services", "Revenue from services"),
            _f("revenue_total", "Total revenue"),
            _f("sales_tax", "Sales tax due"),
            _f("activity_code", "Activity code (GKED)", "string", pattern=r"\d{2}\.\d{2}"),
        ],
        "totals": [
            {
                "total": "revenue_total",
                "add": ["revenue_goods", "revenue_services"],
                "subtract": [],
                "message": "total revenue must equal goods plus services",
            }
        ],
    },
    {
        "code": "STI-100",
        "registration": "employer",
        "early_filing": False,
        "cross_checks": [{"field": "payroll", "form": "SF-001", "other": "contribution_base"}],
        "title": "Personal income tax withheld at source",
        "agency": "STS",
        "periodicity": "monthly",
        "deadline": _MONTHLY_20,
        "fee": 1500,
        "filers": ["legal"],
        "fields": [
            _f("employees", "Number of employees", "integer"),
            _f("payroll", "Payroll"),
            _f("deductions", "Standard deductions"),
            _f("taxable_income", "Taxable income"),
            _f("tax_withheld", "Tax withheld"),
        ],
        "totals": [
            {
                "total": "taxable_income",
                "add": ["payroll"],
                "subtract": ["deductions"],
                "message": "taxable income must equal payroll minus deductions",
            }
        ],
    },
    {
        "code": "STI-001",
        "registration": "taxpayer",
        "early_filing": True,
        "title": "Annual unified tax declaration",
        "agency": "STS",
        "periodicity": "annual",
        "deadline": {
            "kind": "date_of_following_year",
            "month": 3,
            "day": 1,
            "text": "by 1 March of the following year",
        },
        "fee": 5000,
        "filers": ["legal", "natural"],
        "fields": [
            _f("income_total", "Total income"),
            _f("expenses_total", "Total expenses"),
            _f("profit", "Profit", min_=None),
            _f("tax_due", "Tax due"),
            _f("comment", "Comment", "string", required=False, max_length=500),
        ],
        "totals": [
            {
                "total": "profit",
                "add": ["income_total"],
                "subtract": ["expenses_total"],
                "message": "profit must equal income minus expenses",
            }
        ],
    },
    {
        "code": "SF-001",
        "registration": "employer",
        "early_filing": False,
        "cross_checks": [{"field": "contribution_base", "form": "STI-100", "other": "payroll"}],
        "title": "Insurance contributions report",
        "agency": "SF",
        "periodicity": "monthly",
        "deadline": {
            "kind": "day_of_following_month",
            "day": 15,
            "text": "by the 15th of the following month",
        },
        "fee": 1500,
        "filers": ["legal", "natural"],
        "fields": [
            _f("insured_persons", "Insured persons", "integer"),
            _f("contribution_base", "Contribution base"),
            _f("contributions_employer", "Employer contributions"),
            _f("contributions_employee", "Employee contributions"),
            _f("contributions_total", "Total contributions"),
        ],
        "totals": [
            {
                "total": "contributions_total",
                "add": ["contributions_employer", "contributions_employee"],
                "subtract": [],
                "message": "total must equal employer plus employee contributions",
            }
        ],
    },
    {
        "code": "NSC-1T",
        "registration": "statistics_respondent",
        "early_filing": False,
        "title": "Labour statistics (quarterly)",
        "agency": "NSC",
        "periodicity": "quarterly",
        "deadline": {"kind": "days_after_period", "days": 15, "text": "15 days after the quarter"},
        "fee": 1000,
        "filers": ["legal"],
        "fields": [
            _f("headcount_start", "Headcount at the start", "integer"),
            _f("hired", "Hired", "integer"),
            _f("dismissed", "Dismissed", "integer"),
            _f("headcount_end", "Headcount at the end", "integer"),
            _f("ownership", "Form of ownership", "string", enum=["private", "state", "municipal"]),
        ],
        "totals": [
            {
                "total": "headcount_end",
                "add": ["headcount_start", "hired"],
                "subtract": ["dismissed"],
                "message": "headcount at the end must equal start plus hired minus dismissed",
            }
        ],
    },
]
FORMS_BY_CODE: dict[str, dict[str, Any]] = {f["code"]: f for f in FORMS}


def form_summary(form: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": form["code"],
        "version": 1,
        "title": form["title"],
        "agency": {"code": form["agency"], "name": AGENCIES[form["agency"]]},
        "periodicity": form["periodicity"],
        "deadline": form["deadline"],
        "fee": form["fee"],
        "filers": form["filers"],
        "registration": form["registration"],
        "early_filing": form["early_filing"],
    }


def form_detail(form: dict[str, Any]) -> dict[str, Any]:
    return {
        **form_summary(form),
        "schema": {"fields": form["fields"], "totals": form["totals"]},
        "cross_checks": form.get("cross_checks", []),
    }


__all__ = ["FORMS", "FORMS_BY_CODE", "form_detail", "form_summary"]
