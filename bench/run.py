"""`make bench`: run every bench/*.py, show their tables, collect their JSON in results.json."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    results: dict[str, object] = {}
    failed = []
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name not in {"run.py"} and not p.name.startswith("_")
    )
    with tempfile.TemporaryDirectory() as tmp:
        for script in scripts:
            print(f"\n== {script.name} ==", flush=True)
            out = Path(tmp) / f"{script.stem}.json"
            proc = subprocess.run([sys.executable, str(script), "--json", str(out)], check=False)
            if proc.returncode != 0 or not out.exists():
                failed.append(script.name)
                continue
            results[script.stem] = json.loads(out.read_text())
    target = HERE / "results.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {target}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
