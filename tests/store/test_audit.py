"""The audit hash chain: appends, verification, and detection of every kind of tampering."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from sochi_cli.store.audit import GENESIS, Actor, AuditLog, record_hash
from sochi_cli.store.journal import Journal
from sochi_cli.timeutil import parse_instant


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    with Journal(tmp_path / "journal.sqlite3") as journal:
        log = AuditLog(journal)
        actor = Actor(inn="02010201910123", certificate_serial="1a2b", subject="CN=Test")
        for n in range(5):
            log.append("submit.send", {"item": n, "report_sha256": f"{n:064x}"}, actor=actor)
        yield log


def sql(audit: AuditLog, statement: str, *params: object) -> None:
    with audit.journal.transaction() as db:
        db.execute(statement, params)


def test_records_chain_from_genesis(audit: AuditLog) -> None:
    records = audit.records()
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS
    for prev, record in pairwise(records):
        assert record.prev_hash == prev.hash
    first = records[0]
    assert first.hash == record_hash(1, first.at, first.actor, first.action, first.details, GENESIS)
    assert first.actor["certificate_serial"] == "1a2b"
    result = audit.verify()
    assert result.ok and result.records == 5 and result.head_hash == records[-1].hash


def test_local_actions_name_the_local_user(audit: AuditLog) -> None:
    record = audit.append("archive.export", {"out": "/tmp/x.zip"})
    assert record.actor["local_user"] and record.actor["inn"] is None


def test_edited_record_is_named(audit: AuditLog) -> None:
    sql(audit, "UPDATE audit SET details = ? WHERE seq = 3", '{"item":99}')
    result = audit.verify()
    assert not result.ok and result.broken_seq == 3
    assert "does not match its hash" in (result.reason or "")


def test_edited_and_rehashed_record_breaks_the_next_link(audit: AuditLog) -> None:
    record = audit.records()[2]
    details = {"item": 99}
    new_hash = record_hash(3, record.at, record.actor, record.action, details, record.prev_hash)
    sql(audit, "UPDATE audit SET details = ?, hash = ? WHERE seq = 3", '{"item":99}', new_hash)
    result = audit.verify()
    assert not result.ok and result.broken_seq == 4


def test_deleted_record_is_named(audit: AuditLog) -> None:
    sql(audit, "DELETE FROM audit WHERE seq = 2")
    result = audit.verify()
    assert not result.ok and result.broken_seq == 2 and "missing" in (result.reason or "")


def test_reordered_records_are_detected(audit: AuditLog) -> None:
    sql(audit, "UPDATE audit SET seq = -2 WHERE seq = 2")
    sql(audit, "UPDATE audit SET seq = 2 WHERE seq = 4")
    sql(audit, "UPDATE audit SET seq = 4 WHERE seq = -2")
    result = audit.verify()
    assert not result.ok and result.broken_seq == 2


def test_truncated_tail_is_detected(audit: AuditLog) -> None:
    sql(audit, "DELETE FROM audit WHERE seq >= 4")
    result = audit.verify()
    assert not result.ok and result.broken_seq == 4 and "head" in (result.reason or "")


def test_secrets_never_reach_the_log(audit: AuditLog) -> None:
    from sochi_cli.logs import register_secret

    register_secret("s3cret-PIN-42")
    record = audit.append(
        "login",
        {"note": "pin was s3cret-PIN-42", "nested": ["token=abcdef", {"x": "s3cret-PIN-42"}]},
    )
    stored = audit.journal.query("SELECT details FROM audit WHERE seq = ?", (record.seq,))[0][0]
    assert "s3cret-PIN-42" not in stored and "abcdef" not in stored
    assert audit.verify().ok


def test_filter_by_action_prefix_and_time(audit: AuditLog) -> None:
    audit.append("archive.export", {})
    assert len(audit.records(action="submit")) == 5
    assert len(audit.records(action="archive.export")) == 1
    assert audit.records(since=parse_instant("2999-01-01")) == []
    assert len(audit.records(since=parse_instant("2000-01-01"))) == 6


def test_actor_from_a_certificate_names_serial_and_subject() -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Асан Усенов")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0xABC123)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    actor = Actor.from_certificate(cert, inn="21112198500412")
    assert actor.to_json() == {
        "inn": "21112198500412",
        "certificate_serial": "abc123",
        "subject": "CN=Асан Усенов",
    }


def test_every_commit_that_appends_rewrites_the_head_file(audit: AuditLog) -> None:
    from sochi_cli.store.audit import read_head_file

    stored, problem = read_head_file(audit.head_file)
    assert problem is None and stored == audit.head() and stored.seq == 5
    with audit.journal.transaction():  # two appends, one commit: the file follows the commit
        audit.append("a", {})
        audit.append("b", {})
        assert read_head_file(audit.head_file)[0] == stored
    assert read_head_file(audit.head_file)[0] == audit.head() and audit.head().seq == 7
    assert oct(audit.head_file.stat().st_mode & 0o777) == "0o600"


def test_a_cut_off_tail_is_caught_by_the_head_file_even_with_the_kv_head_gone(
    audit: AuditLog,
) -> None:
    sql(audit, "DELETE FROM audit WHERE seq >= 4")
    sql(audit, "DELETE FROM kv WHERE key = 'audit.head'")  # a careful editor removed it too
    result = audit.verify()
    assert not result.ok
    assert result.reason == (
        "the chain ends at record 3 but the head file names record 5: records were cut off "
        "or the journal was replaced"
    )


def test_a_head_kept_elsewhere_is_checked_with_or_without_its_seq(audit: AuditLog) -> None:
    kept = audit.head()
    audit.append("later", {})  # records after the kept head are fine
    assert audit.verify([kept.anchor]).ok and audit.verify([kept.hash]).ok
    assert audit.verify([kept.anchor]).anchors == (audit.head().anchor, kept.anchor)
    audit.head_file.unlink()  # without the head file, the kept head still catches a rewrite
    sql(audit, "DELETE FROM audit WHERE seq >= 5")
    sql(audit, "DELETE FROM kv WHERE key = 'audit.head'")
    assert audit.verify().ok and audit.verify().warnings  # (the missing head file is said)
    cut = audit.verify([kept.anchor])
    assert not cut.ok and "the given head names record 5" in (cut.reason or "")
    rewritten = audit.verify([f"3:{kept.hash}"])
    assert not rewritten.ok and "record 3 is not the one the given head names" in (
        rewritten.reason or ""
    )
    unknown = audit.verify(["ab" * 32])
    assert not unknown.ok and "no record has the hash" in (unknown.reason or "")


def test_a_bad_head_argument_is_a_usage_error(audit: AuditLog) -> None:
    from sochi_cli.errors import UsageError

    with pytest.raises(UsageError, match="not a head"):
        audit.verify(["5:xyz"])


def test_a_new_chain_beside_an_old_head_file_starts_by_naming_it(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.sqlite3") as journal:
        old = AuditLog(journal)
        for n in range(3):
            old.append("x", {"n": n})
        previous = old.head()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'journal.sqlite3'}{suffix}").unlink(missing_ok=True)
    with Journal(tmp_path / "journal.sqlite3") as journal:
        fresh = AuditLog(journal)
        assert not fresh.verify().ok  # an empty chain under a head file that names record 3
        fresh.append("batch.start", {})
        first, second = fresh.records()
        assert first.action == "audit.restart"
        assert first.details["previous_head"] == previous.anchor
        assert second.action == "batch.start" and fresh.verify().ok
