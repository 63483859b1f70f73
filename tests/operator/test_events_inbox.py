"""`sochi events [--follow]` and `sochi inbox list|show|ack` against the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from sochi_cli.errors import ExitCode
from sochi_cli.services.events import cursor_path
from tests.api.conftest import Sandbox, as_json, ok
from tests.operator.conftest import file_report
from tests.support import run_cli


def test_events_in_a_pipe_come_again_until_acknowledged(logged_in: Sandbox) -> None:
    first = as_json(run_cli("events", "--from-start", "--json"))
    assert first["next_cursor"] is not None and first["acknowledged"] is False
    assert not cursor_path("sandbox").exists()  # written to a pipe is not processed
    again = as_json(run_cli("events", "--json"))
    assert [e["id"] for e in again["events"]] == [e["id"] for e in first["events"]]
    acked = ok(run_cli("events", "--ack", first["next_cursor"], "--json"))
    assert json.loads(acked.stdout) == {"acknowledged": first["next_cursor"]}
    sub = file_report(logged_in, "2025-11").submission
    newer = as_json(run_cli("events", "--json"))
    types = [e["type"] for e in newer["events"] if e["submission_id"] == sub.id]
    assert "submission.received" in types
    assert all(int(e["cursor"]) > int(first["next_cursor"]) for e in newer["events"])
    hinted = ok(run_cli("events"))
    assert f"sochi events --ack {newer['next_cursor']}" in hinted.stderr
    ok(run_cli("events", "--ack", newer["next_cursor"]))
    assert as_json(run_cli("events", "--json"))["events"] == []
    quiet = ok(run_cli("events"))
    assert quiet.stdout == "" and "no new events" in quiet.stderr
    replay = ok(run_cli("events", "--after", first["next_cursor"]))
    assert f"submission.received\t{sub.id}\treceived" in replay.stdout


def test_events_piped_into_head_lose_nothing(logged_in: Sandbox) -> None:
    """`sochi events | head -2; sochi events`: the second run still shows the rest."""
    for period in ("2025-01", "2025-02", "2025-03"):
        file_report(logged_in, period)
    env = {**os.environ, "SOCHI_API_URL": logged_in.api}
    sochi = f"{sys.executable} -m sochi_cli"
    script = f'{sochi} events | head -2; echo "status=${{PIPESTATUS[0]}}"; {sochi} events'
    proc = subprocess.run(
        ["bash", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    lines = proc.stdout.splitlines()
    head, status, rest = lines[:2], lines[2], lines[3:]
    assert status == "status=0", proc.stderr
    assert "error" not in proc.stderr and "Traceback" not in proc.stderr
    assert len(rest) > 2 and rest[:2] == head  # nothing acknowledged, nothing lost
    assert len({line.split("\t")[0] for line in rest}) == len(rest)


def test_ack_refuses_a_cursor_the_operator_never_issued(logged_in: Sandbox) -> None:
    """`--ack 99999` would skip every later event; `--ack abc` would break every later run."""
    first = as_json(run_cli("events", "--from-start", "--json"))
    ok(run_cli("events", "--ack", first["events"][0]["cursor"]))
    for wrong in ("99999", "abc"):
        refused = run_cli("events", "--ack", wrong, "--json")
        assert refused.code == ExitCode.USAGE
        assert f"error: --ack {wrong}: the operator never issued this cursor" in refused.stderr
        assert json.loads(refused.stdout)["error"]["code"] == "invalid_cursor"
    # nothing was acknowledged by the refusals: a new filing still comes after the real cursor
    sub = file_report(logged_in, "2025-04").submission
    after = as_json(run_cli("events", "--json"))["events"]
    assert after[0]["cursor"] == first["events"][1]["cursor"]
    assert sub.id in {e["submission_id"] for e in after}


def test_a_saved_cursor_the_operator_refuses_names_the_way_out(logged_in: Sandbox) -> None:
    """A cursor file from a feed since reset (or written by hand): every run said only "this
    cursor was not issued by the server"; now it says how to recover, and --reset does."""
    from sochi_cli.services.events import save_cursor

    save_cursor("sandbox", logged_in.api, "99999")
    stuck = run_cli("events")
    assert stuck.code == ExitCode.USAGE
    assert "the acknowledged events cursor 99999 was not issued" in stuck.stderr
    assert "`sochi events --reset`" in stuck.stderr and "--from-start" in stuck.stderr
    assert ok(run_cli("events", "--reset")).stderr.startswith("forgot the acknowledged cursor")
    assert not cursor_path("sandbox").exists()
    assert as_json(run_cli("events", "--json"))["events"]  # the whole feed again


def test_follow_into_head_stops_as_soon_as_head_leaves(logged_in: Sandbox) -> None:
    """`events --follow | head -1` on a feed that goes quiet: exit 0 at once, not at the
    next event (the long poll would wait 30 s, and again, forever)."""
    env = {**os.environ, "SOCHI_API_URL": logged_in.api}
    sochi = f"{sys.executable} -m sochi_cli events --follow --from-start --wait 30"
    for extra in ("", " --json"):
        script = f'{sochi}{extra} 2>err.txt | head -1; echo "status=${{PIPESTATUS[0]}}"'
        proc = subprocess.run(
            ["bash", "-c", script],
            env=env,
            cwd=logged_in.data_dir,
            capture_output=True,
            text=True,
            timeout=20,  # far below the 30-s wait the quiet feed would otherwise hold it
            stdin=subprocess.DEVNULL,
            check=False,
        )
        first, status = proc.stdout.splitlines()
        assert status == "status=0", (logged_in.data_dir / "err.txt").read_text()
        assert "inbox.received" in first
        err = (logged_in.data_dir / "err.txt").read_text()
        assert "Traceback" not in err and "error" not in err and "Broken pipe" not in err


