"""The Typer application: global options, command registration, and error → exit-code mapping."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import Abort, TyperException

from sochi_cli import __version__
from sochi_cli.commands import COMMANDS
from sochi_cli.commands._context import AppContext
from sochi_cli.commands._output import Output, dumps
from sochi_cli.errors import ExitCode, SochiError

log = logging.getLogger(__name__)

_GLOBAL_FLAGS = frozenset({"--json", "--quiet", "-q", "--verbose", "-v", "--no-color"})
_GLOBAL_WITH_VALUE = frozenset({"--profile"})

HELP = (
    "Terminal client for СОчИ, the Kyrgyz Internet reporting system.\n\n"
    "Sign reports with a RuToken, E-Cloud key or key file, file them for yourself or for "
    "the taxpayers you represent, and keep your own verifiable copy of everything filed."
)
EPILOG = (
    "Global options may be given anywhere on the line (`sochi clients list --json`). "
    "Exit codes and JSON fields: see README.md. Docs: docs/cli.md."
)


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options found after a sub-command to the front, so they work anywhere.

    Click only accepts a group's options before its sub-command; kubectl and gh accept
    persistent flags anywhere, and scripts rely on `cmd sub --json`. Stops at `--`.
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name = arg.split("=", 1)[0]
        if arg in _GLOBAL_FLAGS:
            front.append(arg)
        elif name in _GLOBAL_WITH_VALUE:
            front.append(arg)
            if "=" not in arg and i + 1 < len(argv):
                front.append(argv[i + 1])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _complete_profile(incomplete: str) -> list[str]:
    from sochi_cli.commands._operator import complete_profile

    return complete_profile(incomplete)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"sochi {__version__}")
        raise typer.Exit()


class _Placeholder(TyperCommand):
    """Stands in for a command in `sochi --help` until that command actually runs."""


class LazyCommandGroup(TyperGroup):
    """The root group: a command's module is imported only when the command is resolved.

    Help listings and "did you mean" suggestions use placeholders built from `COMMANDS`;
    `resolve_command` (dispatch and shell completion) swaps in the real command first.
    Importing all ~25 command modules and building their Typer commands costs ~40 ms on
    every invocation; scripts call sochi thousands of times.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, entry in COMMANDS.items():
            self.commands[name] = _Placeholder(
                name, help=entry.help, rich_help_panel=entry.panel, add_help_option=False
            )

    def load(self, name: str) -> None:
        """Import `name`'s module and install every command it registers."""
        module = importlib.import_module(f"sochi_cli.commands.{COMMANDS[name].module}")
        holder = typer.Typer()
        holder.callback()(_no_op)
        module.register(holder)
        group = typer.main.get_command(holder)
        assert isinstance(group, TyperGroup)
        self.commands.update(group.commands)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and isinstance(self.commands.get(args[0]), _Placeholder):
            self.load(args[0])
        return super().resolve_command(ctx, args)


def _no_op() -> None:
    """Callback that makes a holder Typer a group, whatever its module registers."""


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="sochi",
        cls=LazyCommandGroup,
        help=HELP,
        epilog=EPILOG,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        profile: Annotated[
            str | None,
            typer.Option(
                "--profile",
                envvar="SOCHI_PROFILE",
                help="Profile to use.",
                autocompletion=_complete_profile,
            ),
        ] = None,
        json_output: Annotated[
            bool, typer.Option("--json", help="Machine-readable JSON on stdout.")
        ] = False,
        quiet: Annotated[
            bool, typer.Option("--quiet", "-q", help="Only results and errors.")
        ] = False,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Debug logs and tracebacks on stderr.")
        ] = False,
        no_color: Annotated[
            bool, typer.Option("--no-color", help="No colour (also NO_COLOR).")
        ] = False,
        version: Annotated[
            bool,
            typer.Option(
                "--version", "-V", callback=_version_callback, is_eager=True, help="Show version."
            ),
        ] = False,
    ) -> None:
        from sochi_cli.logs import setup_logging

        setup_logging(verbose)
        ctx.obj = AppContext(
            out=Output(json_mode=json_output, quiet=quiet, verbose=verbose, no_color=no_color),
            profile_override=profile,
            verbose=verbose,
        )

    return app


def _report(err: SochiError, *, json_mode: bool) -> int:
    if json_mode:
        sys.stdout.write(dumps({"error": err.to_json()}) + "\n")
    sys.stderr.write(f"error: {err.one_line()}\n")
    return int(err.exit_code)


def run(argv: list[str]) -> int:
    """Run the CLI on `argv` and return the exit code; the only place errors become output."""
    argv = hoist_global_options(argv)
    head = argv[: argv.index("--")] if "--" in argv else argv
    json_mode = "--json" in head
    verbose = "--verbose" in head or "-v" in head
    if "--no-color" in head:
        os.environ["NO_COLOR"] = "1"  # also reaches Typer's help renderer
    command = typer.main.get_command(build_app())
    try:
        result: Any = command.main(args=argv, prog_name="sochi", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except SochiError as err:
        if verbose:
            log.debug("error detail", exc_info=True)
        return _report(err, json_mode=json_mode)
    except Abort:
        sys.stderr.write("error: interrupted\n")
        return int(ExitCode.INTERRUPTED)
    except TyperException as err:  # click's usage errors (Typer vendors click)
        return _usage(err, json_mode)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`sochi ... | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return int(ExitCode.OK)
    except Exception as exc:
        if verbose:
            import traceback

            from sochi_cli.logs import redact

            sys.stderr.write(redact(traceback.format_exc()))
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        from sochi_cli.logs import redact

        internal = SochiError(
            f"internal error: {redact(detail)}",
            hint="rerun with --verbose and report it",
            code="internal",
        )
        return _report(internal, json_mode=json_mode)


def _usage(err: TyperException, json_mode: bool) -> int:
    from sochi_cli.errors import UsageError

    ctx = getattr(err, "ctx", None)
    where = ctx.command_path if ctx is not None else "sochi"
    format_message = getattr(err, "format_message", None)
    message = format_message() if callable(format_message) else str(err)
    if not message.strip():  # no arguments: the help was shown, nothing more to say
        return int(ExitCode.USAGE)
    usage = UsageError(message, hint=f"see '{where} --help'")
    return _report(usage, json_mode=json_mode)


__all__ = ["build_app", "hoist_global_options", "run"]
