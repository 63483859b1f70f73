"""Resume rules: what a rerun does with each item the journal holds, and batch verdicts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sochi_cli.errors import ExitCode
from sochi_cli.services.batch_state import batch_verdict, must_sign_again, next_stage
from sochi_cli.store.journal import BatchStatus, Journal, Outcome, Stage
from tests.batch.factory import plan_item


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "j.sqlite3") as j:
        yield j


def fresh(journal: Journal, n: int = 0):
    started = journal.start_batch([plan_item(n)], profile="p", api_url="u", command="c")
    return journal.batch_items(started.batch.id)[0]


def test_items_walk_the_pipeline_in_order(journal: Journal) -> None:
    item = fresh(journal)
    assert next_stage(item) is Stage.VALIDATE
    for stage, state, following in (
        (Stage.VALIDATE, "validated", Stage.SIGN),
        (Stage.SIGN, "signed", Stage.SEND),
        (Stage.SEND, "received", Stage.FOLLOW),
        (Stage.FOLLOW, "delivered", Stage.FOLLOW),
        (Stage.FOLLOW, "accepted", None),
    ):
        journal.record_before(item.id, stage)
        journal.record_after(item.id, stage, Outcome(state=state, signature_sha256="ab" * 32))
        assert next_stage(journal.item(item.id)) is following


def test_a_send_interrupted_by_a_crash_is_sent_again(journal: Journal) -> None:
    item = fresh(journal)
    journal.record_after(item.id, Stage.SIGN, Outcome(state="signed", signature_sha256="ab" * 32))
    journal.record_before(item.id, Stage.SEND)
    assert next_stage(journal.item(item.id)) is Stage.SEND


def test_never_sends_without_a_recorded_signature(journal: Journal) -> None:
    item = fresh(journal)
    journal.record_before(item.id, Stage.SEND)
    assert next_stage(journal.item(item.id)) is Stage.SIGN


def test_no_wait_stops_after_the_receipt(journal: Journal) -> None:
    item = fresh(journal)
    journal.record_after(item.id, Stage.SEND, Outcome(state="received"))
    assert next_stage(journal.item(item.id), wait=False) is None


def test_items_never_filed_are_final_for_this_run_and_checked_again_by_a_rerun(
    journal: Journal,
) -> None:
    item = fresh(journal)
    journal.record_after(
        item.id, Stage.VALIDATE, Outcome(state="invalid", error_code="poa_expired")
    )
    invalid = journal.item(item.id)
    assert next_stage(invalid) is None and next_stage(invalid, recheck=True) is Stage.VALIDATE
    journal.record_after(item.id, Stage.SIGN, Outcome(state="signed", signature_sha256="ab" * 32))
    journal.record_after(
        item.id, Stage.SEND, Outcome(state="failed", error_code="balance_exhausted")
    )
    refused = journal.item(item.id)
    assert next_stage(refused) is None and next_stage(refused, recheck=True) is Stage.VALIDATE
    assert not must_sign_again(refused)  # the archived signature is resent with the same key
    journal.record_after(
        item.id, Stage.SEND, Outcome(state="failed", error_code="signature_invalid")
    )
    assert must_sign_again(journal.item(item.id))  # the operator refused the signature itself
    journal.record_after(item.id, Stage.VALIDATE, Outcome(state="validated", clear_signatures=True))
    again = journal.item(item.id)
    assert again.signature_sha256 is None and next_stage(again) is Stage.SIGN


def test_filed_items_are_never_checked_again(journal: Journal) -> None:
    item = fresh(journal)
    for state in ("received", "accepted", "rejected"):
        journal.record_after(item.id, Stage.FOLLOW, Outcome(state=state))
        assert next_stage(journal.item(item.id), recheck=True) in (Stage.FOLLOW, None)
    assert next_stage(journal.item(item.id), recheck=True) is None


@pytest.mark.parametrize(
    ("counts", "wait", "expected"),
    [
        ({"accepted": 3}, True, (BatchStatus.DONE, ExitCode.OK)),
        # filed, verdicts not in: pending; 0 when not asked to wait, 11 after --wait-timeout
        ({"accepted": 1, "received": 2}, False, (BatchStatus.PENDING, ExitCode.OK)),
        ({"accepted": 1, "received": 2}, True, (BatchStatus.PENDING, ExitCode.PENDING)),
        ({"accepted": 1, "received": 1, "rejected": 1}, True, (BatchStatus.PARTIAL, 8)),
        ({"accepted": 2, "rejected": 1}, True, (BatchStatus.PARTIAL, ExitCode.PARTIAL)),
        ({"accepted": 2, "failed": 1}, True, (BatchStatus.PARTIAL, ExitCode.PARTIAL)),
        ({"invalid": 2}, True, (BatchStatus.FAILED, ExitCode.VALIDATION)),
        # every report refused before signing by the operator's terms (a POA): refused, 6
        ({"failed": 2}, True, (BatchStatus.REFUSED, ExitCode.REFUSED)),
        ({"invalid": 1, "failed": 1}, True, (BatchStatus.FAILED, ExitCode.REFUSED)),
    ],
)
def test_batch_verdict(counts: dict[str, int], wait: bool, expected: tuple) -> None:
    assert batch_verdict(counts, wait=wait) == expected


def test_the_operator_refusing_signed_reports_fails_the_batch_not_refuses_it() -> None:
    # `refused` says the run stopped before signing; these were signed and sent (exit 6)
    verdict = batch_verdict({"failed": 2}, sent_refusals=1)
    assert verdict == (BatchStatus.FAILED, ExitCode.REFUSED)
