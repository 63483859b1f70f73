"""`sochi forms list|show` (catalogue, cached) and `sochi validate FILE...` (clause 6.3)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._operator import complete_form_code
from sochi_cli.commands._output import SummaryOpt

forms_app = typer.Typer(
    help="The operator's catalogue of report forms (cached locally).",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi forms list\n\n  sochi forms show STI-077 --json\n\n"
    "Exit codes: 0 ok; 7 unavailable; 9 unknown form.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(forms_app, name="forms")
    app.command(
        "validate",
        epilog="Examples:\n\n  sochi validate reports/\n\n  sochi validate 'reports/**/*.xml'\n\n"
        "  sochi validate --form STI-077 --offline q4.xml\n\n"
        "Exit codes: 0 every file is valid; 2 a path that does not exist or cannot be read "
        "(file or folder), or a pattern that matches nothing; 4 at least one file has errors "
        "(all listed, with file:line, element path and rule); 7 the schema is not cached "
        "and the operator is unreachable; 9 a form the operator does not have (--form or "
        "report/@form).",
    )(validate)


@forms_app.command("list")
def list_(ctx: typer.Context) -> None:
    """All forms: code, agency, periodicity, deadline, fee."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.account import som
    from sochi_cli.services.forms import list_forms

    app = app_context(ctx)
    with connect(app, authenticated=False) as client:
        forms = list_forms(client, app.profile)
    app.out.result(
        forms,
        lambda: app.out.table(
            [
                (
                    f.code,
                    f.agency.code,
                    f.periodicity,
                    f.deadline.text if f.deadline else None,
                    som(f.fee),
                    f.title,
                )
                for f in forms
            ],
            ["CODE", "AGENCY", "PERIODICITY", "DEADLINE", "FEE", "TITLE"],
        ),
    )


@forms_app.command("show")
def show(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Form code.", autocompletion=complete_form_code)],
    summary: SummaryOpt = False,
) -> None:
    """One form with its schema (fields, types, totals rules); caches it for `validate`.

    On a terminal the form's summary, then its fields; in a pipe only the fields (one line
    each), or with --summary only the summary (totals rules included).
    """
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.account import som
    from sochi_cli.services.forms import get_form

    app = app_context(ctx)
    with connect(app, authenticated=False) as client:
        form = get_form(client, app.profile, code)

    schema = form.form_schema
    pairs: list[tuple[str, Any]] = [
        ("code", form.code),
        ("title", form.title),
        ("agency", f"{form.agency.code} {form.agency.name}"),
        ("periodicity", form.periodicity),
        ("deadline", form.deadline.text if form.deadline else None),
        ("fee", f"{som(form.fee)} KGS"),
        ("filers", ", ".join(form.filers)),
    ]
    for rule in schema.totals if schema is not None else []:
        add = " + ".join(rule.add) or "0"
        sub = "".join(f" - {n}" for n in rule.subtract)
        pairs.append(("total", f"{rule.total} = {add}{sub}"))
    rows = (
        [
            (f.name, f.type, f.required, _limits(f.min, f.max, f.max_length), f.title)
            for f in schema.fields
        ]
        if schema is not None
        else None
    )
    app.out.result(
        form,
        lambda: app.out.record(
            pairs,
            rows=rows,
            headers=["FIELD", "TYPE", "REQUIRED", "LIMITS", "TITLE"],
            summary=summary,
        ),
    )


def _limits(low: str | None, high: str | None, length: int | None) -> str:
    parts = []
    if low is not None:
        parts.append(f">= {low}")
    if high is not None:
        parts.append(f"<= {high}")
    if length is not None:
        parts.append(f"max {length} chars")
    return ", ".join(parts)


def validate(
    ctx: typer.Context,
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Report files, folders (searched for *.xml) or globs, as for `sochi submit`.",
            metavar="PATH",
            show_default=False,
        ),
    ],
    form: Annotated[
        str | None,
        typer.Option(
            "--form",
            metavar="CODE",
            help="Validate against this form instead of report/@form.",
            autocompletion=complete_form_code,
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use only cached schemas, never the network.")
    ] = False,
) -> None:
    """Check report files against the cached form schema before signing (clause 6.3)."""
    from sochi_cli.commands._operator import connect, today_bishkek
    from sochi_cli.errors import NotFound, ValidationFailed
    from sochi_cli.services.forms import form_for_validation, validate_files
    from sochi_cli.services.plan import report_files

    app = app_context(ctx)
    files = report_files(inputs)
    client_factory = None if offline else (lambda: connect(app, authenticated=False))
    if form is not None:  # an unknown --form is "not found" before any file is read
        form_for_validation(app.profile, form.upper(), client_factory)
    checks = validate_files(
        files,
        app.profile,
        today_bishkek(),
        client_factory,
        form_code=form.upper() if form else None,
    )
    failed = [c for c in checks if not c.ok]
    data: dict[str, Any] = {
        "ok": not failed,
        "files": len(checks),
        "failed": len(failed),
        "results": [c.to_json() for c in checks],
    }
    if app.out.json_mode:
        if not failed:  # on failure the results travel in the error's details (one document)
            app.out.json(data)
    else:
        for check in checks:
            if check.ok:
                app.out.line(f"{check.file}: ok ({check.facts.form} {check.facts.period})")
            for issue in check.issues:
                app.out.line(issue.one_line())
    unknown = sorted(
        {i.message for c in failed for i in c.issues if i.rule == "form" and "unknown" in i.message}
    )
    only_unknown = all(
        all(i.rule == "form" and "unknown" in i.message for i in c.issues) for c in failed
    )
    if unknown and only_unknown:
        raise NotFound(
            "; ".join(unknown) + f" ({len(failed)} of {len(checks)} file(s) not validated)",
            hint="see `sochi forms list` for the operator's forms",
            code="form_not_found",
            details=data,
        )
    if failed:
        errors = sum(len(c.issues) for c in failed)
        raise ValidationFailed(
            f"{len(failed)} of {len(checks)} file(s) failed validation ({errors} error(s))",
            hint="fix the listed elements; nothing was signed or sent",
            details=data,
        )


__all__ = ["register"]
