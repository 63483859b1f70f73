"""`sochi tui` in a real terminal: tmux runs it against the demo sandbox (served over a real
socket by `sochi sandbox serve`), keys go in with send-keys, the screen comes back with
capture-pane."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import serving

pytestmark = pytest.mark.e2e

TMUX = shutil.which("tmux")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, object]]]:
    data_dir = tmp_path / "sandbox"
    with serving("--seed", "demo", "--bulk-clients", "3", "--data-dir", str(data_dir)) as (
        _,
        ready,
    ):
        facts = json.loads((data_dir / "demo" / "demo.json").read_text())
        yield ready["api_url"], facts


class Tmux:
    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.env = env

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [str(TMUX), "-L", self.name, *args],
            capture_output=True, text=True, env=self.env, check=True, timeout=30,
        )  # fmt: skip
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)
        time.sleep(0.2)  # a person's pace: a key that moves focus lands before the next one

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{shown}")


def wait_for_exit(exit_file: Path, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not exit_file.exists():
        time.sleep(0.1)
    return exit_file.read_text().strip()


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)")
def test_sochi_tui_in_tmux_logs_in_moves_between_screens_and_quits(
    served: tuple[str, dict[str, object]], tmp_path: Path
) -> None:
    api, facts = served
    representative = facts["representative"]
    assert isinstance(representative, dict)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TMUX")},
        "SOCHI_API_URL": api,
        "SOCHI_KEY_FILE": str(representative["pkcs12"]),
        "SOCHI_KEY_PASSPHRASE": str(facts["passphrase"]),
        "SOCHI_STATE_DIR": str(tmp_path / "state"),
        "TERM": "xterm-256color",
    }
    tmux = Tmux(f"sochi-smoke-{os.getpid()}", env)
    exit_file = tmp_path / "exit-code"
    command = f"{sys.executable} -m sochi_cli tui; echo $? > {exit_file}"
    tmux.run("new-session", "-d", "-s", tmux.name, "-x", "100", "-y", "30", command)
    try:
        tmux.wait_for("Home", timeout=30)
        tmux.wait_for("press L to log in")  # no session yet: the app says what to do
        tmux.keys("L")
        tmux.wait_for("Log in to the operator")
        tmux.keys("Enter")
        home = tmux.wait_for("What needs you today")
        tmux.wait_for(str(facts["representative"]["inn"]))  # type: ignore[index]
        assert "Traceback" not in home
        tmux.keys("2")
        tmux.wait_for("Ak-Suu Trade LLC")
        tmux.keys("/")
        tmux.keys("-l", "bakery")
        clients = tmux.wait_for("1 of ")
        assert "Bishkek Bakery LLC" in clients and "Ak-Suu Trade LLC" not in clients
        tmux.keys("Enter")  # back to the table, the filter stays
        tmux.keys("?")
        tmux.wait_for("Everywhere")
        tmux.keys("Escape")
        tmux.wait_for("Valid unt")  # the help closed, the clients are back
        tmux.keys("q")
        assert wait_for_exit(exit_file) == "0"
        # a bug in a key's handler: one line on the terminal, exit 1, no traceback
        bug = tmp_path / "bug"
        bug.mkdir()
        (bug / "sitecustomize.py").write_text(
            "from sochi_cli.tui.screens.home import HomeScreen\n"
            "def broken(self):\n    raise KeyError('surprise')\n"
            "HomeScreen.action_reload = broken\n"
        )
        exit_file.unlink()
        tmux.name += "-bug"  # a second session; sleep keeps its pane up to read the last line
        tmux.run("new-session", "-d", "-s", tmux.name, "-x", "100", "-y", "30",
                 f"PYTHONPATH={bug} {command}; sleep 60")  # fmt: skip
        tmux.wait_for("Bishkek Bakery LLC")  # it opens where it was left: the clients
        tmux.keys("1")
        tmux.wait_for("What needs you today")
        tmux.keys("r")
        shown = tmux.wait_for("sochi tui stopped")
        assert "error: sochi tui stopped: internal error: KeyError: 'surprise'" in shown, shown
        assert "Traceback" not in shown and "surprise')" not in shown
        assert wait_for_exit(exit_file) == "1"
    finally:
        for name in {tmux.name, tmux.name.removesuffix("-bug")}:
            subprocess.run([str(TMUX), "-L", name, "kill-server"], check=False, env=env)
