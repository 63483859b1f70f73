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


def next_stage(item: Item, *, wait: bool = True) -> Stage | None:
    """The stage to run next for `item`, or None when there is nothing left to do.

    An item left in flight repeats the stage it was in: a send is repeated with the same
    idempotency key and the archived signature (the operator answers with the original
    submission if the first one arrived); a sign without a recorded signature signs again
    (nothing was sent). An item the operator refused when it was sent (`failed`) stays
    final: rerunning does not retry it unless the engine is asked to (`retry_failed`), since
    the cause usually needs a fix. One refused before signing by the operator's terms (an
    expired power of attorney) is checked again: the fix (`sochi clients renew`) is made at
    the operator, the report stays the same.
    """
    if item.state == ItemState.FAILED and item.signature_sha256 is None:
        return Stage.VALIDATE  # refused before signing (a POA): checked again, it may be fixed
    if item.in_flight:
        stage = Stage(item.stage)
        if stage is Stage.SEND and item.signature_sha256 is None:
            return Stage.SIGN  # cannot happen through the engine; be safe, never send unsigned
        return stage
    following = _NEXT_AFTER_STATE.get(item.state)
    if following is Stage.FOLLOW and not wait:
        return None
    return following


def retry_failed(item: Item) -> Stage | None:
    """For a refused item the user chose to retry (e.g. after a top-up): send it again."""
    if item.state != ItemState.FAILED:
        return next_stage(item)
    return Stage.SEND if item.signature_sha256 else Stage.VALIDATE


def batch_verdict(counts: Mapping[str, int], *, wait: bool = True) -> tuple[BatchStatus, ExitCode]:
    """Status and exit code of a batch that ran to its end, from its counts per item state.

    - every item accepted → done, 0;
    - nothing filed → failed, 4 when every item was invalid locally; refused, 6 when the
      operator refused them (failed, 6 for a mix of both);
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
        if total and refused == total:
            return BatchStatus.REFUSED, ExitCode.REFUSED
        return BatchStatus.FAILED, ExitCode.REFUSED
    if invalid + refused + rejected:
        return BatchStatus.PARTIAL, ExitCode.PARTIAL
    if filed == total:
        return BatchStatus.PENDING, ExitCode.PENDING if wait else ExitCode.OK
    return BatchStatus.INTERRUPTED, ExitCode.UNAVAILABLE  # items left unsent


def work_left(items: Iterable[Item], *, wait: bool = True) -> int:
    """How many items a rerun would still do something for."""
    return sum(next_stage(item, wait=wait) is not None for item in items)


__all__ = ["batch_verdict", "next_stage", "retry_failed", "work_left"]
