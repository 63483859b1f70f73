"""`sochi demo`: the whole job end to end against a throwaway sandbox operator on loopback.

Starts `sochi sandbox serve --port 0 --seed demo --json` in a temporary data directory,
with temporary SOCHI_CONFIG_DIR/SOCHI_DATA_DIR/SOCHI_CACHE_DIR (the user's real profile is
never touched), shows what is due (`sochi due`: the demo seed's 12 clients with three
months of history), writes reports for 6 clients (one invalid, one whose power of attorney
has expired) plus one the agency rejects for a reason no local check sees, logs in with the
demo key, files the batch with `--wait`, shows what is due afterwards, verifies two
receipts with the clause-8 verifier, exports the archive and stops the sandbox. Every step
runs the real CLI in a subprocess, as a user would.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sochi_cli.errors import SochiError, Unavailable
from sochi_cli.store.files import atomic_write_text

STARTUP_TIMEOUT = 60.0
STEP_TIMEOUT = 120.0
DEMO_CLIENTS = 6
EXPECTED = {"accepted": 4, "invalid": 1, "failed": 1, "rejected": 1}  # failed: refused, POA

Say = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo did and whether every outcome was the expected one."""

    ok: bool = False
    api_url: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    verified_receipts: list[dict[str, Any]] = field(default_factory=list)
    archive: dict[str, Any] = field(default_factory=dict)
    expected_refusals: list[dict[str, Any]] = field(default_factory=list)
    obligations_before: dict[str, int] = field(default_factory=dict)
    obligations_after: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "api_url": self.api_url,
            "summary": self.summary,
            "verified_receipts": self.verified_receipts,
            "archive": self.archive,
            "expected_refusals": self.expected_refusals,
            "obligations_before": self.obligations_before,
            "obligations_after": self.obligations_after,
            "problems": self.problems,
            "seconds": round(self.seconds, 2),
        }


def _sochi(*args: str, env: dict[str, str], timeout: float = STEP_TIMEOUT) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "sochi_cli", *args],
        check=False,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _step_failed(what: str, code: int, stderr: str) -> SochiError:
    last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {code}"
    return SochiError(f"demo step failed: {what}: {last}", code="demo_failed")


