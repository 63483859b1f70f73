"""Exactly-once checks: the operator's submissions against the local journal."""

from __future__ import annotations

from sochi_cli.store.journal import Journal
from tests.batch.operator import Operator, access_token


def assert_filed_exactly_once(op: Operator, period: str, expected: int) -> None:
    """Every report of `period` filed once on the operator; the journal agrees, none in flight."""
    subs = op.submissions(access_token(), period)
    clients = [s["client_inn"] for s in subs]
    assert len(clients) == len(set(clients)), "a report was filed twice"
    assert len(subs) == expected, f"{len(subs)} of {expected} reports filed"
    journal = Journal.for_profile("sandbox")
    try:
        assert journal.integrity_check() == "ok"
        rows = journal.query(
            "SELECT submission_id, in_flight, state FROM items WHERE period = ?", (period,)
        )
    finally:
        journal.close()
    assert len(rows) == expected
    assert not any(r["in_flight"] for r in rows), "an item is still in flight"
    assert {r["state"] for r in rows} <= {"received", "delivered", "accepted"}
    assert {r["submission_id"] for r in rows} == {s["id"] for s in subs}
