"""The Typer application: global options, command registration, help, error → exit-code mapping."""

from __future__ import annotations

import functools
import importlib
import logging
import os
import re
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import Abort, TyperException

from sochi_cli import __version__
from sochi_cli.commands import COMMANDS
from sochi_cli.commands._context import AppContext
from sochi_cli.commands._output import JsonView, Output, dumps
from sochi_cli.errors import ExitCode, SochiError, UsageError

log = logging.getLogger(__name__)

_GLOBAL_FLAGS = frozenset({"--quiet", "-q", "--verbose", "-v", "--no-color"})
_GLOBAL_WITH_VALUE = frozenset({"--profile", "--jq", "--json-fields"})
_HELP_FLAGS = frozenset({"--help", "-h"})
# What may follow --json as its field list: lowercase names separated by commas.
_FIELD_LIST = re.compile(r"[a-z][a-z0-9_]*(,[a-z][a-z0-9_]*)*")
_NOT_FIELDS = frozenset({"help", "last", "latest"})

HELP = (
    "Terminal client for СОчИ, the Kyrgyz Internet reporting system.\n\n"
    "Sign reports with a RuToken, E-Cloud key or key file, file them for yourself or for "
    "the taxpayers you represent, and keep your own verifiable copy of everything filed."
)


def _is_field_list(token: str, command: str | None) -> bool:
    """Whether `token` after `--json` is its field list (not a command word or an id)."""
    if not _FIELD_LIST.fullmatch(token) or token in COMMANDS or token in _NOT_FIELDS:
        return False
    return command is None or token not in _subcommand_names(command)


def _subcommand_names(command: str) -> set[str]:
    """Sub-command names of top-level `command` (its module imported: dispatch needs it)."""
    if command not in COMMANDS:
        return set()
    subcommands = getattr(root_group().real(command), "commands", None)
    return set(subcommands) if isinstance(subcommands, dict) else set()


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options found after a sub-command to the front, so they work anywhere.

    Click only accepts a group's options before its sub-command; kubectl and gh accept
    persistent flags anywhere, and scripts rely on `cmd sub --json`. Stops at `--`.
    `--json id,state` (or `--json=id,state`) becomes `--json --json-fields id,state`: a
    token after `--json` is its field list when it looks like one (lowercase names and
    commas) and is not a command name.
    """
    front: list[str] = []
    rest: list[str] = []
    command = next((a for a in argv if a in COMMANDS), None)
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name = arg.split("=", 1)[0]
        if name == "--json":
            front.append("--json")
            fields = arg.split("=", 1)[1] if "=" in arg else None
            candidate = argv[i + 1] if i + 1 < len(argv) else None
            if fields is None and candidate is not None and _is_field_list(candidate, command):
                fields = argv[i + 1]
                i += 1
            if fields:
                front += ["--json-fields", fields]
        elif arg in _GLOBAL_FLAGS:
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


def _split_globals(argv: list[str]) -> tuple[list[str], list[str]]:
    """(global options at the front, the rest) of a hoisted argv."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0]
        if arg in _GLOBAL_FLAGS or arg == "--json":
            i += 1
        elif name in _GLOBAL_WITH_VALUE:
            i += 1 if "=" in arg else 2
        else:
            break
    return argv[:i], argv[i:]


def _complete_profile(incomplete: str) -> list[str]:
    from sochi_cli.commands._operator import complete_profile

    return complete_profile(incomplete)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"sochi {__version__}")
        raise typer.Exit()


class _Placeholder(TyperCommand):
    """Stands in for a command in the root group until that command actually runs."""


