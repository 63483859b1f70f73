"""The script contract without an operator: help at 80 columns, pipes, JSON shapes, progress
renderers, batch states read from the journal, no-clobber."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sochi_cli.commands._progress import JsonDisplay, LinesDisplay
from sochi_cli.services.progress import ProgressEvent
from sochi_cli.store.journal import BatchStatus, Journal, Outcome, Stage
from tests.batch.factory import plan_item
from tests.support import run_cli, run_sochi

INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def seed(items: int = 4, status: BatchStatus = BatchStatus.PARTIAL) -> int:
    with Journal.for_profile("sandbox") as journal:
        started = journal.start_batch(
            [plan_item(n) for n in range(items)], profile="sandbox", api_url="u", command="c"
        )
        first = journal.batch_items(started.batch.id)[0]
        journal.record_after(first.id, Stage.SEND, Outcome(state="accepted", submission_id="s"))
        journal.set_batch_status(started.batch.id, status)
        return started.batch.id


# -- help ----------------------------------------------------------------------------------------
def _all_command_paths() -> list[list[str]]:
    import typer

    from sochi_cli.cli import LazyCommandGroup, build_app
    from sochi_cli.commands import COMMANDS

    root = typer.main.get_command(build_app())
    assert isinstance(root, LazyCommandGroup)
    paths: list[list[str]] = []
    for name in COMMANDS:
        command = root.real(name)
        paths.append([name])
        paths += [[name, sub] for sub in getattr(command, "commands", {}) or {}]
    return paths


def test_help_at_80_columns_reads_well_for_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """No type metavars, no cut names, defaults shown, examples everywhere, 80 columns."""
    import typer

    from sochi_cli.cli import LazyCommandGroup, _help_text, build_app

    monkeypatch.setenv("COLUMNS", "80")
    root = typer.main.get_command(build_app())
    assert isinstance(root, LazyCommandGroup)
    for path in _all_command_paths():
        text = _help_text(path)
        where = " ".join(path)
        assert "\nUSAGE\n" in text, where
        assert re.search(r"\nEXAMPLES\n  \$ (\w+=\S+ )*sochi ", text), where
        assert all(len(line) <= 80 for line in text.splitlines()), where
        assert not re.search(r"<(bool|int|str|float|path|int range|float range)>", text), where
        assert "…\n" not in text and "[default" not in text, where
        command = root.real(path[0])
        for word in path[1:]:
            command = command.commands[word]
        for param in command.params:
            if getattr(param, "hidden", False) or param.param_type_name != "option":
                continue
            for name in [*param.opts, *param.secondary_opts]:
                assert re.search(rf"(^|[\s,]){re.escape(name)}([\s,]|$)", text, re.M), (
                    where,
                    name,
                )
            if param.default not in (None, False, [], ()) and param.show_default is not False:
                line = next(ln for ln in text.splitlines() if param.opts[0] in ln)
                block = text[text.index(line) :].split("\n  -", 1)[0]
                assert "default" in block, (where, param.opts[0])


def test_sochi_help_command_and_flag_agree() -> None:
    assert run_cli("help", "batch", "show").stdout == run_cli("batch", "show", "--help").stdout
    assert run_cli("help").stdout == run_cli("--help").stdout
    group = run_cli("batch")
    assert group.code == 0 and "\nCOMMANDS\n  list:" in group.stdout
    unknown = run_cli("help", "sumbit")
    assert unknown.code == 2 and "Did you mean 'submit'?" in unknown.stderr


# -- pipes ------------------------------------------------------------------------------------
def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    """`sochi batch show last | head -2` with a real head: exit 0, nothing on stderr."""
    seed(items=2000)  # ~150 KB of rows: far more than a pipe buffer holds
    sochi = f"{sys.executable} -m sochi_cli"
    proc = subprocess.run(
        ["bash", "-c", f'{sochi} batch show last | head -2; echo "status=${{PIPESTATUS[0]}}"'],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        env=dict(os.environ),
        check=False,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and lines[2] == "status=0", proc.stderr
    assert proc.stderr == ""


# -- output shapes ------------------------------------------------------------------------------
def test_json_field_lists_and_jq_like_gh() -> None:
    batch = seed()
    picked = json.loads(run_cli("batch", "list", "--json", "id,status").stdout)
    assert picked == [{"id": batch, "status": "partial"}]
    assert json.loads(run_cli("batch", "list", "--json=id").stdout) == [{"id": batch}]
    assert run_cli("batch", "list", "--jq", ".[0].status").stdout == "partial\n"
    assert run_cli("batch", "list", "--jq", ".[].id").stdout == f"{batch}\n"
    odd = run_cli("batch", "list", "--json", "id,nope")
    assert json.loads(odd.stdout) == [{"id": batch}]
    assert "unknown JSON field(s) nope" in odd.stderr and "status" in odd.stderr
    bad = run_cli("batch", "list", "--jq", ".[")
    assert bad.code == 2 and bad.stderr.startswith("error: --jq")
    shown = json.loads(run_cli("batch", "show", "last", "--json").stdout)
    assert INSTANT.fullmatch(shown["created_at"]) and INSTANT.fullmatch(shown["updated_at"])


def test_people_see_bishkek_time_labelled() -> None:
    seed()
    from unittest import mock

    with mock.patch("sochi_cli.commands._output._isatty", return_value=True):
        out = run_cli("batch", "list").stdout
    assert "(Bishkek)" in out and "Z" not in out.split("\n", 2)[1]


def test_out_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    seed()
    manifest = tmp_path / "october.csv"
    manifest.write_text("client,form,period,file\n")
    kept = run_cli("batch", "report", "last", "--out", str(manifest))
    assert kept.code == 2 and f"--out {manifest}: already exists" in kept.stderr
    assert manifest.read_text() == "client,form,period,file\n"  # untouched
    forced = run_cli("batch", "report", "last", "--out", str(manifest), "--force")
    assert forced.code == 0 and manifest.read_text().startswith("seq,client_inn")


# -- batch states --------------------------------------------------------------------------------
def test_a_crashed_run_is_shown_interrupted_once_its_lock_is_free() -> None:
    batch = seed(status=BatchStatus.RUNNING)
    with Journal.for_profile("sandbox") as journal, journal.writer_lock():
        (live,) = json.loads(run_cli("batch", "list", "--json").stdout)
        assert live["status"] == "running" and live["follow_up"] is None
    (dead,) = json.loads(run_cli("batch", "list", "--json").stdout)
    assert dead["status"] == "interrupted" and dead["follow_up"] == f"sochi batch resume {batch}"
    assert run_cli("batch", "list").stdout.split("\t")[2] == "interrupted"


# -- progress --------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lines_progress_a_line_per_phase_and_a_status_line_at_most_every_10_s() -> None:
    stream, clock = io.StringIO(), Clock()
    show = LinesDisplay(stream, "submit", clock=clock)
    show(ProgressEvent("validate", 300, 0))
    show(ProgressEvent("validate", 300, 300, {"validated": 300}))  # same phase, too soon
    clock.now = 1
    show(ProgressEvent("send", 300, 0, {"signed": 300}))  # a new phase: at once
    for second in range(2, 31):  # one event a second for half a minute
        clock.now = second
        show(ProgressEvent("send", 300, second * 5, {"received": second * 5}))
        if second in (5, 6):  # the first is a line of its own, the second is folded
            show(ProgressEvent("retry", kind="retry", message="operator 503, retrying in 2 s"))
    show(ProgressEvent("maintenance", 300, 150, seconds_left=3 * 3600))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "submit: validate 0/300"
    assert lines[1] == "submit: send 0/300 (signed 300)"
    status = [ln for ln in lines if ln.startswith("submit: send") and "about" in ln]
    # a status line at most every 10 s (at 11 and 21), the retry line of second 5 apart
    assert [ln.split()[2] for ln in status] == ["55/300", "105/300"]
    assert "submit: operator 503, retrying in 2 s" in lines
    assert "1 more retries (last: operator 503, retrying in 2 s)" in status[0]
    assert lines[-1].startswith("submit: maintenance 150/300: operator in maintenance, resuming")


def test_a_status_line_still_comes_every_10_s_while_calls_are_retried() -> None:
    """Under 30 % 503s the send phase showed 37 s of retry lines and no counts or ETA."""
    stream, clock = io.StringIO(), Clock()
    show = LinesDisplay(stream, "submit", clock=clock)
    show(ProgressEvent("send", 300, 0, {"signed": 300}))
    for tenth in range(1, 371):  # 37 s: a retry every 0.3 s, an item now and then
        clock.now = tenth / 10
        if tenth % 3 == 0:
            show(ProgressEvent("retry", kind="retry", message="operator 503, retrying in 1 s"))
        if tenth % 40 == 0:
            done = tenth // 40
            show(ProgressEvent("send", 300, done, {"received": done, "signed": 300 - done}))
    lines = stream.getvalue().splitlines()
    status = [ln for ln in lines if ln.startswith("submit: send ")]
    assert len(status) == 4  # the phase line, then one at about 10, 20 and 30 s
    for line in status[1:]:
        assert "(received " in line and "left" in line and "more retries (last: " in line
    retry_lines = [ln for ln in lines if ln.startswith("submit: operator 503")]
    assert len(retry_lines) == 4  # one every 10 s, the rest counted into the status lines
    json_stream = io.StringIO()
    events = JsonDisplay(json_stream, "submit", clock=clock)
    clock.now = 0
    events(ProgressEvent("send", 300, 0))
    for second in range(1, 6):  # nothing moves, calls are retried: a status each second
        clock.now = second
        events(ProgressEvent("retry", kind="retry", message="operator 503, retrying in 1 s"))
    kinds = [json.loads(line)["event"] for line in json_stream.getvalue().splitlines()]
    assert kinds.count("status") == 5 and kinds.count("retry") == 5


def test_json_progress_events_follow_the_documented_schema() -> None:
    stream, clock = io.StringIO(), Clock()
    show = JsonDisplay(stream, "sign", clock=clock)
    show(ProgressEvent("sign", 2, 0))
    show(ProgressEvent("write", 2, 1))
    clock.now = 0.5
    show(ProgressEvent("write", 2, 2))  # within a second of the last: left out
    show(ProgressEvent("retry", kind="retry", message="operator 503, retrying in 2 s"))
    show.close()
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["phase", "phase", "retry", "done"]
    for event in events:
        assert INSTANT.fullmatch(event["at"]) and event["command"] == "sign"
    assert set(events[0]) == {
        "event", "at", "command", "phase", "total", "done", "counts", "eta_seconds",
        "seconds_left", "message",
    }  # fmt: skip
    assert events[2]["message"] == "operator 503, retrying in 2 s"


def test_no_args_and_help_are_fast_paths_without_typer() -> None:
    probe = (
        "import sys\nfrom sochi_cli.main import main\nmain(['--help'])\n"
        "print('typer' in sys.modules, file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=30
    )
    assert proc.stderr.strip() == "False"
    assert run_sochi("--help").code == 0


def test_every_signing_command_takes_the_same_signer_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sochi_cli.cli import _help_text

    monkeypatch.setenv("COLUMNS", "80")
    signing = [
        ["login"],
        ["submit"],
        ["sign"],
        ["batch", "resume"],
        ["inbox", "ack"],
        ["inbox", "reply"],
        ["cert", "show"],
        ["cert", "chain"],
        ["cert", "status"],
    ]
    blocks = {
        " ".join(path): _help_text(path).split("\nSIGNER FLAGS\n", 1)[1].split("\n\n", 1)[0]
        for path in signing
    }
    assert len(set(blocks.values())) == 1, blocks.keys()
    block = blocks["submit"]
    for flag in (
        "--signer", "--key-file", "--cert-file", "--token", "--key-id", "--pkcs11-lib",
        "--pin-file", "--passphrase-file", "--otp-file", "--otp-command", "--credential", "--inn",
    ):  # fmt: skip
        assert f"  {flag} " in block, flag
