"""Journal, planning and archive throughput: what the batch engine's bookkeeping costs.

Measures start_batch for 5000 items, before+after stage transitions per second
(synchronous=FULL, the default, and NORMAL for comparison), planning speed and the
Python heap high-water mark for 1000 vs 5000 report files (flat = no contents kept),
and archive puts per second.
Usage: python bench/journal.py [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sochi_cli.services.plan import make_plan
from sochi_cli.store.archive import Archive, ObjectKind, Target
from sochi_cli.store.journal import Journal, Outcome, Stage
from tests.batch.factory import API_URL, INNS, plan_item, write_report


def transitions(root: Path, synchronous: str, n: int) -> dict[str, float]:
    with Journal(root / f"j-{synchronous}.sqlite3", synchronous=synchronous) as journal:
        items = [plan_item(i) for i in range(5000)]
        t0 = time.perf_counter()
        batch = journal.start_batch(items, profile="p", api_url="u", command="bench").batch
        created = time.perf_counter() - t0
        ids = [i.id for i in journal.batch_items(batch.id)][:n]
        t0 = time.perf_counter()
        for item_id in ids:
            journal.record_before(item_id, Stage.SEND)
            journal.record_after(
                item_id, Stage.SEND, Outcome(state="received", submission_id=f"s{item_id}")
            )
        elapsed = time.perf_counter() - t0
    return {
        "start_batch_5000_s": created,
        "transitions_per_s": 2 * n / elapsed,
        "items_per_s": n / elapsed,
    }


def planning(root: Path, count: int) -> dict[str, float]:
    folder = root / f"plan{count}"
    for n in range(count):
        write_report(folder, f"r{n:05}.xml", inn=INNS[n % 6], period=f"{1000 + n}-01")
    tracemalloc.start()
    t0 = time.perf_counter()
    plan = make_plan([str(folder)], profile="p", api_url=API_URL)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert plan.ok and len(plan.items) == count
    return {
        "files_per_s": count / elapsed,
        "heap_peak_mib": peak / 2**20,
        "heap_per_item_bytes": peak / count,
    }


def archive_puts(root: Path, n: int) -> float:
    with Journal(root / "a.sqlite3") as journal:
        archive = Archive(journal)
        t0 = time.perf_counter()
        for i in range(n):
            archive.put_bytes(
                f"<report>{i}</report>".encode() * 100,
                ObjectKind.REPORT,
                Target(client_inn=INNS[0], form="STI-077", period="2026-10"),
            )
        return n / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        full = transitions(root, "FULL", 2000)
        normal = transitions(root, "NORMAL", 2000)
        plan_small = planning(root, 1000)
        plan_large = planning(root, 5000)
        puts = archive_puts(root, 1000)
    rows = [
        ("start_batch, 5000 items (FULL)", f"{full['start_batch_5000_s'] * 1000:.0f} ms"),
        ("before+after transitions/s (FULL)", f"{full['transitions_per_s']:.0f}"),
        ("before+after transitions/s (NORMAL)", f"{normal['transitions_per_s']:.0f}"),
        ("plan files/s (1000 files)", f"{plan_small['files_per_s']:.0f}"),
        (
            "plan heap peak 1000 / 5000 files",
            f"{plan_small['heap_peak_mib']:.1f} / {plan_large['heap_peak_mib']:.1f} MiB",
        ),
        ("archive puts/s (2 KiB objects, fsynced)", f"{puts:.0f}"),
    ]
    for name, value in rows:
        print(f"{name:<42} {value}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "full": full,
                    "normal": normal,
                    "plan_1000": plan_small,
                    "plan_5000": plan_large,
                    "archive_puts_per_s": puts,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