class LazyCommandGroup(TyperGroup):
    """The root group: a command's module is imported only when the command is resolved.

    "Did you mean" suggestions use placeholders built from `COMMANDS`; `resolve_command`
    (dispatch and shell completion) swaps in the real command first. Importing all ~25
    command modules and building their Typer commands costs ~40 ms on every invocation;
    scripts call sochi thousands of times.
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

    def real(self, name: str) -> Any:
        """The real click command called `name` (its module imported), or None."""
        if name not in self.commands:
            return None
        if isinstance(self.commands[name], _Placeholder):
            self.load(name)
        return self.commands[name]

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and isinstance(self.commands.get(args[0]), _Placeholder):
            self.load(args[0])
        return super().resolve_command(ctx, args)


def _no_op() -> None:
    """Callback that makes a holder Typer a group, whatever its module registers."""


def _plain_coercion() -> None:
    """Coerce plain parameters without pydantic (commands/_coercion.py: 60–100 ms a run)."""
    try:
        from sochi_cli.commands._coercion import install
    except ImportError:  # a Typer without these internals: its own coercion, only slower
        return
    install()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="sochi",
        cls=LazyCommandGroup,
        help=HELP,
        no_args_is_help=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )

    @app.callback(invoke_without_command=True)
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
        json_fields: Annotated[str | None, typer.Option("--json-fields", hidden=True)] = None,
        jq: Annotated[str | None, typer.Option("--jq", help="Filter the JSON (jq).")] = None,
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

        setup_logging(verbose, quiet=quiet)
        fields = [f for f in (json_fields or "").split(",") if f]
        ctx.obj = AppContext(
            out=Output(
                json_mode=json_output,
                quiet=quiet,
                verbose=verbose,
                no_color=no_color,
                view=JsonView(fields, jq),
            ),
            profile_override=profile,
            verbose=verbose,
        )
        if ctx.invoked_subcommand is None:  # `sochi --json` and the like: the help
            sys.stdout.write(_root_help(no_args=True))

    return app


@functools.cache
def root_group() -> LazyCommandGroup:
    """The click group of the whole CLI, built once per process (help, hoisting and the
    dispatch share it, so a command's module is imported and built once)."""
    _plain_coercion()
    group = typer.main.get_command(build_app())
    assert isinstance(group, LazyCommandGroup)
    return group


def _root_help(*, no_args: bool = False) -> str:
    from sochi_cli.help import root_help

    return root_help(no_args=no_args)


def _report(err: SochiError, *, json_mode: bool) -> int:
    if json_mode:
        sys.stdout.write(dumps({"error": err.to_json()}) + "\n")
    sys.stderr.write(f"error: {err.one_line()}\n")
    sys.stderr.flush()
    return int(err.exit_code)


def _unknown_command(name: str, where: str, choices: list[str]) -> UsageError:
    import difflib

    close = difflib.get_close_matches(name, choices)
    hint = f"Did you mean '{close[0]}'?" if close else f"see '{where} --help'"
    return UsageError(f"No such command '{name}'.", hint=hint)


def _help_text(words: list[str], *, no_args: bool = False) -> str:
    """Help for `sochi WORDS…` (root when empty): words past the last (sub)command ignored."""
    from sochi_cli.help import command_help

    names = [w for w in words if not w.startswith("-")]
    if not names:
        return _root_help(no_args=no_args)
    root = root_group()
    if names[0] not in root.commands:
        raise _unknown_command(names[0], "sochi", sorted(COMMANDS))
    command, parent, path = root.real(names[0]), None, [names[0]]
    for word in names[1:]:
        subcommands = getattr(command, "commands", None)
        if not isinstance(subcommands, dict) or not subcommands:
            break
        if word not in subcommands:
            raise _unknown_command(word, " ".join(["sochi", *path]), sorted(subcommands))
        parent, command = command, subcommands[word]
        path.append(word)
    return command_help(path, command, parent)


def _wants_help(rest: list[str]) -> bool:
    """`sochi help …`, `… --help`/`-h` (before `--`), or a group named with nothing after
    (`sochi batch` shows the group's help, like gh)."""
    head = rest[: rest.index("--")] if "--" in rest else rest
    if not head or head[0] == "help" or any(a in _HELP_FLAGS for a in head):
        return True
    return len(head) == 1 and bool(_subcommand_names(head[0]))


def run(argv: list[str]) -> int:
    """Run the CLI on `argv` and return the exit code; the only place errors become output."""
    from sochi_cli.pipes import guard_standard_streams

    guard_standard_streams()
    argv = hoist_global_options(argv)
    head = argv[: argv.index("--")] if "--" in argv else argv
    json_mode = "--json" in head or "--jq" in head
    verbose = "--verbose" in head or "-v" in head
    if "--no-color" in head:
        os.environ["NO_COLOR"] = "1"
    globals_, rest = _split_globals(argv)
    completing = "_SOCHI_COMPLETE" in os.environ
    if not completing and not {"--version", "-V"} & set(globals_) and _wants_help(rest):
        try:
            words = rest[1:] if rest and rest[0] == "help" else rest
            if "--" in words:
                words = words[: words.index("--")]
            sys.stdout.write(_help_text(words, no_args=not rest))
            sys.stdout.flush()
            return int(ExitCode.OK)
        except SochiError as err:
            return _report(err, json_mode=json_mode)
    command = root_group()
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
    except OSError as exc:
        if exc.filename is None:  # not a file (a socket…): a bug below, reported as one
            return _internal(exc, json_mode=json_mode, verbose=verbose)
        from sochi_cli.store.files import os_failure

        log.debug("unmapped file error", exc_info=True)
        return _report(os_failure(exc), json_mode=json_mode)
    except Exception as exc:
        return _internal(exc, json_mode=json_mode, verbose=verbose)


def _internal(exc: Exception, *, json_mode: bool, verbose: bool) -> int:
    """An exception no layer expected: a bug, one line (the traceback with --verbose)."""
    from sochi_cli.logs import redact

    if verbose:
        import traceback

        sys.stderr.write(redact(traceback.format_exc()))
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())
    internal = SochiError(
        f"internal error: {redact(detail)}",
        hint="rerun with --verbose and report it",
        code="internal",
    )
    return _report(internal, json_mode=json_mode)


def _usage(err: TyperException, json_mode: bool) -> int:
    ctx = getattr(err, "ctx", None)
    where = ctx.command_path if ctx is not None else "sochi"
    format_message = getattr(err, "format_message", None)
    message = format_message() if callable(format_message) else str(err)
    if not message.strip():
        return int(ExitCode.USAGE)
    usage = UsageError(message, hint=f"see '{where} --help'")
    return _report(usage, json_mode=json_mode)


__all__ = ["build_app", "hoist_global_options", "root_group", "run"]
