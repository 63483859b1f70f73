"""`sochi forms list|show` (catalogue, cached) and `sochi validate FILE...` (clause 6.3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._operator import complete_form_code

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
        epilog="Example:\n\n  sochi validate reports/*.xml\n\n"
        "Exit codes: 0 every file is valid; 4 at least one file has errors "
        "(all listed, with file:line, element path and rule); 7 the schema is not cached "
        "and the operator is unreachable.",
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
) -> None:
    """One form with its schema (fields, types, totals rules); caches it for `validate`."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.account import som
    from sochi_cli.services.forms import get_form

    app = app_context(ctx)
    with connect(app, authenticated=False) as client:
        form = get_form(client, app.profile, code)

    def render() -> None:
        app.out.fields(
            [
                ("code", form.code),
                ("title", form.title),
                ("agency", f"{form.agency.code} {form.agency.name}"),
                ("periodicity", form.periodicity),
                ("deadline", form.deadline.text if form.deadline else None),
                ("fee", f"{som(form.fee)} KGS"),
                ("filers", ", ".join(form.filers)),
            ]
        )
        schema = form.form_schema
        if schema is not None:
            app.out.line()
            app.out.table(
                [
                    (f.name, f.type, f.required, _limits(f.min, f.max, f.max_length), f.title)
                    for f in schema.fields
                ],
                ["FIELD", "TYPE", "REQUIRED", "LIMITS", "TITLE"],
            )
            for rule in schema.totals:
                add = " + ".join(rule.add) or "0"
                sub = "".join(f" - {n}" for n in rule.subtract)
                app.out.line(f"total: {rule.total} = {add}{sub}")

    app.out.result(form, render)


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
    files: Annotated[list[Path], typer.Argument(help="Report XML files.")],
    form: Annotated[
        str | None,
        typer.Option(
            "--form",
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
    from sochi_cli.errors import ValidationFailed
    from sochi_cli.services.forms import validate_files

    app = app_context(ctx)
    checks = validate_files(
        files,
        app.profile,
        today_bishkek(),
        None if offline else (lambda: connect(app, authenticated=False)),
        form_code=form,
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
    if failed:
        errors = sum(len(c.issues) for c in failed)
        raise ValidationFailed(
            f"{len(failed)} of {len(checks)} file(s) failed validation ({errors} error(s))",
            hint="fix the listed elements; nothing was signed or sent",
            details=data,
        )


__all__ = ["register"]
