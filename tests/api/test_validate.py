"""Local report validation (clause 6.3): every error with file, element path, line and rule."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sochi_cli.api.models import Form
from sochi_cli.forms.inn import inn_problem
from sochi_cli.forms.periods import period_problem
from sochi_cli.forms.validate import validate_report

FORM = Form.model_validate(
    {
        "code": "STI-077",
        "version": 1,
        "title": "VAT return",
        "agency": {"code": "STS", "name": "State Tax Service"},
        "periodicity": "monthly",
        "fee": 2000,
        "filers": ["legal", "natural"],
        "schema": {
            "fields": [
                {"name": "turnover", "type": "decimal", "required": True, "min": "0"},
                {"name": "vat_charged", "type": "decimal", "required": True, "min": "0"},
                {"name": "vat_credit", "type": "decimal", "required": True, "min": "0"},
                {"name": "vat_payable", "type": "decimal", "required": True},
                {"name": "note", "type": "string", "required": False, "max_length": 5},
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
        "an_unknown_field": {"tolerated": True},
    }
)
TODAY = date(2026, 11, 27)


def report(
    *,
    inn: str = "02010201910123",
    period: str = "2026-10",
    body: str = "<turnover>150000.00</turnover><vat_charged>18000.00</vat_charged>"
    "<vat_credit>3000.00</vat_credit><vat_payable>15000.00</vat_payable>",
    form: str = "STI-077",
) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<report xmlns="urn:sochi:report:1" form="{form}" version="1">\n'
        "  <header>\n"
        f"    <inn>{inn}</inn>\n"
        "    <name>Ак-Суу Трейд ОсОО</name>\n"
        f"    <period>{period}</period>\n"
        "    <correction>0</correction>\n"
        "  </header>\n"
        "  <body>\n"
        f"    {body}\n"
        "  </body>\n"
        "</report>\n"
    )


def write(tmp_path: Path, text: str, name: str = "r.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_accepts_a_correct_report(tmp_path: Path) -> None:
    check = validate_report(write(tmp_path, report()), FORM, today=TODAY)
    assert check.ok, check.issues
    assert check.facts.inn == "02010201910123"
    assert check.facts.period == "2026-10"


def test_reports_every_error_with_path_line_and_rule(tmp_path: Path) -> None:
    body = (
        "<turnover>-5</turnover><vat_charged>abc</vat_charged>\n"
        "    <note>too long</note><bogus>1</bogus>"
    )
    path = write(tmp_path, report(inn="12345", period="2026-Q3", body=body))
    check = validate_report(path, FORM, today=TODAY)
    found = {(i.path, i.rule, i.line) for i in check.issues}
    assert ("header/inn", "inn", 4) in found
    assert ("header/period", "periodicity", 6) in found
    assert ("body/turnover", "min", 10) in found
    assert ("body/vat_charged", "type", 10) in found
    assert ("body/note", "max_length", 11) in found
    assert ("body/bogus", "unknown", 11) in found
    assert ("body/vat_credit", "required", 9) in found
    assert all(i.file == str(path) for i in check.issues)
    assert "r.xml:4: header/inn:" in check.issues[0].one_line()


def test_refuses_a_period_outside_the_form_periodicity() -> None:
    assert "YYYY-MM" in (period_problem("2026", "monthly", TODAY) or "")
    assert "not started" in (period_problem("2026-12", "monthly", TODAY) or "")
    assert period_problem("2026-Q3", "quarterly", TODAY) is None


def test_checks_totals_rules_locally(tmp_path: Path) -> None:
    body = (
        "<turnover>1.00</turnover><vat_charged>10.00</vat_charged>"
        "<vat_credit>3.00</vat_credit><vat_payable>9.00</vat_payable>"
    )
    check = validate_report(write(tmp_path, report(body=body)), FORM, today=TODAY)
    assert [(i.path, i.rule) for i in check.issues] == [("body/vat_payable", "totals")]


def test_refuses_entities_and_doctype(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>\n'
        "<report>&b;</report>"
    )
    check = validate_report(write(tmp_path, bomb), FORM, today=TODAY)
    assert [i.rule for i in check.issues] == ["xml"]
    assert "not allowed" in check.issues[0].message


def test_reports_malformed_xml_with_its_line(tmp_path: Path) -> None:
    check = validate_report(write(tmp_path, "<report>\n<header>\n</report>"), FORM, today=TODAY)
    assert check.issues[0].rule == "xml"
    assert check.issues[0].line == 3


def test_inn_rules() -> None:
    assert inn_problem("00211200910051") is None
    assert inn_problem("0021120091005") == "an INN is 14 digits"
    assert "first digit" in (inn_problem("30211200910051") or "")
    assert "date" in (inn_problem("03113200910051") or "")
