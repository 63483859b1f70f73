"""`sochi tui` — the interactive face: Textual screens over the same services as the CLI."""

from __future__ import annotations

import typer

from sochi_cli.commands._context import app_context


def register(app: typer.Typer) -> None:
    app.command(
        "tui",
        epilog="Examples:\n\n  sochi tui\n\n  sochi --profile production tui\n\n"
        "Keys: ? help, ctrl+p command palette, 1-9/0 screens, q quit. See docs/tui.md.\n\n"
        "Exit codes: 0 closed; 2 not a terminal; 3 configuration.",
    )(tui)


def tui(ctx: typer.Context) -> None:
    """Full-screen terminal UI: dashboard, clients, submissions, filing, inbox, certificates."""
    import sys

    from sochi_cli.commands._prompts import stdin_is_tty
    from sochi_cli.errors import UsageError

    app = app_context(ctx)
    if not (stdin_is_tty() and sys.stdout.isatty()):
        raise UsageError(
            "sochi tui needs a terminal (stdin and stdout)",
            hint="scripts use the commands directly, e.g. `sochi submit --json`",
        )
    for warning in app.config.warnings:  # a broken config fails here, before the screen
        app.out.warn(warning)
    from sochi_cli.tui.app import run_tui

    code = run_tui(app.profile_override)
    if code:
        raise typer.Exit(code)