@contextmanager
def sandbox_process(
    workdir: Path, env: dict[str, str], *, bulk_clients: int = 12
) -> Iterator[dict[str, Any]]:
    """`sochi sandbox serve` on 127.0.0.1:<free port>; stopped (SIGINT, then kill) on exit."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sochi_cli",
            "--json",
            "sandbox",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--seed",
            "demo",
            "--bulk-clients",
            str(bulk_clients),
            "--data-dir",
            str(workdir / "sandbox"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = _read_ready_line(proc)
        try:
            ready = json.loads(line)
        except ValueError:
            raise Unavailable(f"the sandbox did not start: {line.strip()[:200]}") from None
        yield ready
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _read_ready_line(proc: subprocess.Popen[str]) -> str:
    import selectors

    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise Unavailable(f"the sandbox exited at start: {err.strip()[-300:]}")
            if selector.select(timeout=0.2):
                line = proc.stdout.readline()
                if line:
                    return line
                proc.wait(timeout=10)
                err = proc.stderr.read() if proc.stderr else ""
                raise Unavailable(f"the sandbox exited at start: {err.strip()[-300:]}")
    finally:
        selector.close()
    raise Unavailable("the sandbox did not report ready within a minute")


def control(api_url: str, method: str, path: str, body: Any = None) -> Any:
    import httpx

    response = httpx.request(method, f"{api_url}/sandbox/{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json() if response.content else None


def outside_maintenance(api_url: str, say: Say) -> date:
    """Move the sandbox clock past a maintenance window active (or imminent) now; its date."""
    import httpx

    from sochi_cli.timeutil import BISHKEK, parse_instant

    status = httpx.get(f"{api_url}/status", timeout=30).json()
    now = parse_instant(status["server_time"])
    maintenance = status.get("maintenance") or {}
    window = maintenance.get("current") or maintenance.get("next")
    if window:
        starts, ends = parse_instant(window["starts_at"]), parse_instant(window["ends_at"])
        if starts <= now + timedelta(minutes=5) and ends > now:
            moved = ends + timedelta(minutes=1)
            control(api_url, "PUT", "clock", {"now": moved.isoformat(), "frozen": False})
            say(
                "the sandbox clock is inside the Friday maintenance window: moved it to "
                f"{moved.astimezone(BISHKEK):%Y-%m-%d %H:%M} Bishkek"
            )
            now = moved
    return now.astimezone(BISHKEK).date()


def _previous_month(today: date) -> str:
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def _write_reports(
    out: Path, facts: dict[str, Any], today: date, env: dict[str, str], data_dir: Path
) -> list[dict[str, Any]]:
    """6 STI-077 reports (4 good, 1 breaking a totals rule, 1 for the client whose POA
    expired) and 1 report the agency rejects (an STI-081 of a client who pays no sales tax).

    The sandbox's own generator (`sochi sandbox sample-reports`) writes six; the seventh is
    a copy of a good one re-addressed to the demo client whose power of attorney has expired.
    """
    period = _previous_month(today)
    code, _out, err = _sochi(
        "sandbox",
        "sample-reports",
        "--out",
        str(out),
        "--clients",
        str(DEMO_CLIENTS - 1),
        "--invalid",
        "1",
        "--rejected",
        "1",
        "--period",
        period,
        "--today",
        today.isoformat(),
        "--data-dir",
        str(data_dir),
        env=env,
    )
    if code != 0:
        raise _step_failed("sochi sandbox sample-reports", code, err)
    manifest = out / "samples.json"
    samples = json.loads(manifest.read_text())["expected"]
    manifest.unlink()

    def expected(sample: dict[str, Any]) -> str:
        if sample["broken"] in ("totals", "missing_field"):
            return f"invalid ({sample['broken']} broken, caught locally)"
        if sample["broken"]:
            return f"rejected by the agency ({sample['broken'].replace('_', ' ')})"
        return str(sample["expected"])

    rows = [
        {"file": s["file"], "client": s["client_inn"], "expected": expected(s)} for s in samples
    ]
    good = next(s for s in samples if not s["broken"] and s["form"] == "STI-077")
    expired_inn = facts["clients"]["expired_poa"][0]
    text = (out / good["file"]).read_text(encoding="utf-8")
    path = out / f"STI-077_{expired_inn}_{period}_0.xml"
    atomic_write_text(path, text.replace(good["client_inn"], expired_inn))  # 0600
    rows.append({"file": path.name, "client": expired_inn, "expected": "refused (POA expired)"})
    return rows


def run_demo(*, say: Say, keep: Path | None = None, workdir: Path | None = None) -> DemoResult:
    """Run the demo; `say` gets one line per step; `keep` receives the exported archive.

    `workdir` (an empty folder) is used instead of a temporary one and left in place, so
    what the demo wrote can be inspected afterwards (the privacy test walks it).
    """
    started = time.monotonic()
    result = DemoResult()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sochi-demo-")))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SOCHI_")},
            "SOCHI_CONFIG_DIR": str(workdir / "config"),
            "SOCHI_DATA_DIR": str(workdir / "data"),
            "SOCHI_CACHE_DIR": str(workdir / "cache"),
            "NO_COLOR": "1",
        }
        say("starting the sandbox operator on 127.0.0.1 (temporary data directory)…")
        with sandbox_process(workdir, env) as ready:
            api_url = str(ready["api_url"])
            result.api_url = api_url
            facts = json.loads((workdir / "sandbox" / "demo" / "demo.json").read_text())
            say(f"sandbox ready at {api_url}")
            today = outside_maintenance(api_url, say)
            control(
                api_url,
                "PUT",
                "agency",
                {"delivery_delay_seconds": 0.2, "verdict_delay_seconds": 0.5},
            )
            rep = facts["representative"]
            env.update(
                {
                    "SOCHI_API_URL": api_url,
                    "SOCHI_KEY_FILE": rep["pkcs12"],
                    "SOCHI_KEY_PASSPHRASE": facts["passphrase"],
                }
            )
            reports = workdir / "reports"
            rows = _write_reports(reports, facts, today, env, workdir / "sandbox")
            clients = len({row["client"] for row in rows})
            say(f"wrote {len(rows)} reports of {clients} clients in {reports}")
            for row in rows:
                say(f"  {row['file']}: expected {row['expected']}")
            code, _out, err = _sochi("login", env=env)
            if code != 0:
                raise _step_failed("sochi login", code, err)
            say(f"logged in as {rep['name']} (INN {rep['inn']}) with the demo key file")
            period = _previous_month(today)
            result.obligations_before = _due(env, period, say, "before filing")
            say("sochi submit reports/ --wait …")
            code, out, err = _sochi(
                "--json", "submit", str(reports), "--wait", "--wait-timeout", "60", env=env
            )
            if not out.strip():
                raise _step_failed("sochi submit", code, err)
            summary = json.loads(out)
            result.summary = summary
            counts = summary.get("counts", {})
            if counts != EXPECTED:
                result.problems.append(f"unexpected outcome {counts}, expected {EXPECTED}")
            result.expected_refusals = [
                {"client": i["client_inn"], "code": i["error_code"], "error": i["error"]}
                for i in summary.get("items", [])
                if i["state"] in ("invalid", "failed", "rejected")
            ]
            result.obligations_after = _due(env, period, say, "after filing")
            filed = result.obligations_after.get("accepted", 0) - result.obligations_before.get(
                "accepted", 0
            )
            if filed != EXPECTED["accepted"]:
                result.problems.append(
                    f"`sochi due` shows {filed} more accepted STI-077 {period}, expected "
                    f"{EXPECTED['accepted']}"
                )
            result.archive, result.verified_receipts = _export_and_verify(workdir, env, say)
            if keep is not None:
                from sochi_cli.store.files import make_private_dirs, own_file

                with own_file(keep, "demo archive"):
                    make_private_dirs(keep.parent)
                    shutil.copyfile(result.archive["zip"], keep)
                result.archive["kept"] = str(keep)
            say("stopping the sandbox")
        result.ok = not result.problems and len(result.verified_receipts) == 2
    result.seconds = time.monotonic() - started
    return result


def _due(env: dict[str, str], period: str, say: Say, when: str) -> dict[str, int]:
    """`sochi due --form STI-077 --period P` (all clients): counts per state, said."""
    code, out, err = _sochi("--json", "due", "--form", "STI-077", "--period", period, env=env)
    if code != 0 or not out.strip():
        raise _step_failed("sochi due", code, err)
    report = json.loads(out)
    counts: dict[str, int] = report["counts"]
    shown = ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))
    say(f"sochi due --form STI-077 --period {period} ({when}): {shown}")
    for item in report["obligations"]:
        if item["state"] in ("overdue", "missing", "rejected", "in_progress"):
            say(f"  {item['client_name']} ({item['client_inn']}): {item['state']}")
    return counts


def _export_and_verify(
    workdir: Path, env: dict[str, str], say: Say
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    import zipfile

    export_dir = workdir / "export"
    code, _out, err = _sochi("archive", "export", "--out", str(export_dir), env=env)
    if code != 0:
        raise _step_failed("sochi archive export", code, err)
    zip_path = workdir / "sochi-demo-archive.zip"
    code, _out, err = _sochi("archive", "export", "--out", str(zip_path), env=env)
    if code != 0:
        raise _step_failed("sochi archive export (zip)", code, err)
    with zipfile.ZipFile(zip_path) as archive:
        files = len(archive.namelist())
    say(f"exported the archive: {files} files ({zip_path.name})")
    verified = []
    for signature in sorted(export_dir.rglob("delivery-*.json.p7s"))[:2]:
        document = signature.with_suffix("")
        code, out, err = _sochi(
            "--json", "verify", str(document), "--signature", str(signature), env=env
        )
        report = json.loads(out) if out.strip() else {}
        stands = code == 0 and bool(report.get("stands"))
        verified.append(
            {"receipt": document.name, "stands": stands, "verdict": report.get("verdict")}
        )
        say(f"clause-8 check of receipt {document.name}: {report.get('verdict', err.strip())}")
    ok = [v for v in verified if v["stands"]]
    return {"zip": str(zip_path), "files": files, "directory": str(export_dir)}, ok


__all__ = ["DemoResult", "control", "outside_maintenance", "run_demo", "sandbox_process"]
