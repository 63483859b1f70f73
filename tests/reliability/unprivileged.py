"""Running sochi as an unprivileged user: the suite runs as root, and root reads everything.

`Nobody` owns a home folder under /tmp (pytest's own tmp folders are root-only) with its
config, data and cache directories, and runs `python -m sochi_cli` as `nobody` through
`setpriv` (util-linux). When the checkout itself is out of nobody's reach (a clone inside a
0700 folder, as `mktemp -d` makes), it runs as root without the capabilities that let root
ignore file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): permission bits then apply
to it exactly as to any other user, and its files stay root's. When the tests do not run as
root they already are unprivileged and run sochi directly. Where none of this works the
tests that need it are skipped, saying why.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support import Result

_PROBE = "import sochi_cli.cli, sqlite3, httpx, cryptography, zipfile"


_NO_DAC = "--bounding-set=-dac_override,-dac_read_search"

_EACH = """
import io, json, sys
from contextlib import redirect_stderr, redirect_stdout
from sochi_cli.main import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    results.append([code, out.getvalue(), err.getvalue()])
sys.__stdout__.write(json.dumps(results))
"""


def _probe(prefix: list[str]) -> str | None:
    """The last line of the error when the interpreter cannot import sochi under `prefix`."""
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", _PROBE],
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if probe.returncode == 0:
        return None
    return (probe.stderr.strip().splitlines() or ["?"])[-1]


@functools.cache
def _mode() -> tuple[list[str] | None, bool, str | None]:
    """(setpriv prefix or None, whether files must be chowned to nobody, why not possible)."""
    if os.geteuid() != 0:
        return [], False, None
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None, False, "setpriv (util-linux) is not installed"
    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        user = None
    if user is not None:
        as_nobody = [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
        if _probe(as_nobody) is None:
            return as_nobody, True, None
    without_dac = [setpriv, _NO_DAC]
    error = _probe(without_dac)
    if error is None:
        return without_dac, False, None
    return None, False, f"the interpreter cannot run unprivileged here: {error}"


def unavailable() -> str | None:
    """Why sochi cannot be run as an unprivileged user here, or None."""
    return _mode()[2]


def _drop() -> list[str]:
    return _mode()[0] or []


class Nobody:
    """An unprivileged user's home with its own SOCHI_* directories."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sochi-nobody-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        self.home = self.root / "home"
        self.home.mkdir()
        self.give(self.home)

    def give(self, path: Path) -> None:
        """Make `path` (recursively) nobody's (when sochi runs as nobody)."""
        if not _mode()[1]:
            return
        user = pwd.getpwnam("nobody")
        for folder, dirs, files in os.walk(path):
            os.chown(folder, user.pw_uid, user.pw_gid)
            for name in dirs + files:
                os.chown(
                    os.path.join(folder, name), user.pw_uid, user.pw_gid, follow_symlinks=False
                )

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("SOCHI_")}
        return {
            **base,
            "HOME": str(self.home),
            "SOCHI_CONFIG_DIR": str(self.home / "config"),
            "SOCHI_DATA_DIR": str(self.home / "data"),
            "SOCHI_CACHE_DIR": str(self.home / "cache"),
            "PYTHONDONTWRITEBYTECODE": "1",
            **extra,
        }

    def run(
        self, *args: str | bytes, env: dict[str, str] | None = None, timeout: float = 120
    ) -> Result:
        """`sochi ARGS` as nobody, in nobody's home, stdin closed."""
        proc = self._python(["-m", "sochi_cli", *args], env, timeout)
        return Result(
            proc.returncode,
            proc.stdout.decode("utf-8", "backslashreplace"),
            proc.stderr.decode("utf-8", "backslashreplace"),
        )

    def run_each(
        self, commands: list[list[str]], env: dict[str, str] | None = None, timeout: float = 300
    ) -> list[Result]:
        """`sochi ARGS` for each ARGS, in order, as nobody, all in one process (the CLI run
        in-process on non-TTY streams, as `tests.support.run_cli` does): one interpreter
        start for a long list of commands."""
        proc = self._python(["-c", _EACH, json.dumps(commands)], env, timeout)
        if proc.returncode != 0:
            raise AssertionError(proc.stderr.decode("utf-8", "backslashreplace"))
        return [Result(*row) for row in json.loads(proc.stdout)]

    def _python(
        self, args: list[str | bytes], env: dict[str, str] | None, timeout: float
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*_drop(), sys.executable, *args],
            cwd=self.home,
            env=env or self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def cleanup(self) -> None:
        for folder, dirs, _files in os.walk(self.root):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o700)
        shutil.rmtree(self.root, ignore_errors=True)


def unprivileged_user() -> Iterator[Nobody]:
    """For a fixture: a fresh `Nobody`, removed afterwards; the test is skipped (saying
    why) where sochi cannot run unprivileged."""
    import pytest

    reason = unavailable()
    if reason:
        pytest.skip(reason)
    user = Nobody()
    try:
        yield user
    finally:
        user.cleanup()


__all__ = ["Nobody", "unavailable", "unprivileged_user"]
