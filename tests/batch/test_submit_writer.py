"""Group commit of the batch engine: each step durable before its caller resumes, failures alone."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from sochi_cli.errors import NotFound
from sochi_cli.services.submit_writer import JournalWriter, Step
from sochi_cli.store.archive import Archive, ObjectKind, Target
from sochi_cli.store.journal import Journal, Outcome, Stage
from tests.batch.factory import plan_item


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as j:
        yield j


def _item_ids(journal: Journal, count: int) -> list[int]:
    start = journal.start_batch(
        [plan_item(n) for n in range(count)], profile="sandbox", api_url="x", command="t"
    )
    return [i.id for i in journal.batch_items(start.batch.id)]


def _committed_states(path: Path) -> dict[int, tuple[str, int]]:
    """What another connection sees: only committed rows."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT id, stage, in_flight FROM items").fetchall()
    finally:
        db.close()
    return {int(r[0]): (str(r[1]), int(r[2])) for r in rows}


async def test_each_step_is_committed_before_its_caller_resumes(journal: Journal) -> None:
    ids = _item_ids(journal, 20)
    archive = Archive(journal)
    async with JournalWriter(journal, archive) as writer:

        async def before(item_id: int) -> None:
            await writer.run(Step(lambda: journal.record_before(item_id, Stage.SEND)))
            # the caller is back: the record must already be visible to another connection
            assert _committed_states(journal.path)[item_id] == (Stage.SEND, 1)

        await asyncio.gather(*(before(i) for i in ids))
    assert writer.steps == len(ids)
    assert writer.groups <= len(ids)


async def test_a_failing_step_is_rolled_back_alone(journal: Journal) -> None:
    ok_id, other_id = _item_ids(journal, 2)
    archive = Archive(journal)

    def half_then_fail() -> None:
        journal.record_before(other_id, Stage.SEND)
        journal.record_after(999_999, Stage.SEND, Outcome("received"))  # no such item

    async with JournalWriter(journal, archive) as writer:
        results = await asyncio.gather(
            writer.run(Step(lambda: journal.record_before(ok_id, Stage.SEND))),
            writer.run(Step(half_then_fail)),
            return_exceptions=True,
        )
    assert results[0] is None
    assert isinstance(results[1], NotFound)
    committed = _committed_states(journal.path)
    assert committed[ok_id] == (Stage.SEND, 1)
    assert committed[other_id][1] == 0  # its half-done write was rolled back


async def test_files_are_written_before_the_commit_that_indexes_them(journal: Journal) -> None:
    (item_id,) = _item_ids(journal, 1)
    archive = Archive(journal)
    blobs = [b"receipt", b"receipt signature"]
    shas: list[str] = []

    def files() -> list[Path]:
        digests, written = archive.write_unsynced(blobs)
        shas.extend(digests)
        return written

    def commit() -> None:
        for sha, data in zip(shas, blobs, strict=True):
            assert archive.object_path(sha).read_bytes() == data  # on disk (synced) already
            archive.index(sha, len(data), ObjectKind.RECEIPT, Target(item_id=item_id))

    async with JournalWriter(journal, archive) as writer:
        await writer.run(Step(commit, files=files))
    assert {e.sha256 for e in archive.entries(item_id=item_id)} == set(shas)
    assert archive.verify().ok
