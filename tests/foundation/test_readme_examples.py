"""README.md run as a first-time user runs it: every line of its ```sh blocks, top to bottom,
in an empty home, against `sochi sandbox serve` over a real loopback socket.

A line exits 0 unless its comment says `# exit N`. Lines that cannot run here say why in
the README (`# needs a RuToken`, `# needs E-Cloud`…) or are listed in `not_run` below; a
new example is run unless it is one of those, so the README cannot drift from the tool.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import serving

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent
BISHKEK = timedelta(hours=6)
# files of the user's own that the README's examples name
OWN_FILES = {
    "poa-17.pdf": b"%PDF-1.4 power of attorney 17\n",
    "poa-18.pdf": b"%PDF-1.4 power of attorney 18\n",
    "poa-19.pdf": b"%PDF-1.4 power of attorney 19\n",
    "scan.pdf": b"%PDF-1.4 scan\n",
    "answer.xml": b'<?xml version="1.0" encoding="UTF-8"?>\n<answer>explanations</answer>\n',
}


@dataclass(frozen=True)
class Example:
    section: str
    command: str  # continuation lines joined
    comment: str

    @property
    def code(self) -> int:
        found = re.search(r"\bexit (\d+)", self.comment)
        return int(found.group(1)) if found else 0


def examples(text: str) -> list[Example]:
    """Every command line of the ```sh blocks, with the heading it is under."""
    found: list[Example] = []
    section = ""
    fence: str | None = None  # the language of the open ``` block
    pending = ""
    for line in text.splitlines():
        if line.startswith("```"):
            fence = line[3:] if fence is None else None
        elif fence is None and line.startswith("#"):
            section = line.lstrip("# ").strip()
        elif fence == "sh" and line.strip():
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            whole, pending = pending + line.strip(), ""
            command, _, comment = whole.partition("  # ")
            found.append(Example(section, command.strip(), comment.strip()))
    return found


def not_run(example: Example) -> str | None:
    """Why this line is not run here, or None."""
    command = example.command
    if example.comment.startswith("needs ") or ": needs " in example.comment:
        return example.comment
    if command.startswith(("make ", "pipx ")):
        return "builds or installs; the test runs the project's own .venv"
    if command.startswith("sochi sandbox serve"):
        return "the test's own `sochi sandbox serve --port 0` plays it"
    if re.match(r"sochi( --profile \S+)? tui\b", command):
        return "interactive; tests/tui drives it in a real terminal"
    if command.startswith("sochi cert revoke"):
        return "revokes the demo signer's certificate: every later signing example would fail"
    if "--profile production" in command and "config" not in command:
        return "the production operator"
    return None


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("readme-home")


@pytest.fixture(scope="module")
def env(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SOCHI_", "XDG_"))}
    return {
        **keep,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "80",
        "NO_COLOR": "1",
    }


@pytest.fixture(scope="module")
def served(env: dict[str, str]) -> Iterator[str]:
    """`sochi sandbox serve --seed demo` in the empty home, on a free port, on the real clock
    (the sample reports and `sochi due` are about today)."""
    now = datetime.now(UTC) + BISHKEK
    if now.weekday() == 4 and 17 <= now.hour < 21:
        pytest.skip("Friday 17:30–20:30 in Bishkek: the README's submit waits for the window")
    with serving("--seed", "demo", command=[str(BIN / "sochi")], env=env) as (_, ready):
        yield ready["api_url"]


def test_the_readme_runs_top_to_bottom_as_written(
    served: str, env: dict[str, str], home: Path
) -> None:
    env = {**env, "SOCHI_API_URL": served}
    work = home / "work"
    work.mkdir()
    for name, data in OWN_FILES.items():
        (work / name).write_bytes(data)
    placeholders: dict[str, str] = {}

    def sochi_json(*args: str) -> list[dict[str, str]]:
        done = subprocess.run(
            [str(BIN / "sochi"), *args, "--json"], env=env, cwd=work, capture_output=True,
            text=True, stdin=subprocess.DEVNULL, timeout=60, check=True,
        )  # fmt: skip
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def real_ids(command: str) -> str:
        """The README's made-up ids (sub_8Kf2, inb_3Qx) as ids of this sandbox."""
        if "sub_8Kf2" in command and "sub_8Kf2" not in placeholders:
            placeholders["sub_8Kf2"] = sochi_json("submissions", "list", "--status", "rejected")[0][
                "id"
            ]
        if "inb_3Qx" in command and "inb_3Qx" not in placeholders:
            placeholders["inb_3Qx"] = sochi_json("inbox", "list")[0]["id"]
        for shown, real in placeholders.items():
            command = command.replace(shown, real)
        return command

    ran, failures = [], []
    for example in examples(README.read_text(encoding="utf-8")):
        if not_run(example) is not None:
            continue
        command = real_ids(example.command)
        exported = re.fullmatch(r"export (\w+)=(\S+)", command)
        if exported:
            env[exported.group(1)] = exported.group(2)
            continue
        proc = subprocess.Popen(
            ["bash", "-c", command], env=env, cwd=work, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        if "--follow" in command:  # runs until Ctrl-C: give it one
            time.sleep(3)
            os.killpg(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=180)
        ran.append(example.command)
        if proc.returncode != example.code or "Traceback" in err:
            tail = " | ".join(err.strip().splitlines()[-2:])
            failures.append(
                f"[{example.section}] {example.command}\n"
                f"    exit {proc.returncode}, README says {example.code}: {tail}"
            )
    assert not failures, "\n".join(failures)
    assert len(ran) > 60  # the walk really walked


def test_every_skipped_line_says_why() -> None:
    """Only lines that need what a test machine has not are left out, each for a reason."""
    skipped = {e.command: not_run(e) for e in examples(README.read_text(encoding="utf-8"))}
    left_out = {command: why for command, why in skipped.items() if why is not None}
    assert all(why for why in left_out.values())
    # the first run is run whole, except the server the test starts itself
    first_run = [
        e for e in examples(README.read_text(encoding="utf-8")) if e.section == "First run"
    ]
    assert [e.command for e in first_run if not_run(e)] == ["sochi sandbox serve --seed demo &"]
    assert len(left_out) < 20
