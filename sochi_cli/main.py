"""Process entry point: answers `--version` and `sochi --help` without building the CLI,
then hands over to it.

This module must stay import-light: it runs on every invocation from scripts.
"""

from __future__ import annotations

import os
import sys

from sochi_cli import __version__

_VERSION_COMPANIONS = {"--json", "--quiet", "-q", "--no-color", "--verbose"}
_HELP_ALONE = ({"--help"}, {"-h"}, {"help"})


def _wants_version_only(argv: list[str]) -> bool:
    """True for `sochi --version` optionally mixed with global flags that do not change it."""
    return ("--version" in argv or "-V" in argv) and all(
        a in _VERSION_COMPANIONS or a in ("--version", "-V") for a in argv
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if _wants_version_only(args):
        if "--json" in args:
            sys.stdout.write(f'{{"version": "{__version__}"}}\n')
        else:
            sys.stdout.write(f"sochi {__version__}\n")
        return 0
    rest = {a for a in args if a not in ("--no-color", "--quiet", "-q", "--verbose", "-v")}
    completing = "_SOCHI_COMPLETE" in os.environ  # shell completion runs with no arguments
    if not completing and (not rest or rest in _HELP_ALONE):
        # The root help is read from the COMMANDS table: no typer, no command module.
        from sochi_cli.help import root_help
        from sochi_cli.pipes import guard_standard_streams

        guard_standard_streams()
        sys.stdout.write(root_help(no_args=not rest))
        sys.stdout.flush()
        return 0
    from sochi_cli.cli import run

    return run(args)
