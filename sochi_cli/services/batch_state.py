"""Resume rules of the batch engine: the next stage of each journaled item, a batch's verdict.

Pure functions over journal records, so the engine, `sochi batch show` and the tests agree
on what a crash left behind and what a rerun will do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sochi_cli.errors import ExitCode
from sochi_cli.store.journal import BatchStatus, Item, ItemState, Stage

_NEXT_AFTER_STATE: dict[str, Stage | None] = {
    ItemState.PLANNED: Stage.VALIDATE,
    ItemState.VALIDATED: Stage.SIGN,  # the batch-wide preflight runs before any signing
    ItemState.SIGNED: Stage.SEND,
    ItemState.RECEIVED: Stage.FOLLOW,
    ItemState.DELIVERED: Stage.FOLLOW,
    ItemState.ACCEPTED: None,
    ItemState.REJECTED: None,
    ItemState.INVALID: None,
    ItemState.FAILED: None,
}

# Never filed: invalid locally, or refused by the operator (a refusal stores nothing there,
# docs/api.md). A rerun checks them again and files them once the cause is gone.
NEVER_FILED = frozenset({ItemState.INVALID, ItemState.FAILED})


def next_stage(item: Item, *, wait: bool = True, recheck: bool = False) -> Stage | None:
    """The stage to run next for `item`, or None when there is nothing left to do.

    An item left in flight repeats the stage it was in: a send is repeated with the same
    idempotency key and the archived signature (the operator answers with the original
    submission if the first one arrived); a sign without a recorded signature signs again
    (nothing was sent). With `recheck` (what a rerun or resume does), an item never filed —
    `invalid`, or `failed` (refused by the operator) — is validated again: its cause may be
    gone (a renewed power of attorney, a top-up, a new certificate). Exactly once still holds:
    nothing is filed under its idempotency key, and a resend carries the same key.
    """
    if item.in_flight:
        stage = Stage(item.stage)
        if stage is Stage.SEND and item.signature_sha256 is None:
            return Stage.SIGN  # cannot happen through the engine; be safe, never send unsigned
        return stage
    if recheck and item.state in NEVER_FILED:
        return Stage.VALIDATE
    following = _NEXT_AFTER_STATE.get(item.state)
    if following is Stage.FOLLOW and not wait:
        return None
    return following


def must_sign_again(item: Item) -> bool:
    """Whether a never-filed item needs a new signature before it is sent again.

    The operator refused its signature (`signature_invalid`: a revoked or expired
    certificate, a signing time it did not accept), or it has none. Any other refusal
    (power of attorney, balance, …) leaves the archived signature good to resend.
    """
    return item.signature_sha256 is None or item.error_code == "signature_invalid"


def refused_when_sent(item: Item) -> bool:
    """Refused by the operator when it was sent (a signed report), not before signing."""
    return item.state == ItemState.FAILED and item.stage == Stage.SEND


def batch_verdict(
    counts: Mapping[str, int], *, wait: bool = True, sent_refusals: int = 0
) -> tuple[BatchStatus, ExitCode]:
    """Status and exit code of a batch that ran to its end, from its counts per item state
    (`sent_refusals`: how many of the `failed` ones the operator refused when sent).

    - every item accepted → done, 0;
    - nothing filed → `failed`, 4 when every item was invalid locally; `refused`, 6 when
      every item was refused before signing by the operator's terms (a power of attorney,
      from its client list) — the state of a run stopped before signing (balance,
      maintenance not waited for, `_record_failure`); else `failed`, 6: the operator refused
      signed reports when they were sent (e.g. their signatures), or invalid and refused
      ones are mixed;
    - something filed and something invalid, refused or rejected → partial, 8;
    - everything filed, some verdicts not in yet → pending verdicts: 0 when the run was not
      asked to wait for them (--no-wait), else 12 (--wait-timeout reached).
    """
    total = sum(counts.values())
    accepted = counts.get(ItemState.ACCEPTED, 0)
    pending = counts.get(ItemState.RECEIVED, 0) + counts.get(ItemState.DELIVERED, 0)
    invalid = counts.get(ItemState.INVALID, 0)
    refused = counts.get(ItemState.FAILED, 0)
    rejected = counts.get(ItemState.REJECTED, 0)
    filed = accepted + pending + rejected
    if total and accepted == total:
        return BatchStatus.DONE, ExitCode.OK
    if filed == 0:
        if total and invalid == total:
            return BatchStatus.FAILED, ExitCode.VALIDATION
        if total and refused == total and not sent_refusals:
            return BatchStatus.REFUSED, ExitCode.REFUSED
        return BatchStatus.FAILED, ExitCode.REFUSED
    if invalid + refused + rejected:
        return BatchStatus.PARTIAL, ExitCode.PARTIAL
    if filed == total:
        return BatchStatus.PENDING, ExitCode.PENDING if wait else ExitCode.OK
    return BatchStatus.INTERRUPTED, ExitCode.UNAVAILABLE  # items left unsent


def work_left(items: Iterable[Item], *, wait: bool = True, recheck: bool = False) -> int:
    """How many items a run would still do something for (`recheck`: a rerun's view)."""
    return sum(next_stage(item, wait=wait, recheck=recheck) is not None for item in items)


__all__ = [
    "NEVER_FILED",
    "batch_verdict",
    "must_sign_again",
    "next_stage",
    "refused_when_sent",
    "work_left",
]
