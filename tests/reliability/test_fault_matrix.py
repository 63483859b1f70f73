"""The fault matrix of docs/reliability.md: each fault, tried as a hostile tester would.

One test per row (numbered as in issue 13); the permission cases run sochi as the
unprivileged user `nobody` (tests/reliability/unprivileged.py), because root reads and
writes everything. Each test asserts what a user sees: the exit code, the line on stderr,
the JSON, and what the operator and the archive hold afterwards.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sochi_cli.store.journal import journal_path
from tests.batch.operator import Operator, access_token, write_reports
from tests.reliability.unprivileged import Nobody, unprivileged_user
from tests.support import Result, run_cli, run_sochi


@pytest.fixture
def nobody() -> Iterator[Nobody]:
    yield from unprivileged_user()


def logged_in(nobody: Nobody, op: Operator) -> dict[str, str]:
    """nobody's environment for the operator, with its own copy of the demo key, logged in."""
    key = nobody.home / "representative.p12"
    shutil.copyfile(op.rep["pkcs12"], key)
    nobody.give(key)
    env = nobody.env(
        SOCHI_API_URL=op.api,
        SOCHI_KEY_FILE=str(key),
        SOCHI_KEY_PASSPHRASE=op.facts["passphrase"],
    )
    login = nobody.run("login", env=env)
    assert login.code == 0, login.stderr
    return env


def reports(folder: Path, count: int, period: str) -> list[Path]:
    write_reports(folder, count=count, period=period)
    (folder / "samples.json").unlink()
    return sorted(folder.glob("*.xml"))


def filed(op: Operator, period: str) -> list[dict]:
    return op.submissions(access_token(), period)


