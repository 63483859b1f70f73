"""Start-up cost: medians of `sochi --version`, `sochi --help`, `sochi COMMAND --help` and
the bare interpreter.

Targets: `--version` within 2x of `python -c pass` (issue 2); `sochi --help` <= 150 ms and
`sochi COMMAND --help` <= 200 ms (issue 12; measured on `submit`, the command with the most
options, and `cert status`, a sub-command).
Usage: python bench/startup.py [--runs N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _median_ms(argv: list[str], runs: int) -> float:
    subprocess.run(argv, capture_output=True, check=True)  # warm the page cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, stdin=subprocess.DEVNULL)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    py = sys.executable
    bare = _median_ms([py, "-c", "pass"], args.runs)
    version = _median_ms([py, "-m", "sochi_cli", "--version"], args.runs)
    help_ = _median_ms([py, "-m", "sochi_cli", "--help"], args.runs)
    submit_help = _median_ms([py, "-m", "sochi_cli", "submit", "--help"], args.runs)
    sub_help = _median_ms([py, "-m", "sochi_cli", "cert", "status", "--help"], args.runs)
    rows = [
        ("python -c pass", bare, 1.0, ""),
        ("sochi --version", version, version / bare, "target <= 2.0x bare"),
        ("sochi --help", help_, help_ / bare, "target <= 150 ms"),
        ("sochi submit --help", submit_help, submit_help / bare, "target <= 200 ms"),
        ("sochi cert status --help", sub_help, sub_help / bare, "target <= 200 ms"),
    ]
    print(f"{'startup (median of ' + str(args.runs) + ')':<28}{'ms':>8}{'x bare':>9}  note")
    for name, ms, ratio, note in rows:
        print(f"{name:<28}{ms:8.1f}{ratio:9.2f}  {note}")
    result = {
        "bench": "startup",
        "runs": args.runs,
        "python_pass_ms": round(bare, 2),
        "version_ms": round(version, 2),
        "help_ms": round(help_, 2),
        "command_help_ms": round(submit_help, 2),
        "subcommand_help_ms": round(sub_help, 2),
        "version_ratio": round(version / bare, 3),
        "help_ratio": round(help_ / bare, 3),
        "targets_met": version / bare <= 2.0 and help_ <= 150 and max(submit_help, sub_help) <= 200,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
