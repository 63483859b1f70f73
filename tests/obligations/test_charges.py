"""`sochi account charges` against the demo seed with its history: a ledger read in time —
oldest first, the opening top-up before the first fee, every amount and balance in som as
a decimal string, each balance the one before plus the amount."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from tests.batch.operator import Operator
from tests.obligations.support import as_json


def test_charges_read_oldest_first_from_the_opening_top_up_in_som(op: Operator) -> None:
    code, charges = as_json("account", "charges")
    assert code == 0 and isinstance(charges, list) and len(charges) > 10
    ats = [c["at"] for c in charges]
    assert ats == sorted(ats)  # oldest first, the seed's history too
    opening = charges[0]
    assert opening["kind"] == "topup" and opening["description"] == "opening balance"
    assert opening["at"] < charges[1]["at"]  # not dated "now" after the fees it paid for
    for before, charge in pairwise(charges):
        assert isinstance(charge["amount"], str) and isinstance(charge["balance_after"], str)
        assert Decimal(before["balance_after"]) + Decimal(charge["amount"]) == Decimal(
            charge["balance_after"]
        )
    _, balance = as_json("account", "balance")
    assert charges[-1]["balance_after"] == balance["balance"]  # type: ignore[index]
    _, last_two = as_json("account", "charges", "--limit", "2")
    assert last_two == charges[-2:]  # --limit keeps the newest, still oldest first
