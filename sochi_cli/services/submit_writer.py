"""Group commit for the batch engine: one thread runs the journal work of all in-flight sends.

Each send awaits its own step (`JournalWriter.run`); steps queued while the thread is busy
go into the next group: their archive files are written, made durable with ONE sync, then
all their journal records are written in ONE transaction (one WAL fsync). A step's await
returns only after that commit, so "journaled before the remote step, journaled after it"
holds exactly as with one transaction per step; only the fsyncs are shared. Each step runs
under its own SAVEPOINT: a step that raises is rolled back alone and gets its exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from sochi_cli.store.archive import Archive
from sochi_cli.store.journal import Journal

T = TypeVar("T")
MAX_GROUP = 64  # steps per commit at most (bounded transaction size and latency)


@dataclass
class Step(Generic[T]):
    """One unit of journal work: `files()` outside the transaction, `commit()` inside it.

    `files` writes archive objects without syncing them and returns the paths written; the
    writer syncs all paths of a group once before any of its commits run.
    """

    commit: Callable[[], T]
    files: Callable[[], list[Path]] | None = None


@dataclass
class _Queued:
    step: Step[Any]
    future: asyncio.Future[Any]
    written: list[Path] = field(default_factory=list)
    error: BaseException | None = None
    result: Any = None


class JournalWriter:
    """The writer thread of one batch run; use as an async context manager."""

    def __init__(self, journal: Journal, archive: Archive) -> None:
        self.journal = journal
        self.archive = archive
        self._queue: queue.SimpleQueue[_Queued | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.groups = 0
        self.steps = 0

    async def __aenter__(self) -> JournalWriter:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._serve, name="sochi-journal", daemon=True)
        self._thread.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._queue.put(None)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    async def run(self, step: Step[T]) -> T:
        """Queue `step` and wait until it is committed (durably) or has failed."""
        assert self._loop is not None, "JournalWriter used outside `async with`"
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put(_Queued(step, future))
        return await future

    # the writer thread -----------------------------------------------------------------
    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self._run_group(group)
            if stop:
                return

    def _run_group(self, group: list[_Queued]) -> None:
        self.groups += 1
        self.steps += len(group)
        written: list[Path] = []
        for queued in group:
            if queued.step.files is None:
                continue
            try:
                queued.written = queued.step.files()
                written.extend(queued.written)
            except BaseException as exc:  # handed to the waiting coroutine
                queued.error = exc
        try:
            self.archive.sync(written)
            with self.journal.transaction() as db:
                for number, queued in enumerate(group):
                    if queued.error is None:
                        self._commit_one(db, number, queued)
        except BaseException as exc:  # the whole group failed to commit
            for queued in group:
                queued.error = queued.error or exc
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            self._loop.call_soon_threadsafe(_resolve, group)

    @staticmethod
    def _commit_one(db: Any, number: int, queued: _Queued) -> None:
        name = f"step{number}"
        db.execute(f"SAVEPOINT {name}")
        try:
            queued.result = queued.step.commit()
        except Exception as exc:  # this step alone is rolled back
            db.execute(f"ROLLBACK TO {name}")
            queued.error = exc
        db.execute(f"RELEASE {name}")


def _resolve(group: list[_Queued]) -> None:
    for queued in group:
        if queued.future.done():  # cancelled meanwhile
            continue
        if queued.error is not None:
            queued.future.set_exception(queued.error)
        else:
            queued.future.set_result(queued.result)


__all__ = ["MAX_GROUP", "JournalWriter", "Step"]
