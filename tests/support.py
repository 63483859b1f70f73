"""Helpers for driving the CLI from tests: in-process (fast) or as a subprocess (real)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from sochi_cli.main import main


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> Result:
    """Run the CLI in-process on non-TTY streams, as a script would."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


def run_sochi(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
) -> Result:
    """Run `python -m sochi_cli` in a subprocess with stdin closed (or fed `input`)."""
    proc = subprocess.run(
        [sys.executable, "-m", "sochi_cli", *args],
        check=False,
        capture_output=True,
        text=True,
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
