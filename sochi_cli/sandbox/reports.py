"""Report XML (`urn:sochi:report:1`): safe parsing, schema checks, periods and totals rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.parsers import expat

from sochi_cli.sandbox.util import inn_problem

NAMESPACE = "urn:sochi:report:1"
HEADER_FIELDS = ("inn", "name", "period", "correction", "filer-inn", "composed-on")
_PERIOD = {
    "monthly": re.compile(r"(\d{4})-(0[1-9]|1[0-2])"),
    "quarterly": re.compile(r"(\d{4})-Q([1-4])"),
    "annual": re.compile(r"(\d{4})"),
}
_PERIOD_SYNTAX = {"monthly": "YYYY-MM", "quarterly": "YYYY-Qn", "annual": "YYYY"}
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+(\.\d{1,2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class ParsedReport:
    form: str | None = None
    header: dict[str, tuple[str, int]] = field(default_factory=dict)
    body: dict[str, tuple[str, int]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


class _Refused(Exception):
    pass


def parse_report(data: bytes) -> ParsedReport:
    """Parse report XML without DTDs or entities; structural problems go to `.errors`."""
    report = ParsedReport()
    parser = expat.ParserCreate("UTF-8", namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[str] = []
    text: list[str] = []
    seen_root = False

    def refuse(*_: Any) -> None:
        raise _Refused("DTDs and entity declarations are not allowed")

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal seen_root
        ns, _, local = name.rpartition(" ")
        line = parser.CurrentLineNumber
        depth = len(stack)
        stack.append(local)
        text.clear()
        if depth == 0:
            seen_root = True
            if local != "report" or ns != NAMESPACE:
                report.errors.append(
                    {
                        "path": "report",
                        "message": f'root element must be <report xmlns="{NAMESPACE}">',
                        "line": line,
                    }
                )
            report.form = attrs.get("form")
        elif depth == 1 and local not in ("header", "body"):
            report.errors.append({"path": local, "message": "unknown element", "line": line})
        elif depth >= 3:
            report.errors.append(
                {"path": "/".join(stack), "message": "unexpected nested element", "line": line}
            )

    def end(name: str) -> None:
        value = "".join(text).strip()
        path = list(stack)
        stack.pop()
        text.clear()
        if len(path) != 3:
            return
        section, local = path[1], path[2]
        target = report.header if section == "header" else report.body
        if section not in ("header", "body"):
            return
        line = parser.CurrentLineNumber
        if local in target:
            report.errors.append(
                {"path": f"{section}/{local}", "message": "repeated element", "line": line}
            )
        target[local] = (value, line)

    def chars(data: str) -> None:
        text.append(data)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        report.errors.append({"path": "report", "message": str(exc)})
    except expat.ExpatError as exc:
        report.errors.append(
            {
                "path": "report",
                "message": f"not well-formed XML: {expat.errors.messages[exc.code]}",
                "line": exc.lineno,
            }
        )
    if not seen_root and not report.errors:
        report.errors.append({"path": "report", "message": "empty document"})
    return report


def period_bounds(period: str, periodicity: str) -> tuple[date, date] | None:
    """First and last day of a period string in the form's syntax, or None if malformed."""
    match = _PERIOD[periodicity].fullmatch(period)
    if not match:
        return None
    year = int(match.group(1))
    if not 2000 <= year <= 2100:
        return None
    if periodicity == "monthly":
        first_month, months = int(match.group(2)), 1
    elif periodicity == "quarterly":
        first_month, months = (int(match.group(2)) - 1) * 3 + 1, 3
    else:
        first_month, months = 1, 12
    first = date(year, first_month, 1)
    last_month = first_month + months - 1
    nxt = date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)
    return first, nxt - timedelta(days=1)


def deadline_for(form: dict[str, Any], period: str) -> date:
    """The period's deadline: the catalogue rule, moved to the next Kyrgyz working day."""
    from sochi_cli.forms.deadlines import deadline

    return deadline(form["deadline"], period, form["periodicity"], form=form["code"]).due


def _check_value(spec: dict[str, Any], value: str) -> str | None:
    kind = spec["type"]
    if kind == "integer" and not _INTEGER.fullmatch(value):
        return "must be an integer"
    if kind == "decimal" and not _DECIMAL.fullmatch(value):
        return "must be a decimal number with at most 2 fraction digits"
    if kind == "date":
        if not _DATE.fullmatch(value):
            return "must be a date YYYY-MM-DD"
        try:
            date.fromisoformat(value)
        except ValueError:
            return "is not a valid date"
    if kind == "inn" and (why := inn_problem(value)):
        return why
    if kind in ("integer", "decimal"):
        number = Decimal(value)
        if spec.get("min") is not None and number < Decimal(spec["min"]):
            return f"must be at least {spec['min']}"
        if spec.get("max") is not None and number > Decimal(spec["max"]):
            return f"must be at most {spec['max']}"
    if spec.get("max_length") is not None and len(value) > spec["max_length"]:
        return f"must be at most {spec['max_length']} characters"
    if spec.get("pattern") and not re.fullmatch(spec["pattern"], value):
        return f"must match {spec['pattern']}"
    if spec.get("enum") and value not in spec["enum"]:
        return f"must be one of {', '.join(spec['enum'])}"
    return None


