"""Doctor, recent trouble: the journal's refused, rejected and invalid items with their fixes,
interrupted batches with the resume command, a batch running now."""

from __future__ import annotations

from pathlib import Path

from sochi_cli.errors import ExitCode
from sochi_cli.store.journal import BatchStatus, ItemState, Journal, Outcome, Stage
from tests.doctor.conftest import PlannedFile, PlannedItem, finding, result_of, run


def _batch(journal: Journal, tmp_path: Path, n: int, tag: str) -> tuple[int, list[int]]:
    items = [
        PlannedItem(
            f"{tag}-{i}",
            PlannedFile(tmp_path / f"{tag}-{i}.xml", f"{i:064x}"),
            f"0201020191{i:04d}",
        )
        for i in range(n)
    ]
    start = journal.start_batch(
        items, profile="sandbox", api_url="http://x", command="sochi submit"
    )
    ids = [i.id for i in journal.batch_items(start.batch.id)]
    return start.batch.id, ids


def test_nothing_to_report_without_a_journal() -> None:
    report = run(None, "trouble")
    assert result_of(report, "trouble.submissions") == "ok"
    assert finding(report, "trouble.batches").summary == "no batches yet"
    assert report.exit_code == 0


def test_failed_rejected_and_invalid_items_with_their_fixes(tmp_path: Path) -> None:
    with Journal.for_profile("sandbox") as journal:
        batch, (refused, rejected, invalid, fine) = _batch(journal, tmp_path, 4, "a")
        journal.record_after(
            refused,
            Stage.SEND,
            Outcome(ItemState.FAILED, error_code="balance_exhausted", error_message="no money"),
        )
        journal.record_after(
            rejected,
            Stage.FOLLOW,
            Outcome(
                ItemState.REJECTED,
                error_code="rejected",
                error_message="body/vat_payable: totals differ (expected 10.00, found 99.00)",
                submission_id="sub_x1",
            ),
        )
        journal.record_after(
            invalid, Stage.VALIDATE, Outcome(ItemState.INVALID, error_code="validation_failed")
        )
        journal.record_after(fine, Stage.FOLLOW, Outcome(ItemState.ACCEPTED))
        journal.set_batch_status(batch, BatchStatus.PARTIAL)
    report = run(None, "trouble")
    check = finding(report, "trouble.submissions")
    assert check.result.value == "warn" and check.evidence["count"] == 3
    assert report.exit_code == ExitCode.WARNINGS
    fixes = {i["state"]: i["fix"] for i in check.evidence["items"]}
    assert fixes["failed"].startswith("top up the personal account")
    assert (
        "correction 1" in fixes["rejected"] and "sochi submissions show sub_x1" in fixes["rejected"]
    )
    assert fixes["invalid"] == f"sochi validate {tmp_path / 'a-2.xml'}"
    assert result_of(report, "trouble.batches") == "ok"  # partial is finished, not interrupted


def test_interrupted_batch_names_the_resume_command(tmp_path: Path) -> None:
    with Journal.for_profile("sandbox") as journal:
        batch, ids = _batch(journal, tmp_path, 3, "b")
        journal.record_before(ids[0], Stage.SEND)  # killed while sending
        journal.set_batch_status(batch, BatchStatus.RUNNING)
        check = finding(run(None, "trouble"), "trouble.batches")
        assert check.result.value == "warn" and check.fix == f"sochi batch resume {batch}"
        assert check.evidence["unfinished"][0]["in_flight"] == 1
        with journal.writer_lock():  # a sochi process is on it right now
            check = finding(run(None, "trouble"), "trouble.batches")
        assert check.result.value == "ok" and "is running now" in check.summary
