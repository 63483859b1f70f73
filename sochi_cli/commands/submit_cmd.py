"""`sochi submit PATH... | --manifest FILE` — file reports exactly once (the batch engine)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sochi_cli.commands._context import AppContext, app_context
from sochi_cli.commands._progress import ProgressMode, ProgressOpt, progress_display
from sochi_cli.commands._signer_opts import SignerChoice, signer_parameters
from sochi_cli.commands._submit_opts import (
    ConcurrencyOpt,
    NoWaitMaintenanceOpt,
    WaitOpt,
    WaitTimeoutOpt,
)

if TYPE_CHECKING:
    from sochi_cli.services.submit_model import SignerFactory, SubmitResult
    from sochi_cli.token.base import Signer

EXIT_CODES = (
    "Exit codes: 0 all accepted (filed with --no-wait), or nothing to do; 2 an input missing "
    "or unreadable (a path, or a file a manifest row names), nothing done; 4 validation "
    "failed, nothing sent; 5 key/PIN/session problem; 6 refused (balance, POA), nothing "
    "sent; 7 operator unavailable or maintenance (rerun resumes); 8 partial: some "
    "refused/rejected/invalid; 12 verdicts still pending after --wait-timeout "
    "(`sochi batch resume ID`); 130 interrupted (rerun resumes)."
)

TTY_ROWS = 30  # on a terminal, longer outcomes list only the items that need attention


def register(app: typer.Typer) -> None:
    app.command(
        "submit",
        epilog="Examples:\n\n  sochi submit report.xml\n\n"
        "  sochi submit reports/ --concurrency 16 --no-wait\n\n"
        "  sochi submit --manifest october.csv --dry-run\n\n"
        "  sochi --json submit --manifest october.csv > outcome.json\n\n" + EXIT_CODES,
    )(submit)


@signer_parameters
def submit(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Report files, directories or globs.", show_default=False),
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", help="CSV or JSON manifest of the batch.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan, validate and price; sign and send nothing.")
    ] = False,
    concurrency: ConcurrencyOpt = None,
    wait: WaitOpt = True,
    wait_timeout: WaitTimeoutOpt = 1800.0,
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop at the first invalid item.")
    ] = False,
    no_wait_maintenance: NoWaitMaintenanceOpt = False,
    correction: Annotated[
        int | None,
        typer.Option(
            "--correction",
            min=0,
            max=999,
            help="Correction number for reports without <correction> (0 = original).",
        ),
    ] = None,
    progress: ProgressOpt = ProgressMode.AUTO,
    chosen: SignerChoice = SignerChoice(),
) -> None:
    """Validate, sign (one token session), send and follow reports; rerun to resume.

    Each report gets an idempotency key (profile, client, form, period, correction, file
    digest): a rerun after any crash never files it twice and says `already_filed`.
    """
    import sys

    from sochi_cli.services.submit import submit as run
    from sochi_cli.services.submit_model import SubmitOptions

    app = app_context(ctx)
    options = SubmitOptions(
        inputs=tuple(paths or ()),
        manifest=manifest,
        dry_run=dry_run,
        concurrency=concurrency or int(app.config.get("concurrency")),
        wait=wait,
        strict=strict,
        wait_maintenance=not no_wait_maintenance,
        wait_timeout=wait_timeout,
        command=" ".join(["sochi", *sys.argv[1:]]) if sys.argv else "sochi submit",
        correction=correction,
    )
    factory = make_signer_factory(app, chosen)
    with progress_display(app, progress, command="submit") as report, listed_problems(app):
        result = run(
            app.config, options, signer_factory=factory, progress=report, warn=app.out.warn
        )
    show_result(app, result)


class listed_problems:
    """Every plan problem on its own stderr line (`FILE:ROW: field: reason`) when the plan is
    refused; the error line that follows names the first (`--json`: all in its details)."""

    def __init__(self, app: AppContext) -> None:
        self.app = app

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, err: BaseException | None, tb: object) -> None:
        from sochi_cli.errors import UsageError, ValidationFailed

        if not isinstance(err, ValidationFailed | UsageError) or self.app.out.json_mode:
            return
        problems = err.details.get("problems") or []
        if len(problems) > 1:
            for problem in problems:
                self.app.out.error(problem_line(problem))


def problem_line(problem: dict[str, Any]) -> str:
    """`where: field: message` (the field only when there is one)."""
    field = problem.get("field")
    return f"{problem['where']}: " + (f"{field}: " if field else "") + str(problem["message"])


def make_signer_factory(app: AppContext, chosen: SignerChoice) -> SignerFactory:
    """The signer is built (and its secrets read) only if something still needs signing."""

    def factory() -> Signer:
        from sochi_cli.services.signers import build_signer

        return build_signer(chosen.options(app), app.config)

    return factory


def show_result(app: AppContext, result: SubmitResult) -> None:
    """The summary (JSON with --json, else a table), one `error:` line when it is not 0,
    then exit with the batch's code."""

    def render() -> None:
        out = app.out
        if result.dry_run:
            out.info(f"dry run: {result.total} report(s), nothing signed or sent")
        elif result.nothing_to_do:
            where = f"batch {result.batch_id}" if result.batch_id is not None else "the journal"
            out.info(
                f"nothing to do: every report is already filed or final in {where} "
                f"({_human_status(result.status)}); no new batch"
            )
        elif result.batch_id is not None:
            how = "resumed" if result.resumed else "batch"
            out.info(
                f"{how} {result.batch_id}: {_human_status(result.status)} in {result.seconds:.1f}s"
            )
        tty = out.stdout_tty
        rows = (
            (
                row.get("seq", n),
                row["client_inn"],
                row.get("client_name"),
                row["form"],
                row["period"],
                ("already_filed" if row.get("already_filed") else row["state"])
                + (" (late)" if row.get("late") and tty else ""),
                row.get("submission_id"),
                # a terminal: the code leads the error, under the row (docs/cli.md, tables)
                *(
                    (_code_and_error(row.get("error_code"), row.get("error")),)
                    if tty
                    else (row.get("error_code"), row.get("error"), row.get("late"))
                ),
            )
            for n, row in enumerate(result.items, start=1)
        )
        if out.stdout_tty and result.total > TTY_ROWS:
            fine = ("accepted", "received", "delivered")
            shown = [r for r in rows if str(r[5]).split(" ")[0] not in fine]
            hidden = result.total - len(shown)
            out.info(
                f"{hidden} filed item(s) not listed; `sochi batch show {result.batch_id}` "
                "lists every item"
            )
            rows = (r for r in shown)
        out.table(
            rows,
            ["#", "INN", "CLIENT", "FORM", "PERIOD", "STATE", "SUBMISSION"]
            + (["ERROR"] if tty else ["CODE", "ERROR", "LATE"]),
            under={"ERROR"},
        )
        counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()))
        out.info(f"counts: {counts or 'none'}; already filed: {result.already_filed}")
        if result.cost is not None:
            from sochi_cli.services.account import som

            cost = result.cost
            out.info(
                f"cost: {som(cost.required)} {cost.currency} for {cost.items} report(s)"
                + (f", balance {som(cost.balance)}" if cost.balance is not None else "")
            )
        for problem in result.problems:
            if problem.get("severity") == "note":
                out.info(f"note: {problem['where']}: {problem['message']}")
            else:
                out.warn(problem_line(problem))

    if app.out.json_mode:
        app.out.json_streamed(result.head_json(), "items", result.items)
        for problem in result.problems:
            if problem.get("severity") == "note":
                app.out.info(f"note: {problem['where']}: {problem['message']}")
    else:
        render()
    error = result.problem()
    if error is not None:
        app.out.error(error.one_line())
        raise typer.Exit(int(result.exit_code))


def _code_and_error(code: str | None, error: str | None) -> str | None:
    """`poa_expired: the power of attorney …`, once when the message is only the code."""
    if not error or error == code:
        return code
    return f"{code}: {error}" if code else error


def _human_status(status: str) -> str:
    return status.replace("_", " ")


__all__ = ["make_signer_factory", "register", "show_result"]
