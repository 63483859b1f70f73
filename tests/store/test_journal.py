"""The journal: schema, batches, before/after transitions, idempotency keys, resume."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sochi_cli.errors import NotFound
from sochi_cli.store.journal import (
    SCHEMA_VERSION,
    BatchStatus,
    ItemState,
    Journal,
    Outcome,
    Stage,
    StorageError,
    idempotency_key,
    journal_path,
)
from tests.batch.factory import plan_item

KEY_INPUTS = {
    "profile": "sandbox",
    "api_url": "http://127.0.0.1:8788/api/v1",
    "client_inn": "02010201910123",
    "form": "STI-077",
    "period": "2026-10",
    "correction": 0,
    "file_sha256": "ab" * 32,
}


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    with Journal(tmp_path / "journal.sqlite3") as j:
        yield j


def start(journal: Journal, n: int, first: int = 0):
    items = [plan_item(first + i) for i in range(n)]
    return journal.start_batch(items, profile="sandbox", api_url="u", command="sochi submit x")


def test_journal_lives_per_profile_in_wal_mode_with_versioned_schema() -> None:
    path = journal_path("sandbox")
    with Journal.for_profile("sandbox") as journal:
        assert journal.path == path and path.name == "journal.sqlite3"
        assert journal.query("PRAGMA journal_mode")[0][0] == "wal"
        assert journal.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
        assert journal.query("PRAGMA busy_timeout")[0][0] >= 5000
    assert path.stat().st_mode & 0o777 == 0o600
    with Journal.for_profile("sandbox") as again:  # reopening migrates nothing
        assert again.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION


def test_read_commands_create_no_journal() -> None:
    assert Journal.existing("sandbox") is None
    assert not journal_path("sandbox").exists()


def test_refuses_a_journal_from_a_newer_sochi(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StorageError, match="newer than this sochi"):
        Journal(path)


def test_refuses_a_file_that_is_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StorageError, match="damaged or not a sochi journal"):
        Journal(path)


def test_batch_keeps_plan_order_and_starts_planned(journal: Journal) -> None:
    started = start(journal, 5)
    assert not started.resumed and started.batch.item_count == 5
    items = journal.batch_items(started.batch.id)
    assert [i.seq for i in items] == [1, 2, 3, 4, 5]
    assert [i.source_path for i in items] == [f"/reports/r{n}.xml" for n in range(5)]
    assert {i.state for i in items} == {ItemState.PLANNED}
    assert journal.state_counts(started.batch.id) == {"planned": 5}
    assert journal.batch(started.batch.id).status == BatchStatus.OPEN


def test_duplicate_items_in_a_plan_are_linked_once(journal: Journal) -> None:
    items = [plan_item(1), plan_item(1), plan_item(2)]
    started = journal.start_batch(items, profile="p", api_url="u", command="c")
    assert started.batch.item_count == 2


def test_rerun_of_an_unfinished_batch_resumes_it(journal: Journal) -> None:
    first = start(journal, 3)
    again = start(journal, 3)
    assert again.resumed and again.batch.id == first.batch.id
    assert again.batch.status == BatchStatus.RUNNING
    assert len(journal.batches()) == 1


def test_rerun_after_completion_links_the_filed_items_as_known(journal: Journal) -> None:
    first = start(journal, 2)
    item = journal.batch_items(first.batch.id)[0]
    journal.record_before(item.id, Stage.SEND)
    journal.record_after(item.id, Stage.SEND, Outcome(state="received", submission_id="sub_1"))
    journal.set_batch_status(first.batch.id, BatchStatus.DONE)
    second = start(journal, 3)
    assert not second.resumed and second.batch.id != first.batch.id
    members = journal.batch_items(second.batch.id)
    assert len(members) == 3
    assert second.known_item_ids == {m.id for m in members[:2]}
    assert members[0].submission_id == "sub_1"  # the same item, not a copy
    assert journal.query("SELECT COUNT(*) FROM items")[0][0] == 3


def test_item_is_in_flight_between_before_and_after(journal: Journal) -> None:
    batch = start(journal, 2).batch
    item = journal.batch_items(batch.id)[0]
    journal.record_before(item.id, Stage.SEND)
    in_flight = journal.in_flight(batch.id)
    assert [i.id for i in in_flight] == [item.id]
    assert in_flight[0].stage == "send" and in_flight[0].attempts == 1
    assert "started" in in_flight[0].stage_times["send"]
    journal.record_after(
        item.id,
        Stage.SEND,
        Outcome(state="received", submission_id="sub_9", receipt_ids=["rcp_1"], fee=2000),
    )
    done = journal.item(item.id)
    assert not done.in_flight and done.state == "received"
    assert done.submission_id == "sub_9" and done.receipt_ids == ["rcp_1"] and done.fee == 2000
    assert set(done.stage_times["send"]) == {"started", "finished"}
    assert journal.in_flight(batch.id) == []
    assert journal.find_by_key(item.idempotency_key) == done
    assert journal.find_by_submission("sub_9") == done


def test_resend_after_a_crash_counts_attempts_and_keeps_the_key(journal: Journal) -> None:
    item = journal.batch_items(start(journal, 1).batch.id)[0]
    journal.record_before(item.id, Stage.SEND)  # ...crash: no record_after
    journal.record_before(item.id, Stage.SEND)
    again = journal.item(item.id)
    assert again.attempts == 2 and again.idempotency_key == item.idempotency_key


def test_receipts_merge_and_errors_clear_on_success(journal: Journal) -> None:
    item = journal.batch_items(start(journal, 1).batch.id)[0]
    journal.record_after(
        item.id,
        Stage.SEND,
        Outcome(state="failed", error_code="balance_exhausted", error_message="top up"),
    )
    failed = journal.item(item.id)
    assert (failed.error_code, failed.error_message) == ("balance_exhausted", "top up")
    journal.record_after(item.id, Stage.SEND, Outcome(state="received", receipt_ids=["r1"]))
    journal.record_after(item.id, Stage.FOLLOW, Outcome(state="accepted", receipt_ids=["r1", "r2"]))
    final = journal.item(item.id)
    assert final.receipt_ids == ["r1", "r2"] and final.error_code is None and final.final


def test_signature_digest_is_recorded_for_identical_resends(journal: Journal) -> None:
    item = journal.batch_items(start(journal, 1).batch.id)[0]
    journal.record_before(item.id, Stage.SIGN)
    journal.record_after(
        item.id,
        Stage.SIGN,
        Outcome(state="signed", signature_sha256="cd" * 32, attachment_signatures=["ef" * 32]),
    )
    signed = journal.item(item.id)
    assert signed.signature_sha256 == "cd" * 32 and signed.attachment_signatures == ["ef" * 32]


def test_unknown_ids_are_not_found(journal: Journal) -> None:
    with pytest.raises(NotFound):
        journal.batch(42)
    with pytest.raises(NotFound):
        journal.record_before(42, Stage.SEND)
    with pytest.raises(NotFound):
        journal.record_after(42, Stage.SEND, Outcome(state="received"))
    with pytest.raises(ValueError):
        journal.record_before(1, "teleport")


def test_small_values_persist(journal: Journal) -> None:
    assert journal.get_value("events.cursor") is None
    journal.set_value("events.cursor", "41")
    journal.set_value("events.cursor", "42")
    assert journal.get_value("events.cursor") == "42"


def test_secrets_never_reach_the_batch_command(journal: Journal) -> None:
    from sochi_cli.logs import register_secret

    register_secret("123456-pin")
    started = journal.start_batch(
        [plan_item(1)], profile="p", api_url="u", command="sochi submit --pin 123456-pin x.xml"
    )
    assert "123456-pin" not in started.batch.command


def test_idempotency_key_is_stable_hex_within_the_operator_syntax() -> None:
    key = idempotency_key(**KEY_INPUTS)
    assert key == idempotency_key(**KEY_INPUTS)
    assert len(key) == 64 and all(c in "0123456789abcdef" for c in key)
    # golden value: the encoding is a contract (changing it would refile after an upgrade)
    assert key == "15ee66064d4513f1d1c98b5b023d7a7b4f317e11c2b6bcd7aedb779386a15259"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("profile", "production"),
        ("api_url", "https://sochi.dostek.kg/api/v1"),
        ("client_inn", "00203202010077"),
        ("form", "STI-081"),
        ("period", "2026-11"),
        ("correction", 1),
        ("file_sha256", "ac" * 32),
    ],
)
def test_idempotency_key_changes_with_every_input(field: str, value: object) -> None:
    assert idempotency_key(**{**KEY_INPUTS, field: value}) != idempotency_key(**KEY_INPUTS)


def test_idempotency_key_ignores_spelling_variants() -> None:
    variants = {
        **KEY_INPUTS,
        "api_url": KEY_INPUTS["api_url"] + "/",
        "form": "sti-077",
        "file_sha256": ("ab" * 32).upper(),
    }
    assert idempotency_key(**variants) == idempotency_key(**KEY_INPUTS)


def test_idempotency_key_fields_cannot_bleed_into_each_other() -> None:
    a = idempotency_key(**{**KEY_INPUTS, "profile": "a,b", "api_url": "c"})
    b = idempotency_key(**{**KEY_INPUTS, "profile": "a", "api_url": "b,c"})
    assert a != b
