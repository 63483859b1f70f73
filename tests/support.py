"""Helpers for driving the CLI from tests: in-process (fast) or as a subprocess (real)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any

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


@contextmanager
def serving(
    *args: str, command: Sequence[str] = (), env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """`sochi sandbox serve --port 0 --json ARGS` as a real process on 127.0.0.1: the process
    and its ready line (`url`, `api_url`, `pid`); SIGTERM when done, SIGKILL if it hangs.
    `command` replaces `python -m sochi_cli` (the `sochi` script, say)."""
    program = list(command) or [sys.executable, "-m", "sochi_cli"]
    proc = subprocess.Popen(
        [*program, "--json", "sandbox", "serve", "--port", "0", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "no output"
        yield proc, json.loads(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bearer_call(api: str, method: str, path: str, token: str, body: Any = None) -> Any:
    """A bearer call to the operator API at `api` (what a test does behind sochi's back)."""
    import httpx

    response = httpx.request(
        method, f"{api}/{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    response.raise_for_status()
    return response.json() if response.content else None
