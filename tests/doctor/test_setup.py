"""Doctor, setup group: config, profile, writable directories (as an unprivileged user),
journal integrity, audit chain, disk space — each failing and healthy. No network needed."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sochi_cli.errors import ExitCode
from tests.doctor.conftest import finding, result_of, run

NOBODY = 65534


def _config(text: str) -> Path:
    path = Path(os.environ["SOCHI_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_healthy_setup_is_all_ok() -> None:
    _config("[profiles.sandbox]\ntimeout = 20\n")
    report = run(None, "setup")
    assert {f.id: f.result.value for f in report.findings} == {
        "setup.config": "ok",
        "setup.profile": "ok",
        "setup.data_dir": "ok",
        "setup.cache_dir": "ok",
        "setup.journal": "ok",
        "setup.audit": "ok",
        "setup.disk": "ok",
    }
    assert report.exit_code == 0
    assert finding(report, "setup.profile").evidence["sources"]["timeout"] == "file"


def test_malformed_config_is_a_finding_with_its_line_and_the_rest_skips() -> None:
    path = _config("[profiles.sandbox]\ntimeout = = 3\n")
    report = run(None, "setup", "network", "signing")
    config = finding(report, "setup.config")
    assert config.result.value == "fail" and config.exit_code == ExitCode.CONFIG
    assert f"{path}:2" in config.summary and str(path) in (config.fix or "")
    assert result_of(report, "setup.profile") == "skipped"
    assert finding(report, "network.tcp").summary.startswith("the config must be fixed first")
    assert result_of(report, "signing.key") == "skipped"
    assert report.exit_code == ExitCode.CONFIG
    assert path.read_text() == "[profiles.sandbox]\ntimeout = = 3\n"  # never rewritten


def test_unknown_profile_names_the_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCHI_PROFILE", "firm")
    report = run(None, "setup")
    assert result_of(report, "setup.config") == "ok"
    profile = finding(report, "setup.profile")
    assert profile.result.value == "fail" and profile.exit_code == ExitCode.CONFIG
    assert "unknown profile 'firm'" in profile.summary and "sochi config set" in profile.fix


def test_unknown_config_keys_warn() -> None:
    _config("colour = 'blue'\n")
    report = run(None, "setup")
    config = finding(report, "setup.config")
    assert config.result.value == "warn" and "unknown key 'colour'" in config.summary
    assert report.exit_code == ExitCode.WARNINGS


# -- directories, as an unprivileged user -----------------------------------------------------


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A directory `nobody` can traverse (pytest's own tmp dirs are root-only)."""
    path = Path(tempfile.mkdtemp(prefix="sochi-doctor-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _as_nobody(groups: tuple[str, ...]) -> dict[str, object]:
    """Run the doctor in a child that dropped root (the interpreter stays loaded)."""
    from sochi_cli.services.diagnostics import DoctorOptions, run_doctor

    run_doctor(DoctorOptions(only=groups))  # warm every import while still root
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        status = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            data = run_doctor(DoctorOptions(only=groups)).to_json()
            os.write(write, json.dumps(data, default=str).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    chunks = []
    try:
        while select.select([read], [], [], 30)[0]:  # a stuck child is killed, not waited on
            chunk = os.read(read, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(read)
    _, status = os.waitpid(pid, 0)
    assert status == 0, "the unprivileged child failed"
    return json.loads(b"".join(chunks))  # type: ignore[no-any-return]


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to nobody needs root")
def test_unwritable_data_dir_fails_for_an_unprivileged_user(
    shared_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = shared_tmp / "data"  # root's, mode 0755: nobody may read but not write
    (data / "profiles" / "sandbox").mkdir(parents=True)
    for path in (data, data / "profiles", data / "profiles" / "sandbox"):
        path.chmod(0o755)
    cache = shared_tmp / "cache"
    cache.mkdir()
    os.chown(cache, NOBODY, NOBODY)
    monkeypatch.setenv("SOCHI_DATA_DIR", str(data))
    monkeypatch.setenv("SOCHI_CACHE_DIR", str(cache))
    monkeypatch.setenv("SOCHI_CONFIG_DIR", str(shared_tmp / "config"))
    _journal_with_records()  # root's, 0600 (sochi made its folders 0700 again: undo that)
    for path in (data, data / "profiles", data / "profiles" / "sandbox"):
        path.chmod(0o755)
    report = _as_nobody(("setup",))
    checks = {c["id"]: c for c in report["checks"]}  # type: ignore[union-attr]
    data_dir = checks["setup.data_dir"]
    assert data_dir["result"] == "fail" and data_dir["exit_code"] == ExitCode.STORAGE
    assert "Permission denied" in data_dir["summary"]
    assert "SOCHI_DATA_DIR" in data_dir["fix"]
    assert checks["setup.cache_dir"]["result"] == "ok"  # nobody owns the cache: writable
    journal = checks["setup.journal"]  # unreadable is not "damaged": no move-aside advice
    assert journal["result"] == "fail" and "cannot read the journal" in journal["summary"]
    assert "Permission denied" in journal["summary"] and "mv " not in journal["fix"]
    assert report["exit_code"] == ExitCode.STORAGE
    # the same directories are fine for root: the finding is about this user
    assert result_of(run(None, "setup"), "setup.data_dir") != "fail"


def test_data_dir_readable_by_others_warns() -> None:
    from sochi_cli.store import paths

    directory = paths.profile_data_dir("sandbox")
    directory.mkdir(parents=True)
    directory.chmod(0o755)
    data_dir = finding(run(None, "setup"), "setup.data_dir")
    assert data_dir.result.value == "warn" and data_dir.fix == f"chmod 700 {directory}"


# -- journal and audit chain ------------------------------------------------------------------


def _journal_with_records() -> Path:
    from sochi_cli.store.audit import AuditLog
    from sochi_cli.store.journal import Journal

    with Journal.for_profile("sandbox") as journal:
        audit = AuditLog(journal)
        for n in range(40):
            audit.append("test.action", {"n": n, "padding": "x" * 200})
        return journal.path


def test_healthy_journal_and_chain() -> None:
    _journal_with_records()
    report = run(None, "setup")
    assert result_of(report, "setup.journal") == "ok"
    audit = finding(report, "setup.audit")
    assert audit.result.value == "ok" and audit.evidence["records"] == 40


def test_damaged_journal_fails_with_the_move_aside_command() -> None:
    path = _journal_with_records()
    data = bytearray(path.read_bytes())
    data[4096:8192] = os.urandom(4096)  # a page of the b-tree overwritten
    path.write_bytes(bytes(data))
    report = run(None, "setup", "trouble")
    journal = finding(report, "setup.journal")
    assert journal.result.value == "fail" and journal.exit_code == ExitCode.STORAGE
    assert journal.fix.startswith(f"mv {path} {path}.damaged")
    assert result_of(report, "setup.audit") == "skipped"
    assert result_of(report, "trouble.batches") == "skipped"
    assert report.exit_code == ExitCode.STORAGE


def test_a_file_that_is_not_a_database_is_a_damaged_journal() -> None:
    from sochi_cli.store.journal import journal_path

    path = journal_path("sandbox")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not SQLite at all" * 100)
    journal = finding(run(None, "setup"), "setup.journal")
    assert journal.result.value == "fail" and "not a database" in journal.summary
    assert path.read_bytes().startswith(b"this is not SQLite")  # left as found


def test_tampered_audit_chain_fails() -> None:
    path = _journal_with_records()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE audit SET details = '{\"n\":99}' WHERE seq = 7")
    audit = finding(run(None, "setup"), "setup.audit")
    assert audit.result.value == "fail" and audit.evidence["broken_seq"] == 7
    assert audit.exit_code == ExitCode.VALIDATION and audit.fix.startswith("sochi audit verify")


# -- disk space ------------------------------------------------------------------------------


def test_disk_space(monkeypatch: pytest.MonkeyPatch) -> None:
    # Filling a real disk is not something a test should do: the free-space reading is
    # the one value replaced here.
    from sochi_cli.services import diagnostics_setup

    assert result_of(run(None, "setup"), "setup.disk") == "ok"
    usage = shutil.disk_usage("/")
    for free, expected in ((300 * 2**20, "warn"), (10 * 2**20, "fail")):
        fake = usage._replace(free=free)
        monkeypatch.setattr(diagnostics_setup.shutil, "disk_usage", lambda _p, f=fake: f)
        disk = finding(run(None, "setup"), "setup.disk")
        assert disk.result.value == expected, disk
    assert disk.exit_code == ExitCode.STORAGE and "df -h" in disk.fix
