"""Form catalogue (cached per profile) and local validation of report files (clause 6.3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sochi_cli.errors import NotFound
from sochi_cli.forms import catalogue
from sochi_cli.store.files import printable

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Form
    from sochi_cli.forms.validate import ReportCheck

ClientFactory = Callable[[], "OperatorClient"]


def list_forms(client: OperatorClient, profile: str) -> list[Form]:
    """Fetch the catalogue (no login needed) and cache it for completion and `validate`."""
    from sochi_cli.api import resources

    forms = client.call(resources.forms.list()).items
    catalogue.save_catalogue(profile, forms)
    return forms


def get_form(client: OperatorClient, profile: str, code: str) -> Form:
    """One form with its schema, always from the operator; refreshes the cache."""
    from sochi_cli.api import resources
    from sochi_cli.api.errors import OperatorNotFound

    try:
        form = client.call(resources.forms.get(code))
    except OperatorNotFound:
        raise NotFound(
            f"unknown form '{code}'", hint="see `sochi forms list`", code="form_not_found"
        ) from None
    catalogue.save_form(profile, form)
    return form


def form_for_validation(profile: str, code: str, connect: ClientFactory | None) -> Form:
    """The cached schema; fetched once (and cached) when missing and a client is allowed."""
    form = catalogue.load_form(profile, code)
    if form is not None:
        return form
    if connect is None:
        raise NotFound(
            f"form '{code}' is not in the local cache",
            hint="run `sochi forms show CODE` once while online",
            code="form_not_cached",
        )
    with connect() as client:
        return get_form(client, profile, code)


def validate_files(
    files: list[Path],
    profile: str,
    today: date,
    connect: ClientFactory | None,
    *,
    form_code: str | None = None,
) -> list[ReportCheck]:
    """Validate each file against the form it names (or `form_code`); all issues kept."""
    from sochi_cli.forms.validate import Issue, ReportCheck, read_report, validate_report

    checks: list[ReportCheck] = []
    forms: dict[str, Form | None] = {}
    missing: dict[str, str] = {}  # why a form is not there
    for path in files:
        root, facts, issues = read_report(path)
        code = form_code or facts.form
        if root is None or not code:
            check = ReportCheck(printable(path), facts, issues)
            if root is not None:
                check.issues.append(
                    Issue(printable(path), "report/@form", root.line, "required", "no form code")
                )
            checks.append(check)
            continue
        if code not in forms:
            try:
                forms[code] = form_for_validation(profile, code, connect)
            except NotFound as exc:
                forms[code] = None
                missing[code] = (
                    f"form '{code}' is not cached (run `sochi forms show {code}` once online)"
                    if exc.code == "form_not_cached"
                    else f"unknown form '{code}'"
                )
        form = forms[code]
        if form is None:
            check = ReportCheck(printable(path), facts, [])
            check.issues.append(
                Issue(printable(path), "report/@form", root.line, "form", missing[code])
            )
            checks.append(check)
            continue
        checks.append(validate_report(path, form, today=today))
    return checks


__all__ = ["form_for_validation", "get_form", "list_forms", "validate_files"]