def validate_report(
    report: ParsedReport, form: dict[str, Any], meta: dict[str, Any], today: date
) -> list[dict[str, Any]]:
    """Schema errors of a parsed report against its form and the submission's meta."""
    errors = list(report.errors)
    if errors:
        return errors

    def err(path: str, message: str, line: int | None = None) -> None:
        item: dict[str, Any] = {"path": path, "message": message}
        if line is not None:
            item["line"] = line
        errors.append(item)

    if report.form != form["code"]:
        err(
            "report/@form",
            f"form attribute {report.form!r} differs from meta.form {form['code']!r}",
        )
    for name in report.header:
        if name not in HEADER_FIELDS:
            err(f"header/{name}", "unknown header element", report.header[name][1])
    for required in ("inn", "name", "period"):  # correction: optional, absent = meta
        if required not in report.header or not report.header[required][0]:
            err(f"header/{required}", "required")
    inn, inn_line = report.header.get("inn", ("", None))
    if inn and (why := inn_problem(inn)):
        err("header/inn", why, inn_line)
    elif inn and inn != meta["client_inn"]:
        err("header/inn", f"differs from meta.client_inn {meta['client_inn']}", inn_line)
    period, period_line = report.header.get("period", ("", None))
    if period:
        bounds = period_bounds(period, form["periodicity"])
        if bounds is None:
            err("header/period", f"must be {_PERIOD_SYNTAX[form['periodicity']]}", period_line)
        elif period != meta["period"]:
            err("header/period", f"differs from meta.period {meta['period']}", period_line)
        elif bounds[0] > today:
            err("header/period", "the period has not started yet", period_line)
    correction, corr_line = report.header.get("correction", ("", None))
    if correction:
        if not re.fullmatch(r"\d{1,3}", correction):
            err("header/correction", "must be a number 0–999", corr_line)
        elif int(correction) != meta["correction"]:
            err(
                "header/correction", f"differs from meta.correction {meta['correction']}", corr_line
            )
    filer, filer_line = report.header.get("filer-inn", ("", None))
    if filer and (why := inn_problem(filer)):
        err("header/filer-inn", why, filer_line)
    composed, composed_line = report.header.get("composed-on", ("", None))
    if composed and _check_value({"type": "date"}, composed):
        err("header/composed-on", "must be a date YYYY-MM-DD", composed_line)
    specs = {f["name"]: f for f in form["fields"]}
    for name, (_, line) in report.body.items():
        if name not in specs:
            err(f"body/{name}", "unknown field", line)
    for name, spec in specs.items():
        if name not in report.body or report.body[name][0] == "":
            if spec["required"]:
                err(f"body/{name}", "required")
            continue
        value, line = report.body[name]
        if why := _check_value(spec, value):
            err(f"body/{name}", why, line)
    return errors


def numeric_values(report: ParsedReport, form: dict[str, Any]) -> dict[str, str]:
    """Body values of numeric fields (strings), for the agency's totals check later."""
    kinds = {f["name"]: f["type"] for f in form["fields"]}
    return {
        name: value
        for name, (value, _) in report.body.items()
        if kinds.get(name) in ("integer", "decimal")
    }


def totals_errors(form: dict[str, Any], values: dict[str, str]) -> list[dict[str, Any]]:
    """The form's totals rules broken by `values` (what the agency rejects)."""

    def number(name: str) -> Decimal:
        try:
            return Decimal(values.get(name, "0") or "0")
        except InvalidOperation:
            return Decimal(0)

    errors = []
    for rule in form["totals"]:
        expected = sum((number(n) for n in rule["add"]), Decimal(0)) - sum(
            (number(n) for n in rule["subtract"]), Decimal(0)
        )
        found = number(rule["total"])
        if found != expected:
            errors.append(
                {
                    "path": f"body/{rule['total']}",
                    "message": f"{rule['message']} (expected {expected}, found {found})",
                }
            )
    return errors


__all__ = [
    "NAMESPACE",
    "ParsedReport",
    "deadline_for",
    "numeric_values",
    "parse_report",
    "period_bounds",
    "totals_errors",
    "validate_report",
]
