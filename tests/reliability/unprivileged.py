"""Running sochi as an unprivileged user: the suite runs as root, and root reads everything.

`Nobody` owns a home folder under /tmp (pytest's own tmp folders are root-only) with its
config, data and cache directories, and runs `python -m sochi_cli` as `nobody` through
`setpriv` (util-linux). When the tests do not run as root they already are unprivileged and
run sochi directly. Where neither works the tests that need it are skipped, saying why.
"""

from __future__ import annotations

import functools
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


@functools.cache
def unavailable() -> str | None:
    """Why sochi cannot be run as an unprivileged user here, or None."""
    if os.geteuid() != 0:
        return None
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return "setpriv (util-linux) is not installed"
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return "there is no user 'nobody'"
    probe = subprocess.run(
        [*_drop(), sys.executable, "-c", _PROBE],
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return f"the interpreter cannot run as 'nobody' here: {last}"
    return None


def _drop() -> list[str]:
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam("nobody")
    return [
        shutil.which("setpriv") or "setpriv",
        f"--reuid={user.pw_uid}",
        f"--regid={user.pw_gid}",
        "--clear-groups",
    ]


class Nobody:
    """An unprivileged user's home with its own SOCHI_* directories."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sochi-nobody-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        self.home = self.root / "home"
        self.home.mkdir()
        self.give(self.home)

    def give(self, path: Path) -> None:
        """Make `path` (recursively) nobody's."""
        if os.geteuid() != 0:
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
        proc = subprocess.run(
            [*_drop(), sys.executable, "-m", "sochi_cli", *args],
            cwd=self.home,
            env=env or self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        return Result(
            proc.returncode,
            proc.stdout.decode("utf-8", "backslashreplace"),
            proc.stderr.decode("utf-8", "backslashreplace"),
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
