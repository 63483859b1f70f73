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
    # a rejection leaves its number free: the fixed original is filed again as correction 0
    assert fixes["rejected"].startswith("fix body/vat_payable in the report (sochi validate")
    assert "under the same correction number 0: sochi submit" in fixes["rejected"]
    assert "--correction 0; protocol: sochi submissions show sub_x1" in fixes["rejected"]
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


def test_each_kind_of_rejection_says_what_fixes_it(tmp_path: Path) -> None:
    """The agency's register cannot be fixed by a correction; a figure can (filed again under
    the same number); a cross-checked figure may be wrong in either report."""
    reasons = {
        "register": "header/inn: the taxpayer is not registered as a sales tax payer "
        "(STI-081 does not apply)",
        "inactive": "header/inn: the taxpayer is inactive since 2026-09-01",
        "cross_check": "body/payroll: payroll 100.00 disagrees with contribution_base 90.00 "
        "of the accepted SF-001 2026-10 (sub_o)",
        "totals": "body/vat_payable: VAT payable must equal VAT charged minus VAT credit",
    }
    with Journal.for_profile("sandbox") as journal:
        batch, ids = _batch(journal, tmp_path, len(reasons), "r")
        for item_id, reason in zip(ids, reasons.values(), strict=True):
            journal.record_after(
                item_id,
                Stage.FOLLOW,
                Outcome(
                    ItemState.REJECTED,
                    error_code="rejected",
                    error_message=reason,
                    submission_id=f"sub_{item_id}",
                ),
            )
        journal.set_batch_status(batch, BatchStatus.PARTIAL)
    check = finding(run(None, "trouble"), "trouble.submissions")
    by_reason = {i["error_message"]: i for i in check.evidence["items"]}
    register, inactive, cross, totals = (by_reason[r] for r in reasons.values())
    for item in (register, inactive):
        assert item["rejection"] == "register"
        assert item["fix"].startswith("a correction cannot fix this: by the agency's taxpayer")
        assert f"sochi due --client {item['client_inn']}" in item["fix"]
        assert "sochi submit" not in item["fix"]
    assert cross["rejection"] == "cross_check"
    assert cross["fix"].startswith("body/payroll disagrees with another accepted report of")
    assert "correct whichever is wrong" in cross["fix"]
    assert totals["rejection"] == "figures"
    assert f"sochi submit {tmp_path / 'r-3.xml'} --correction 0" in totals["fix"]
    assert not any("correction 1" in i["fix"] for i in check.evidence["items"])
