"""What checking the journal before trusting it costs, on a 100 000-item journal.

Every command that opens the journal runs SQLite's `PRAGMA quick_check` first
(`Journal(...)`, store/journal.py); `sochi doctor` may run the full `integrity_check`.
The journal is built as a busy firm's would look after years: 100 000 filed items, four
archive entries each (report, signature, receipt, protocol), an audit record per filing.
Measured: quick_check with the file in the page cache ("warm") and evicted from it
(posix_fadvise DONTNEED, "cold"); opening for writing and read-only when the file changed
since sochi last checked it (the scan runs) and when it is exactly as a checked run left it
(the stamp `journal.sqlite3.checked` matches: no scan); the full integrity_check.
Usage: python bench/integrity.py [--json PATH] [--items N] [--repeats N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sochi_cli.store.journal import Journal, check_integrity
from tests.batch.factory import plan_item

KINDS = ("report", "signature", "receipt", "protocol")


def build(path: Path, items: int) -> float:
    """A journal of `items` filed items with their archive index and audit records."""
    started = time.perf_counter()
    with Journal(path, synchronous="OFF") as journal:
        batch = journal.start_batch(
            [plan_item(n) for n in range(items)], profile="p", api_url="u", command="bench"
        ).batch
        now = "2026-11-01T00:00:00.000000Z"
        with journal.transaction() as db:
            db.execute(
                "UPDATE items SET state = 'accepted', submission_id = 'sub_' || id,"
                ' receipt_ids = \'["rcp_a", "rcp_b"]\', signature_sha256 = file_sha256'
            )
            rows = db.execute("SELECT id, client_inn, form, period FROM items").fetchall()
            for row in rows:
                for kind in KINDS:
                    sha = hashlib.sha256(f"{row['id']}-{kind}".encode()).hexdigest()
                    db.execute("INSERT INTO objects VALUES (?, ?, ?)", (sha, 2048, now))
                    db.execute(
                        "INSERT INTO archive_entries (sha256, kind, item_id, submission_id,"
                        " client_inn, form, period, correction, filename, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'report.xml', ?)",
                        (
                            sha,
                            kind,
                            row["id"],
                            f"sub_{row['id']}",
                            row["client_inn"],
                            row["form"],
                            row["period"],
                            now,
                        ),
                    )
                db.execute(
                    "INSERT INTO audit (seq, at, actor, action, details, prev_hash, hash)"
                    " VALUES (?, ?, '{}', 'submission.sent', ?, ?, ?)",
                    (
                        row["id"],
                        now,
                        json.dumps({"item": row["id"], "pad": "x" * 300}),
                        "0" * 64,
                        "1" * 64,
                    ),
                )
        assert batch.id == 1
    return time.perf_counter() - started


def evict(path: Path) -> None:
    """Drop the file's pages from the page cache (no privileges needed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def timed(
    action: Callable[[], object], repeats: int, before: Callable[[], None] | None = None
) -> list[float]:
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.sqlite3"
        built = build(path, args.items)
        size = path.stat().st_size

        def open_for_writing() -> None:
            Journal(path).close()

        def open_reader() -> None:
            Journal(path, readonly=True).close()

        def touched() -> None:
            os.utime(path)  # as a copy or an editor would: the stamp no longer matches

        def quick() -> None:
            assert check_integrity(path).ok

        def full() -> None:
            assert check_integrity(path, full=True).ok

        results = {
            "items": args.items,
            "journal_mib": size / 2**20,
            "build_s": built,
            "quick_check_warm_s": timed(quick, args.repeats),
            "quick_check_cold_s": timed(quick, args.repeats, before=lambda: evict(path)),
            "open_for_writing_changed_s": timed(open_for_writing, args.repeats, before=touched),
            "open_for_writing_unchanged_s": timed(open_for_writing, args.repeats),
            "open_read_only_changed_s": timed(open_reader, args.repeats, before=touched),
            "open_read_only_unchanged_s": timed(open_reader, args.repeats),
            "integrity_check_full_s": timed(full, 1),
        }
    rows = [
        ("journal", f"{args.items} items, {results['journal_mib']:.0f} MiB"),
        *(
            (name.removesuffix("_s").replace("_", " "), _ms(results[name]))
            for name in results
            if name.endswith("_s") and isinstance(results[name], list)
        ),
    ]
    for name, value in rows:
        print(f"{name:<34} {value}")
    if args.json:
        summary = {
            k: ({"best": min(v), "median": statistics.median(v)} if isinstance(v, list) else v)
            for k, v in results.items()
        }
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


def _ms(values: list[float]) -> str:
    return f"best {min(values) * 1000:.0f} ms, median {statistics.median(values) * 1000:.0f} ms"


if __name__ == "__main__":
    sys.exit(main())