def test_events_refuse_a_wait_outside_the_contract(logged_in: Sandbox) -> None:
    result = run_cli("events", "--wait", "61")
    assert result.code == ExitCode.USAGE and "--wait 61: must be 0–60 seconds" in result.stderr


def test_follow_prints_json_lines_and_ctrl_c_exits_130_for_the_script_to_acknowledge(
    logged_in: Sandbox,
) -> None:
    start = as_json(run_cli("events", "--from-start", "--json"))
    ok(run_cli("events", "--ack", start["next_cursor"]))  # move the cursor to the end
    env = {**os.environ, "SOCHI_API_URL": logged_in.api}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sochi_cli", "events", "--follow", "--wait", "5", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        started = ""
        while "following events" not in started:
            line = proc.stderr.readline()
            assert line, "sochi events --follow exited early"
            started = line
        sub = file_report(logged_in, "2025-10").submission
        line = json.loads(proc.stdout.readline())  # one object per line
        assert line["type"] == "submission.received" and line["submission_id"] == sub.id
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err and "acknowledge what was processed" in err
    seen = [line, *(json.loads(rest) for rest in out.splitlines())]
    ok(run_cli("events", "--ack", seen[-1]["cursor"]))  # the script processed them all
    later = as_json(run_cli("events", "--json"))
    assert all(int(e["cursor"]) > int(seen[-1]["cursor"]) for e in later["events"])


def _post_inbox(sb: Sandbox, subject: str) -> str:
    item = sb.control(
        "POST",
        "inbox",
        {"inn": sb.rep["inn"], "agency": "STS", "kind": "request", "subject": subject,
         "body": "Please confirm receipt."},
    )  # fmt: skip
    return str(item["id"])


def test_inbox_list_show_and_signed_ack(logged_in: Sandbox) -> None:
    item_id = _post_inbox(logged_in, "Request for documents")
    unread = as_json(run_cli("inbox", "list", "--unread", "--json"))
    assert item_id in {i["id"] for i in unread}
    assert "document" not in unread[0]
    plain = ok(run_cli("inbox", "list")).stdout
    assert any(line.startswith(f"{item_id}\tSTS\trequest") for line in plain.splitlines())
    shown = as_json(run_cli("inbox", "show", item_id, "--json"))
    assert shown["subject"] == "Request for documents"
    assert shown["agency_signature"]["verified"] is True
    text = ok(run_cli("inbox", "show", item_id)).stdout
    assert "signature\tverified (" in text and "Please confirm receipt." in text
    acked = as_json(run_cli("inbox", "ack", item_id, "--json"))
    assert acked["already_acknowledged"] is False
    assert acked["receipt_kind"] == "inbox_ack" and acked["receipt_signature"]["verified"]
    assert acked["archived"] == 4  # clause 16: document, our signature, receipt + its signature
    kept = {e["filename"]: e["kind"] for e in as_json(run_cli("archive", "list", "--json"))}
    assert kept[f"inbox-{item_id}"] == "inbox_document"
    assert kept[f"inbox-{item_id}.p7s"] == "ack_signature"
    assert kept[f"inbox_ack-{acked['receipt_id']}.json"] == "receipt"
    audited = as_json(run_cli("audit", "list", "--action", "inbox.ack", "--json"))
    assert [r["details"]["inbox_id"] for r in audited] == [item_id]
    again = ok(run_cli("inbox", "ack", item_id)).stdout
    assert "status\talready acknowledged" in again and f"receipt\t{acked['receipt_id']}" in again
    assert item_id not in {i["id"] for i in as_json(run_cli("inbox", "list", "--unread", "--json"))}


def test_inbox_ack_of_an_unknown_item_is_not_found(logged_in: Sandbox) -> None:
    result = run_cli("inbox", "ack", "inb_nope")
    assert result.code == ExitCode.NOT_FOUND and "inb_nope" in result.stderr


def test_follow_waits_out_a_maintenance_window_and_carries_on(logged_in: Sandbox) -> None:
    from datetime import timedelta

    from sochi_cli.services.events import follow_events
    from sochi_cli.services.session import open_client
    from sochi_cli.store.config import load
    from tests.api.conftest import WEDNESDAY_NOON

    start = as_json(run_cli("events", "--json"))["next_cursor"]
    sub = file_report(logged_in, "2025-08").submission  # one original per period: its own
    friday_evening = WEDNESDAY_NOON + timedelta(days=2, hours=6)  # 18:00 Bishkek, in the window
    pauses: list[float] = []
    seen: list[str] = []

    def window_ends(seconds: float) -> None:  # instead of sleeping: the window is over
        logged_in.control("PUT", "clock", {"now": WEDNESDAY_NOON.isoformat(), "frozen": False})

    logged_in.control("PUT", "clock", {"now": friday_evening.isoformat(), "frozen": False})
    try:
        with open_client(load()) as client:
            follow_events(
                client,
                start,
                0,
                lambda events, _cursor: seen.extend(e.submission_id or "" for e in events),
                rounds=1,
                on_pause=pauses.append,
                sleep=window_ends,
            )
    finally:
        logged_in.control("PUT", "clock", {"now": WEDNESDAY_NOON.isoformat(), "frozen": False})
    assert len(pauses) == 1 and 0 < pauses[0] <= 3 * 3600  # the rest of the 17:30–20:30 window
    assert sub.id in seen
