"""Process entry point: answers `--version` without building the CLI, then hands over to it.

This module must stay import-light: it runs on every invocation from scripts.
"""

from __future__ import annotations

import sys

from sochi_cli import __version__

_VERSION_COMPANIONS = {"--json", "--quiet", "-q", "--no-color", "--verbose"}


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
    from sochi_cli.cli import run

    return run(args)
