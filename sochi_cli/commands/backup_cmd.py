"""`sochi backup FILE` and `sochi restore FILE` — a profile's journal and archive in one file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._progress import ProgressMode, ProgressOpt, progress_display

BACKUP_HELP = "Write the profile's journal and archive to one file (safe while a batch runs)."
RESTORE_HELP = "Verify a backup file, then put its journal and archive back (or --check only)."


def register(app: typer.Typer) -> None:
    app.command(
        "backup",
        help=BACKUP_HELP,
        epilog="Examples:\n\n  sochi backup ~/backups/sochi-2026-11.zip\n\n"
        "  sochi --profile production backup /mnt/usb/sochi.zip --force\n\n"
        "Exit codes: 0 written; 2 FILE exists (use --force) or is a folder; 4 an archive "
        "object is missing or corrupt (nothing written; run `sochi archive verify`); 9 the "
        "profile has no journal; 10 the journal is damaged or FILE cannot be written.",
    )(backup)
    app.command(
        "restore",
        help=RESTORE_HELP,
        epilog="Examples:\n\n  sochi restore ~/backups/sochi-2026-11.zip --check\n\n"
        "  sochi restore ~/backups/sochi-2026-11.zip --force\n\n"
        "Exit codes: 0 restored (or, with --check, the file verifies); 2 the profile has a "
        "journal (use --force: it is kept beside the restored one); 4 the file fails "
        "verification (nothing changed); 9 no such file; 10 cannot write, or a batch is "
        "running.",
    )(restore)


def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The backup file to write (a ZIP).")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    progress: ProgressOpt = ProgressMode.AUTO,
) -> None:
    from sochi_cli.services.backup import backup as run
    from sochi_cli.services.progress import ProgressEvent

    app = app_context(ctx)
    with progress_display(app, progress, command="backup") as report:
        result = run(
            app.profile,
            file,
            force=force,
            progress=lambda done, total: report(ProgressEvent("backup", total, done)),
        )
    for warning in result.warnings:
        app.out.warn(warning)
    app.out.result(
        result.to_json(),
        lambda: app.out.info(
            f"backed up profile {app.profile}: journal and {result.objects} archive object(s) "
            f"to {result.to_json()['path']} ({result.size} bytes, sha256 {result.sha256[:16]}…)"
        ),
    )


def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A file written by `sochi backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the profile's journal (kept beside it).")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only verify the file; change nothing.")
    ] = False,
    progress: ProgressOpt = ProgressMode.AUTO,
) -> None:
    from sochi_cli.errors import ExitCode
    from sochi_cli.services.backup import check_backup
    from sochi_cli.services.backup import restore as run
    from sochi_cli.timeutil import format_stored

    app = app_context(ctx)
    if check:
        verified = check_backup(file)
        failure = verified.failure()

        def render_check() -> None:
            for problem in verified.problems:
                app.out.line(f"problem\t{problem}")
            if verified.ok:
                app.out.info(
                    f"backup ok: profile {verified.manifest.get('profile')}, "
                    f"made {format_stored(verified.manifest.get('created_at'))}, "
                    f"{verified.objects} object(s)"
                )

        # like a batch summary: the whole check, and its error object (the check is its
        # details) when it fails
        error = None if failure is None else failure.to_json()
        if error is not None:
            del error["details"]
        app.out.result({**verified.to_json(), "error": error}, render_check)
        if failure is not None:
            app.out.error(failure.one_line())
            raise typer.Exit(int(ExitCode.VALIDATION))
        return
    from sochi_cli.services.progress import ProgressEvent

    with progress_display(app, progress, command="restore") as report:
        result = run(
            app.profile,
            file,
            force=force,
            progress=lambda done, total: report(ProgressEvent("restore", total, done)),
        )

    def render() -> None:
        app.out.info(
            f"restored profile {app.profile} from {result.check.to_json()['path']} "
            f"(backup of {format_stored(result.check.manifest.get('created_at'))}): "
            f"{result.check.objects} object(s), {result.added_objects} added to the archive"
        )
        if result.replaced is not None:
            app.out.info(f"the journal it replaced is kept as {result.to_json()['replaced']}")

    app.out.result(result.to_json(), render)


__all__ = ["register"]
