"""Local validation of a report file against its form's schema (clause 6.3), before signing.

Every problem is an `Issue` with the file, the element path (`header/period`, `body/<field>`
as in docs/api.md), the line and the rule broken; nothing stops at the first error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.forms.inn import inn_problem
from sochi_cli.forms.periods import period_problem
from sochi_cli.forms.xmlread import Node, XmlProblem, parse_xml
from sochi_cli.store.files import os_reason, printable

if TYPE_CHECKING:
    from sochi_cli.api.models import FieldSpec, Form

REPORT_NS = "urn:sochi:report:1"
MAX_REPORT_BYTES = 10 * 1024 * 1024
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HEADER = ("inn", "name", "period", "correction", "filer-inn", "composed-on")


@dataclass(frozen=True)
class Issue:
    """One broken rule: where (file, element path, line) and which rule."""

    file: str
    path: str
    line: int | None
    rule: str
    message: str

    def one_line(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message} [{self.rule}]"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "path": self.path,
            "line": self.line,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass
class ReportFacts:
    """What a report says about itself (used to plan a submission)."""

    form: str | None = None
    version: str | None = None
    inn: str | None = None
    name: str | None = None
    period: str | None = None
    correction: int = 0
    filer_inn: str | None = None
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class ReportCheck:
    """The outcome for one file."""

    file: str
    facts: ReportFacts
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "form": self.facts.form,
            "inn": self.facts.inn,
            "period": self.facts.period,
            "correction": self.facts.correction,
            "ok": self.ok,
            "errors": [i.to_json() for i in self.issues],
        }


def read_report(path: Path) -> tuple[Node | None, ReportFacts, list[Issue]]:
    """Parse a report file and extract its header facts; XML problems become issues."""
    name = printable(path)
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            issue = Issue(name, "report", None, "size", "larger than the 10 MiB limit")
            return None, ReportFacts(), [issue]
        data = path.read_bytes()
    except OSError as exc:
        issue = Issue(name, "report", None, "file", f"cannot read: {os_reason(exc)}")
        return None, ReportFacts(), [issue]
    try:
        root = parse_xml(data)
    except XmlProblem as exc:
        return None, ReportFacts(), [Issue(name, "report", exc.line, "xml", exc.message)]
    facts = ReportFacts(form=root.attrs.get("form"), version=root.attrs.get("version"))
    header = root.child("header")
    if header is not None:
        texts = {c.name: c.text for c in header.children}
        facts.inn = texts.get("inn")
        facts.name = texts.get("name")
        facts.period = texts.get("period")
        facts.filer_inn = texts.get("filer-inn")
        correction = texts.get("correction", "0")
        facts.correction = int(correction) if re.fullmatch(r"[0-9]+", correction) else -1
    body = root.child("body")
    if body is not None:
        facts.values = {c.name: c.text for c in body.children}
    return root, facts, []


def report_form_code(path: Path) -> str | None:
    """The form code a report names in `report/@form` (None if unreadable)."""
    _root, facts, _issues = read_report(path)
    return facts.form


def validate_report(
    path: Path, form: Form, *, today: date, check_totals: bool = True
) -> ReportCheck:
    """Check one report file against `form`; all issues, in document order."""
    root, facts, issues = read_report(path)
    check = ReportCheck(printable(path), facts, list(issues))
    if root is None:
        return check
    add = _Collector(check)
    if root.name != "report" or root.namespace != REPORT_NS:
        add("report", root.line, "root", f'the root element must be <report xmlns="{REPORT_NS}">')
        return check
    if facts.form != form.code:
        add("report/@form", root.line, "form", f"names form '{facts.form}', expected {form.code}")
    header = root.child("header")
    if header is None:
        add("header", root.line, "required", "missing <header>")
    else:
        _check_header(header, form, today, add)
    body = root.child("body")
    if body is None:
        add("body", root.line, "required", "missing <body>")
        return check
    _check_body(body, form, add)
    if check_totals and not check.issues:
        _check_totals(body, form, add)
    return check


class _Collector:
    def __init__(self, check: ReportCheck) -> None:
        self.check = check

    def __call__(self, path: str, line: int | None, rule: str, message: str) -> None:
        self.check.issues.append(Issue(self.check.file, path, line, rule, message))


def _check_header(header: Node, form: Form, today: date, add: _Collector) -> None:
    known = set(_HEADER)
    for child in header.children:
        if child.name not in known:
            add(f"header/{child.name}", child.line, "unknown", "unknown header element")
    for key in ("inn", "name", "period"):  # <correction> is optional: absent = the meta's
        if header.child(key) is None:
            add(f"header/{key}", header.line, "required", f"missing <{key}>")
    inn = header.child("inn")
    if inn is not None:
        problem = inn_problem(inn.text)
        if problem:
            add("header/inn", inn.line, "inn", problem)
        elif form.filers and _inn_filer(inn.text) not in form.filers:
            add(
                "header/inn",
                inn.line,
                "filers",
                f"{form.code} is not filed by this kind of taxpayer",
            )
    filer = header.child("filer-inn")
    if filer is not None and inn_problem(filer.text):
        add("header/filer-inn", filer.line, "inn", inn_problem(filer.text) or "")
    name = header.child("name")
    if name is not None and not name.text:
        add("header/name", name.line, "required", "empty taxpayer name")
    period = header.child("period")
    if period is not None:
        problem = period_problem(period.text, form.periodicity, today)
        if problem:
            add("header/period", period.line, "periodicity", problem)
    correction = header.child("correction")
    if correction is not None and not re.fullmatch(r"[0-9]+", correction.text):
        add("header/correction", correction.line, "integer", "a correction number is 0, 1, 2…")
    composed = header.child("composed-on")
    if composed is not None and not _is_date(composed.text):
        add("header/composed-on", composed.line, "date", f"'{composed.text}' is not YYYY-MM-DD")


def _inn_filer(inn: str) -> str:
    return "legal" if inn.startswith("0") else "natural"


def _is_date(text: str) -> bool:
    if not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _check_body(body: Node, form: Form, add: _Collector) -> None:
    schema = form.form_schema
    specs = {f.name: f for f in (schema.fields if schema else [])}
    seen: set[str] = set()
    for child in body.children:
        path = f"body/{child.name}"
        spec = specs.get(child.name)
        if spec is None:
            add(path, child.line, "unknown", "unknown field")
            continue
        if child.name in seen:
            add(path, child.line, "duplicate", "field given more than once")
            continue
        seen.add(child.name)
        for rule, message in _field_problems(spec, child.text):
            add(path, child.line, rule, message)
    for name, spec in specs.items():
        if spec.required and name not in seen:
            add(f"body/{name}", body.line, "required", f"required field '{name}' is missing")


def _field_problems(spec: FieldSpec, value: str) -> list[tuple[str, str]]:
    if value == "":
        return [("required", "empty value")] if spec.required else []
    kind = spec.type
    if kind == "integer" and not _INTEGER.fullmatch(value):
        return [("type", f"'{value}' is not an integer")]
    if kind == "decimal" and not _DECIMAL.fullmatch(value):
        return [("type", f"'{value}' is not a decimal with at most 2 decimals")]
    if kind == "date" and not _is_date(value):
        return [("type", f"'{value}' is not a date YYYY-MM-DD")]
    if kind == "inn":
        problem = inn_problem(value)
        if problem:
            return [("inn", problem)]
    problems: list[tuple[str, str]] = []
    if kind in ("integer", "decimal"):
        number = Decimal(value)
        if spec.min is not None and number < _dec(spec.min):
            problems.append(("min", f"{value} is below the minimum {spec.min}"))
        if spec.max is not None and number > _dec(spec.max):
            problems.append(("max", f"{value} is above the maximum {spec.max}"))
    if spec.max_length is not None and len(value) > spec.max_length:
        problems.append(("max_length", f"longer than {spec.max_length} characters"))
    if spec.pattern is not None:
        try:
            if not re.fullmatch(spec.pattern, value):
                problems.append(("pattern", f"'{value}' does not match {spec.pattern}"))
        except re.error:
            pass  # a pattern the server's dialect allows and Python's does not: server decides
    if spec.enum is not None and value not in spec.enum:
        problems.append(("enum", f"'{value}' is not one of {', '.join(spec.enum)}"))
    return problems


def _dec(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal(0)


def _check_totals(body: Node, form: Form, add: _Collector) -> None:
    schema = form.form_schema
    if schema is None:
        return
    values = {c.name: c for c in body.children}

    def amount(name: str) -> Decimal:
        node = values.get(name)
        return _dec(node.text) if node is not None and node.text else Decimal(0)

    for rule in schema.totals:
        expected = sum((amount(n) for n in rule.add), Decimal(0)) - sum(
            (amount(n) for n in rule.subtract), Decimal(0)
        )
        node = values.get(rule.total)
        if amount(rule.total) != expected:
            line = node.line if node is not None else body.line
            message = rule.message or f"{rule.total} must equal {expected}"
            add(f"body/{rule.total}", line, "totals", f"{message} (expected {expected})")


__all__ = [
    "REPORT_NS",
    "Issue",
    "ReportCheck",
    "ReportFacts",
    "read_report",
    "report_form_code",
    "validate_report",
]
