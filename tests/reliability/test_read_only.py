"""Read-only folders and unreadable files, as an unprivileged user (root reads and writes
everything): each command says in one line what it could not read or write, with the exit
code docs/cli.md gives it — 2 for an input, 10 for sochi's own files and `--out`, 3 for a
setting — and never "internal error"; nothing is half done (QA R1).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.batch.operator import Operator
from tests.reliability.test_fault_matrix import logged_in, reports
from tests.reliability.unprivileged import Nobody, unprivileged_user


@pytest.fixture
def nobody() -> Iterator[Nobody]:
    yield from unprivileged_user()


def _read_only(*folders: Path) -> None:
    for folder in folders:
        for inside, _dirs, files in os.walk(folder, topdown=False):
            for name in files:
                os.chmod(os.path.join(inside, name), 0o400)
            os.chmod(inside, 0o500)


def test_logout_and_the_events_cursor_leave_no_lie_behind(op: Operator, nobody: Nobody) -> None:
    env = logged_in(nobody, op)
    feed = nobody.run("--json", "events", "--from-start", env=env)
    assert feed.code == 0, feed.stderr
    cursor = json.loads(feed.stdout)["next_cursor"]
    profile = nobody.home / "data" / "profiles" / "sandbox"
    session = profile / "session.json"
    before = session.read_bytes()
    _read_only(profile)

    ack = nobody.run("events", "--ack", cursor, env=env)
    assert ack.code == 10, ack.stderr
    assert ack.stderr == (
        f"error: cannot write the events cursor at {profile}/events-cursor.json: permission "
        "denied (is the data directory writable?) — nothing was acknowledged, so the same "
        "events come again; make the data directory writable or set SOCHI_DATA_DIR\n"
    )
    out = nobody.run("--json", "logout", env=env)
    assert out.code == 10, out.stderr
    assert out.stderr == (
        f"error: cannot log out: the session's tokens at {session} cannot be deleted "
        "(permission denied); nothing was done, the session is still open — make the data "
        "directory writable or set SOCHI_DATA_DIR, then run `sochi logout` again\n"
    )
    assert json.loads(out.stdout)["error"]["code"] == "session_not_writable"
    assert session.read_bytes() == before

    os.chmod(profile, 0o700)
    os.chmod(session, 0o600)
    alive = nobody.run("whoami", env=env)  # not ended at the operator either
    assert alive.code == 0, alive.stderr
    assert nobody.run("logout", env=env).code == 0
    assert not session.exists()
    assert nobody.run("whoami", env=env).code == 5


def test_signatures_reports_config_and_caches_that_cannot_be_written(
    op: Operator, nobody: Nobody
) -> None:
    env = logged_in(nobody, op)
    (report,) = reports(nobody.home / "ro", 1, "2021-11")
    nobody.give(nobody.home / "ro")
    assert nobody.run("submit", str(report), "--no-wait", env=env).code == 0
    assert nobody.run("forms", "list", env=env).code == 0  # the caches exist
    config = nobody.home / "config" / "config.toml"
    settings = config.read_bytes()
    _read_only(nobody.home / "ro", nobody.home / "config", nobody.home / "cache")

    signed = nobody.run("sign", "ro/" + report.name, env=env)
    assert signed.code == 10, signed.stderr
    assert signed.stderr.splitlines()[-1] == (
        f"error: cannot write the signature at ro/{report.name}.p7s: permission denied "
        "(is its folder writable?) — choose another place"
    )
    assert "sign: sign" not in signed.stderr  # refused before the key was used
    outcomes = nobody.run("batch", "report", "last", "--out", "ro/outcomes.csv", env=env)
    assert outcomes.code == 10, outcomes.stderr
    assert outcomes.stderr.startswith("error: cannot write the report at ro/outcomes.csv: ")
    setting = nobody.run("config", "set", "timeout", "5", env=env)
    assert setting.code == 10, setting.stderr
    assert setting.stderr.startswith(f"error: cannot write the config file at {config}: ")
    assert config.read_bytes() == settings
    crl = nobody.run("crl", "fetch", env=env)
    assert crl.code == 10, crl.stderr
    assert "cannot write the CRL cache at" in crl.stderr and "SOCHI_CACHE_DIR" in crl.stderr
    forms = nobody.run("forms", "list", env=env)  # a cache only saves a call: a warning
    assert forms.code == 0, forms.stderr
    assert forms.stderr.startswith("warning: the form catalogue was not cached (permission")
    quiet = nobody.run("-q", "forms", "list", env=env)  # results and errors only
    assert (quiet.code, quiet.stderr) == (0, "")
    logged = nobody.run("config", "list", env={**env, "SOCHI_LOG_FILE": "ro/debug.log"})
    assert logged.code == 3
    assert logged.stderr.startswith("error: SOCHI_LOG_FILE=ro/debug.log: cannot write the ")


def test_unreadable_inputs_are_named_with_exit_2(op: Operator, nobody: Nobody) -> None:
    env = logged_in(nobody, op)
    (report,) = reports(nobody.home / "in", 1, "2021-12")
    secret = nobody.home / "pass.txt"
    secret.write_text(op.facts["passphrase"] + "\n")
    secret.chmod(0o600)
    nobody.give(nobody.home)
    key = Path(env["SOCHI_KEY_FILE"])
    key.chmod(0)
    no_key = nobody.run("sign", str(report), env=env)
    assert (no_key.code, no_key.stderr.splitlines()[-1]) == (
        2,
        f"error: {key}: cannot read the key file: permission denied",
    )
    key.chmod(0o600)
    secret.chmod(0)
    for path, line in (
        (secret, f"error: Invalid value for '--passphrase-file': path '{secret}' is not readable"),
        (Path("/etc"), "error: /etc: is a folder, not a key passphrase file"),  # not "chmod 600"
    ):
        result = nobody.run("sign", str(report), "--passphrase-file", str(path), env=env)
        assert result.code == 2, result.stderr
        assert result.stderr.splitlines()[-1].startswith(line), result.stderr


def test_a_read_only_home_never_gives_an_internal_error(op: Operator, nobody: Nobody) -> None:
    """A representative sweep: everything sochi keeps made read-only, the commands that
    read or write it; each ends with one `error:` line or works, and never exits 1."""
    env = logged_in(nobody, op)
    (report,) = reports(nobody.home / "in", 1, "2022-10")
    shutil.copyfile(report, nobody.home / "copy.xml")
    nobody.give(nobody.home)
    assert nobody.run("submit", str(report), "--no-wait", env=env).code == 0
    _read_only(nobody.home / "data", nobody.home / "cache", nobody.home / "config")
    commands = [  # those the other tests here do not run already
        ("events", "--from-start"),
        ("login",),
        ("submit", "copy.xml", "--no-wait"),
        ("batch", "show", "last"),
        ("clients", "list"),
        ("forms", "show", "STI-077"),
        ("validate", "copy.xml"),
        ("archive", "verify"),
        ("audit", "verify"),
        ("config", "unset", "timeout"),
    ]
    for args in commands:
        result = nobody.run(*args, env=env)
        assert result.code not in (1,), (args, result.stderr)
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr
        if result.code:
            assert result.stderr.splitlines()[-1].startswith("error: "), (args, result.stderr)