def sochi_bytes(*args: str | bytes) -> Result:
    """`sochi ARGS` with raw bytes arguments (file names that are not UTF-8)."""
    proc = subprocess.run(
        [sys.executable, "-m", "sochi_cli", *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    return Result(
        proc.returncode,
        proc.stdout.decode("utf-8", "backslashreplace"),
        proc.stderr.decode("utf-8", "backslashreplace"),
    )


def drop_journal(how: str = "delete") -> None:
    path = journal_path("sandbox")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if how == "delete":
        path.unlink()
    else:
        path.write_bytes(b"")


# 1 ----------------------------------------------------------------------------------------
def test_1_unreadable_folders_and_files_are_named_by_plan_validate_dry_and_real_run(
    op: Operator, nobody: Nobody
) -> None:
    env = logged_in(nobody, op)
    tree = nobody.home / "tree"
    files = reports(tree, 4, "2022-01")
    (tree / "sub").mkdir()
    files[0].rename(tree / "sub" / files[0].name)
    nobody.give(tree)

    def refused(line: str, *commands: tuple[str, ...]) -> None:
        """Every command stops (exit 2) with the same line, and nothing is filed."""
        for args in commands:
            result = nobody.run(*args, env=env)
            assert result.code == 2, (args, result.stderr)
            assert result.stderr.splitlines()[-1] == line, (args, result.stderr)
        assert filed(op, "2022-01") == []

    everyone = (
        ("submit", "tree", "--dry-run"),
        ("submit", "tree", "--no-wait"),
        ("validate", "tree"),
    )
    os.chmod(tree / "sub", 0)  # a folder inside: not skipped, named
    folder_line = "error: tree/sub: cannot read the folder: Permission denied"
    refused(folder_line, *everyone, ("submit", "tree/*/*.xml", "--dry-run"))
    as_json = json.loads(nobody.run("--json", "submit", "tree", "--dry-run", env=env).stdout)
    assert as_json["error"]["code"] == "usage" and "tree/sub" in as_json["error"]["message"]

    os.chmod(tree / "sub", 0o755)
    os.chmod(files[1], 0)  # a report file
    file_line = f"error: tree/{files[1].name}: cannot read the file: permission denied"
    refused(file_line, *everyone, ("validate", f"tree/{files[1].name}"))

    os.chmod(tree, 0)  # the folder given: "permission denied", not "holds no reports"
    refused("error: tree: cannot read the folder: Permission denied", *everyone)


# 2 ----------------------------------------------------------------------------------------
def test_2_a_file_name_that_is_not_utf8_is_filed_once_and_shown_escaped(
    op: Operator, tmp_path: Path
) -> None:
    (source,) = reports(tmp_path / "src", 1, "2022-02")
    folder = os.fsencode(tmp_path / "odd")
    os.mkdir(folder)
    name = folder + b"/b\xe9.xml"
    os.rename(source, name)

    checked = sochi_bytes("validate", name)
    assert checked.code == 0, checked.stderr
    assert checked.stdout.startswith(f"{tmp_path}/odd/b\\xe9.xml: ok")

    first = sochi_bytes("--json", "submit", folder, "--no-wait")
    assert first.code == 0, first.stderr
    (item,) = json.loads(first.stdout)["items"]
    assert item["file"] == f"{tmp_path}/odd/b\\xe9.xml" and item["state"] == "received"
    (submission,) = filed(op, "2022-02")
    assert submission["id"] == item["submission_id"]
    assert submission["report"]["filename"] == "b\\xe9.xml"
    db = sqlite3.connect(journal_path("sandbox"))
    try:
        (stored,) = db.execute(
            "SELECT source_path FROM items WHERE submission_id = ?", (item["submission_id"],)
        ).fetchone()
    finally:
        db.close()
    assert stored == name  # the bytes on disk, kept losslessly

    again = sochi_bytes("--json", "submit", folder, "--no-wait")
    assert again.code == 0 and json.loads(again.stdout)["already_filed"] == 1
    report = run_sochi("batch", "report", "last")
    assert "b\\xe9.xml" in report.stdout
    assert len(filed(op, "2022-02")) == 1


# 3 ----------------------------------------------------------------------------------------
def test_3_a_damaged_journal_stops_every_command_the_same_way_before_signing(
    op: Operator, tmp_path: Path
) -> None:
    reports(tmp_path / "before", 20, "2022-03")
    assert run_sochi("submit", str(tmp_path / "before"), "--no-wait").code == 0
    path = journal_path("sandbox")
    db = sqlite3.connect(path)  # everything in the main file, so the damage is all there is
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    pages = path.stat().st_size // 4096
    assert pages > 30
    rng = random.Random(3)
    with open(path, "r+b") as fh:  # 20 pages in the middle overwritten with garbage
        for page in rng.sample(range(2, pages), 20):
            fh.seek(page * 4096)
            fh.write(rng.randbytes(4096))
    archive = path.parent / "archive" / "objects"
    objects = sorted(archive.rglob("*"))
    reports(tmp_path / "after", 3, "2022-04")

    inbox = json.loads(run_cli("--json", "inbox", "list").stdout)[0]["id"]

    lines = set()
    for args in (
        ["submit", str(tmp_path / "after"), "--no-wait"],
        ["submit", str(tmp_path / "after"), "--dry-run"],  # its "already filed" reads it too
        ["inbox", "ack", inbox],
        ["archive", "reconcile"],
        ["archive", "export", "--out", str(tmp_path / "e.zip")],
        ["backup", str(tmp_path / "b.zip")],
        # and every command of READS (test 9) that reads the journal
        ["account", "balance"],
        ["archive", "list"],
        ["archive", "verify"],
        ["audit", "head"],
        ["audit", "list"],
        ["audit", "verify"],
        ["batch", "list"],
        ["batch", "report", "last"],
        ["batch", "show", "last"],
        ["due"],
        ["submissions", "download", filed(op, "2022-03")[0]["id"], "--out", str(tmp_path)],
    ):
        result = run_cli(*args)
        assert result.code == 10, (args, result.stderr)
        lines.add(result.stderr.splitlines()[-1])
    (line,) = lines  # the same words from every command
    assert line.startswith(f"error: the journal at {path} is damaged (Page ")
    assert re.search(r"\(Page \d+: .+ and \d+ more\); nothing was signed or sent — ", line)
    assert "sochi archive reconcile" in line and len(line) < 230 + 3 * len(str(path))
    assert filed(op, "2022-04") == []  # nothing sent
    assert sorted(archive.rglob("*")) == objects  # nothing signed or archived
    as_json = json.loads(run_cli("--json", "batch", "list").stdout)["error"]
    assert as_json["code"] == "journal_damaged" and len(as_json["details"]["problems"]) > 1
    verbose = run_cli("-v", "batch", "list").stderr
    assert verbose.count("journal check: ") == len(as_json["details"]["problems"])

    # the recovery the message gives: move it aside, rebuild from the operator, go on
    path.rename(f"{path}.damaged")
    rebuilt = run_sochi("--json", "archive", "reconcile", "--period", "2022-03")
    assert rebuilt.code == 0, rebuilt.stderr
    assert len(json.loads(rebuilt.stdout)["recovered"]) == 20
    assert run_sochi("submit", str(tmp_path / "after"), "--no-wait").code == 0
    assert len(filed(op, "2022-04")) == 3


# 4 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["empty", "delete"])
def test_4_an_empty_or_missing_journal_beside_an_archive_fails_verification(
    op: Operator, tmp_path: Path, how: str
) -> None:
    period = {"empty": "2022-05", "delete": "2022-06"}[how]
    reports(tmp_path, 4, period)
    assert run_sochi("submit", str(tmp_path), "--no-wait").code == 0
    drop_journal(how)
    state = "empty" if how == "empty" else "missing"

    audit = run_sochi("audit", "verify")
    assert audit.code == 4
    assert f"the journal at {journal_path('sandbox')} is {state} but the archive" in audit.stderr
    verified = run_sochi("--json", "archive", "verify")
    assert verified.code == 4
    check = json.loads(verified.stdout)
    assert check["ok"] is False and check["checked"] == 0 and len(check["unindexed"]) >= 4 * 4
    assert "sochi archive reconcile" in check["problems"][0]
    listed = run_sochi("batch", "list")  # listing nothing says why there is nothing
    assert (
        listed.code == 0 and f"warning: the journal at {journal_path('sandbox')}" in listed.stderr
    )

    assert run_sochi("archive", "reconcile").code == 0
    assert run_sochi("archive", "verify").code == 0
    assert run_sochi("audit", "verify").code == 0


# 5 ----------------------------------------------------------------------------------------
def test_5_a_session_is_refreshed_only_when_its_tokens_can_be_saved(
    op: Operator, nobody: Nobody
) -> None:
    from datetime import timedelta

    env = logged_in(nobody, op)
    profile = nobody.home / "data" / "profiles" / "sandbox"
    session = profile / "session.json"
    before = session.read_bytes()
    later = (op.now + timedelta(minutes=20)).isoformat()
    op.control("PUT", "clock", {"now": later, "frozen": False})
    os.chmod(profile, 0o500)  # the data directory became read-only

    stuck = nobody.run("whoami", env=env)
    assert stuck.code == 10, stuck.stderr
    assert stuck.stderr == (
        f"error: the session's access token has expired and the new tokens could not be saved "
        f"to {session} (permission denied), so it was not refreshed — make the data directory "
        "writable (the session stays usable) or set SOCHI_DATA_DIR\n"
    )
    assert session.read_bytes() == before

    os.chmod(profile, 0o700)
    fine = nobody.run("whoami", env=env)  # the refresh token was not spent: still logged in
    assert fine.code == 0, fine.stderr
    assert session.read_bytes() != before
    assert stat.S_IMODE(session.stat().st_mode) == 0o600


# 6 ----------------------------------------------------------------------------------------
def test_6_a_rerun_after_the_journal_was_lost_records_filed_reports_as_filed(
    op: Operator, tmp_path: Path
) -> None:
    reports(tmp_path, 6, "2022-07")
    assert run_sochi("submit", str(tmp_path), "--no-wait").code == 0
    ids = {s["client_inn"]: s["id"] for s in filed(op, "2022-07")}
    drop_journal()
    # signed again in a later second the signatures differ (signingTime), so the operator
    # answers 409 idempotency_conflict rather than replaying the same bytes
    time.sleep(1.1)

    rerun = run_sochi("--json", "submit", str(tmp_path), "--no-wait")
    assert rerun.code == 0, rerun.stderr
    outcome = json.loads(rerun.stdout)
    assert outcome["already_filed"] == 6
    assert outcome["counts"] == {"accepted": 6}  # as the operator knows them now
    assert {i["client_inn"]: i["submission_id"] for i in outcome["items"]} == ids
    assert "is missing but the archive beside it holds" in " ".join(outcome["warnings"])
    assert len(filed(op, "2022-07")) == 6  # filed once
    superseded = json.loads(
        run_sochi("--json", "archive", "list", "--kind", "superseded_signature").stdout
    )
    assert len(superseded) == 6  # the new signatures are kept, marked as never filed
    assert run_sochi("archive", "verify").code == 0
    settled = json.loads(run_sochi("--json", "archive", "reconcile", "--period", "2022-07").stdout)
    assert settled["complete"] == 6 and settled["ok"] is True


# 7 ----------------------------------------------------------------------------------------
def test_7_a_manifest_whose_rows_are_all_bad_reports_every_row_with_its_field(
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "october.csv"
    manifest.write_text(
        "client,form,period,correction,file\n"
        "123,STI-077,2026-10,0,a.xml\n"
        "02010201910123,STI-077,2026-13,0,b.xml\n"
        "02010201910123,STI-077,2026-10,x,c.xml\n"
    )
    plain = run_sochi("submit", "--manifest", str(manifest), "--dry-run")
    assert plain.code == 2  # the rows name missing files: refused as missing paths are
    errors = [line for line in plain.stderr.splitlines() if line.startswith("error: ")]
    assert errors[:6] == [
        "error: october.csv:2: client: '123' is not a valid INN: an INN is 14 digits",
        "error: october.csv:2: file: 'a.xml': no such file",
        "error: october.csv:3: period: '2026-13' is not a period (YYYY-MM, YYYY-Qn or YYYY)",
        "error: october.csv:3: file: 'b.xml': no such file",
        "error: october.csv:4: correction: 'x' is not a whole number ≥ 0",
        "error: october.csv:4: file: 'c.xml': no such file",
    ]
    as_json = run_sochi("--json", "submit", "--manifest", str(manifest), "--dry-run")
    problems = json.loads(as_json.stdout)["error"]["details"]["problems"]
    assert [(p["where"], p["field"]) for p in problems] == [
        ("october.csv:2", "client"),
        ("october.csv:2", "file"),
        ("october.csv:3", "period"),
        ("october.csv:3", "file"),
        ("october.csv:4", "correction"),
        ("october.csv:4", "file"),
    ]
    lines = [f"error: {p['where']}: {p['field']}: {p['message']}" for p in problems]
    assert lines == errors[:6]


# 8 ----------------------------------------------------------------------------------------
def test_8_after_a_demo_run_every_file_is_0600_in_0700_folders(tmp_path: Path) -> None:
    from sochi_cli.sandbox.db import Database
    from sochi_cli.services.demo import run_demo

    workdir = tmp_path / "demo"
    workdir.mkdir()
    result = run_demo(say=lambda _line: None, workdir=workdir)
    assert result.ok, result.problems
    seen = {"file": 0, "dir": 0}
    loose = []
    # sochi's data, cache and config; the sandbox's data (its database holds the clients,
    # its folders the CA keys), the sample reports it wrote, the export and its zip
    trees = ["data", "cache", "config", "sandbox", "reports", "export"]
    assert {*trees, "sochi-demo-archive.zip"} <= {p.name for p in workdir.iterdir()}
    for folder, dirs, files in os.walk(workdir):
        for name in dirs if folder == str(workdir) else [".", *dirs]:
            mode = stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode)
            seen["dir"] += 1
            if mode != 0o700:
                loose.append((os.path.join(folder, name), oct(mode)))
        for name in files:
            mode = stat.S_IMODE(os.lstat(os.path.join(folder, name)).st_mode)
            seen["file"] += 1
            if mode & 0o077:
                loose.append((os.path.join(folder, name), oct(mode)))
    assert loose == []
    names = {p.name for p in (workdir / "cache").rglob("*")}
    assert {"clients.json", "chain.pem"} <= names  # the caches were really there
    assert (workdir / "sandbox" / "sandbox.db").is_file()
    assert seen["file"] > 20

    # a sandbox database an older sochi left 0644 is tightened when it is opened again
    old = workdir / "sandbox" / "sandbox.db"
    os.chmod(old, 0o644)
    Database(old).close()
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


# 9 ----------------------------------------------------------------------------------------
# Every command, by what it does to the data directory. Those that only read it run on a
# read-only copy (arguments: {out} a writable folder elsewhere, {inn} a client, {sub} a
# submission, {inbox} an inbox item, {report} a filed report beside its .p7s, {token} a
# SoftHSM token); the others say why they need to write. A new command must be put in one.
READS: dict[str, tuple[str, ...]] = {
    "account balance": (),
    "account charges": (),
    "account show": (),
    "account tariffs": (),
    "archive export": ("--out", "{out}/archive.zip"),
    "archive list": (),
    "archive verify": (),
    "audit head": (),
    "audit list": (),
    "audit verify": (),
    "backup": ("{out}/backup.zip",),
    "batch list": (),
    "batch report": ("last", "--out", "{out}/outcomes.csv"),
    "batch show": ("last",),
    "cert chain": (),
    "cert list": (),
    "cert show": (),
    "cert status": (),
    "clients list": (),
    "clients show": ("{inn}",),
    "config get": ("api_url",),
    "config list": (),
    "config path": (),
    "config profiles": (),
    "crl fetch": (),  # into the cache directory
    "crl show": (),
    "doctor": (),
    "due": (),
    "events": (),  # in a pipe: the cursor is left for `events --ack`
    "forms list": (),
    "forms show": ("STI-077",),
    "inbox list": (),
    "inbox show": ("{inbox}",),
    "poa list": (),
    "status": (),
    "submissions download": ("{sub}", "--out", "{out}/downloads"),
    "submissions list": (),
    "submissions receipts": ("{sub}",),
    "submissions show": ("{sub}",),
    "submit": ("{reports}", "--dry-run"),
    "support": (),
    "token keys": ("--pkcs11-lib", "{library}", "--token", "{token}"),
    "token list": ("--pkcs11-lib", "{library}"),
    "validate": ("{reports}",),
    "verify": ("{report}", "--signature", "{report}.p7s"),
    "whoami": (),  # the access token is fresh: nothing to save (expired: see test 5)
}
WRITES: dict[str, str] = {
    "access abroad": "files a request with the operator and records it",
    "account update": "changes the account at the operator and records it",
    "archive reconcile": "rebuilds the journal and the archive",
    "batch resume": "signs and sends, journaled",
    "cert renew": "changes the certificate at the operator, keeps the new one",
    "cert revoke": "changes the certificate at the operator",
    "clients add": "changes the clients at the operator, caches the list",
    "clients attach": "changes the clients at the operator, caches the list",
    "clients detach": "changes the clients at the operator, caches the list",
    "clients renew": "changes the clients at the operator, caches the list",
    "config set": "writes the configuration",
    "config unset": "writes the configuration",
    "demo": "runs a sandbox in folders of its own",
    "inbox ack": "sends a signed receipt and archives it",
    "inbox reply": "sends a signed reply and archives it",
    "login": "stores the session",
    "logout": "deletes the session",
    "restore": "puts a journal and an archive in place",
    "sandbox reset": "the sandbox's own data",
    "sandbox sample-reports": "writes report files",
    "sandbox seed": "the sandbox's own data",
    "sandbox serve": "the sandbox's own data",
    "sign": "writes FILE.p7s beside each file",
    "submit": "(without --dry-run) files reports, journaled",
    "token import": "writes to the token",
    "tui": "interactive; its screens call the services the commands above use",
}


def leaf_commands() -> set[str]:
    from sochi_cli.cli import root_group

    found: set[str] = set()

    def walk(command: Any, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if isinstance(subcommands, dict) and subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        else:
            found.add(" ".join(path))

    group = root_group()
    for name in list(group.commands):
        walk(group.real(name), [name])
    return found


def test_9_every_command_is_classed_as_reading_or_writing_the_data_directory() -> None:
    assert set(READS) | set(WRITES) == leaf_commands()
    assert set(READS) & set(WRITES) == {"submit"}  # the dry run reads, the real run writes


def test_9_inspection_works_on_a_read_only_copy_of_the_data_directory(
    op: Operator, tmp_path: Path, nobody: Nobody
) -> None:
    from tests.signing import softhsm

    reports(tmp_path, 3, "2022-08")
    assert run_sochi("submit", str(tmp_path), "--no-wait").code == 0
    (sub,) = [s["id"] for s in filed(op, "2022-08")][:1]
    (inbox, *_more) = [i["id"] for i in json.loads(run_cli("--json", "inbox", "list").stdout)]
    home = nobody.home
    assert run_cli("submissions", "download", sub, "--out", str(home / "filed")).code == 0
    (report,) = (home / "filed" / sub).glob("*.xml")
    reports(home / "reports", 2, "2022-09")
    conf = softhsm.write_config(home / "softhsm")
    softhsm.init_token(conf, "sochi-ro")
    (home / "out").mkdir()
    copy = home / "backup-copy"
    shutil.copytree(Path(os.environ["SOCHI_DATA_DIR"]), copy)
    key = home / "representative.p12"
    shutil.copyfile(op.rep["pkcs12"], key)
    key.chmod(0o600)
    nobody.give(home)
    for folder, dirs, files in os.walk(copy, topdown=False):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o400)
        os.chmod(folder, 0o500)
    before = sorted((str(p), p.stat().st_mtime_ns) for p in copy.rglob("*"))
    env = nobody.env(
        SOCHI_DATA_DIR=str(copy),
        SOCHI_API_URL=op.api,
        SOCHI_KEY_FILE=str(key),
        SOCHI_KEY_PASSPHRASE=op.facts["passphrase"],
        SOFTHSM2_CONF=str(conf),
        SOCHI_PIN=softhsm.PIN,
    )
    values = {
        "out": str(home / "out"),
        "inn": json.loads(run_cli("--json", "clients", "list").stdout)[0]["inn"],
        "sub": sub,
        "inbox": inbox,
        "reports": str(home / "reports"),
        "report": str(report),
        "library": str(softhsm.LIBRARY),
        "token": "sochi-ro",
    }
    commands = [
        [*name.split(), *(a.format(**values) for a in args)] for name, args in READS.items()
    ]
    results = dict(zip(READS, nobody.run_each(commands, env=env), strict=True))
    doctor = results.pop("doctor")  # it works, and finds what a filing here would meet:
    data_dir = f"setup.data_dir\tfail\tdata directory {copy}/profiles/sandbox is not writable"
    assert doctor.code == 10 and data_dir in doctor.stdout, doctor.stdout
    failed = {name: r.stderr.strip() for name, r in results.items() if r.code != 0}
    assert failed == {}
    assert "received" in results["batch show"].stdout
    recorded = "warning: not recorded in the audit log: cannot write the journal"
    assert recorded in results["backup"].stderr and recorded in results["archive export"].stderr
    restored = run_cli("restore", str(home / "out" / "backup.zip"), "--check")
    assert restored.code == 0, restored.stderr
    assert sorted((str(p), p.stat().st_mtime_ns) for p in copy.rglob("*")) == before
