"""Batch engine benchmark: reports through the full `sochi submit` pipeline vs a bare httpx floor.

Against a real sandbox (`sochi sandbox serve`, its own process) on 127.0.0.1, file signer:
- pipeline: `sochi --json submit DIR --no-wait --concurrency C` as a subprocess (plan,
  validate, preflight, sign, journal, archive, send, receipts, audit): reports/s, p50/p95 of
  each item's send (journal before → after), peak RSS of the submitting process;
- floor: a minimal httpx.AsyncClient loop posting the same kind of pre-signed payloads
  (fresh reports, signed beforehand, read from disk) with the same concurrency, ALSO as a
  child process timed from spawn to exit: start-up (interpreter, imports) is counted on both
  sides, and both report their process CPU time (user + system) per item;
- memory: peak RSS at a small and a large batch (default 200 vs 1000; `--full`: 1000 vs 5000).

    python bench/batch.py [--items 1000] [--full] [--concurrency 16] [--repeats 3] [--json F]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _sochi(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sochi_cli", *args],
        check=False,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def _timed_submit(reports: Path, env: dict[str, str], concurrency: int) -> dict[str, Any]:
    """Run the pipeline in a child; wall time and the child's own peak RSS (os.wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sochi_cli",
            "--json",
            "submit",
            str(reports),
            "--no-wait",
            "--concurrency",
            str(concurrency),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"submit failed ({proc.returncode}): {err.decode()[-500:]}")
    result = json.loads(out)
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "result": result,
    }


def _send_latencies(data_dir: Path, period: str) -> list[float]:
    from datetime import datetime

    db = sqlite3.connect(data_dir / "profiles" / "sandbox" / "journal.sqlite3")
    rows = db.execute("SELECT stage_times FROM items WHERE period = ?", (period,)).fetchall()
    db.close()
    out = []
    for (raw,) in rows:
        send = json.loads(raw).get("send", {})
        if "started" in send and "finished" in send:
            start = datetime.fromisoformat(send["started"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(send["finished"].replace("Z", "+00:00"))
            out.append((end - start).total_seconds())
    return out


def _presign(reports: Path, facts: dict[str, Any]) -> Path:
    """Sign every report of `reports` beforehand: NAME.xml.p7s beside each NAME.xml."""
    from sochi_cli.cms import sign_detached_many
    from sochi_cli.token.file import KeySigner

    rep = facts["representative"]
    signer = KeySigner.from_pkcs12(Path(rep["pkcs12"]), facts["passphrase"].encode())
    files = sorted(reports.glob("*.xml"))
    with signer:
        signatures = sign_detached_many([f.read_bytes() for f in files], signer)
    for f, sig in zip(files, signatures, strict=True):
        f.with_name(f.name + ".p7s").write_bytes(sig)
    return reports


def _timed_floor(reports: Path, api_url: str, token: str, concurrency: int) -> dict[str, Any]:
    """The floor in a child process (this script with --floor-child): wall and CPU time."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--floor-child", str(reports)],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={
            **os.environ,
            "SOCHI_BENCH_API": api_url,
            "SOCHI_BENCH_TOKEN": token,
            "SOCHI_BENCH_CONCURRENCY": str(concurrency),
        },
    )
    err = proc.stderr.read() if proc.stderr else b""
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"floor failed: {err.decode()[-500:]}")
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime}


def _floor_child(reports: Path) -> int:
    """The floor itself: read the pre-signed reports, post them all, exit."""
    files = sorted(reports.glob("*.xml"))
    payloads = [
        (f.name.split("_")[1], f.name.split("_")[2], f.read_bytes(), f.with_name(f.name + ".p7s"))
        for f in files
    ]
    asyncio.run(
        _floor(
            os.environ["SOCHI_BENCH_API"],
            os.environ["SOCHI_BENCH_TOKEN"],
            [(inn, period, body, sig.read_bytes()) for inn, period, body, sig in payloads],
            int(os.environ["SOCHI_BENCH_CONCURRENCY"]),
        )
    )
    return 0


async def _floor(
    api_url: str, token: str, payloads: list[tuple[str, str, bytes, bytes]], concurrency: int
) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency)
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=api_url + "/", limits=limits, timeout=60) as client:

        async def post(inn: str, period: str, body: bytes, sig: bytes) -> None:
            meta = {"client_inn": inn, "form": "STI-077", "period": period, "correction": 0}
            files = [
                ("meta", ("meta.json", json.dumps(meta).encode(), "application/json")),
                ("report", ("report.xml", body, "application/xml")),
                ("signature", ("report.p7s", sig, "application/pkcs7-signature")),
            ]
            async with semaphore:
                response = await client.post(
                    "submissions",
                    files=files,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": uuid.uuid4().hex,
                    },
                )
            if response.status_code != 201:
                raise SystemExit(f"floor post failed: {response.status_code} {response.text}")

        started = time.perf_counter()
        await asyncio.gather(*(post(*p) for p in payloads))
        return time.perf_counter() - started


SOFTHSM_LIBRARY = Path("/usr/lib/softhsm/libsofthsm2.so")


def _softhsm_env(work: Path, facts: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """A throwaway SoftHSM2 token holding the demo representative's key and certificate."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    from sochi_cli.token import pkcs11 as p11

    directory = work / "softhsm"
    (directory / "tokens").mkdir(parents=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nlog.level = ERROR\n")
    hsm_env = {**env, "SOFTHSM2_CONF": str(conf)}
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "sochi-bench",
            "--so-pin",
            "87654321",
            "--pin",
            "1234",
        ],
        check=True,
        capture_output=True,
        env=hsm_env,
    )
    rep = facts["representative"]
    key, cert, chain = pkcs12.load_key_and_certificates(
        Path(rep["pkcs12"]).read_bytes(), facts["passphrase"].encode()
    )
    assert key is not None and cert is not None
    os.environ["SOFTHSM2_CONF"] = str(conf)
    p11.import_pkcs12(
        library=SOFTHSM_LIBRARY,
        token="sochi-bench",
        pin="1234",
        private_key=key,
        certificate=cert,
        chain=list(chain or []),
        key_id=b"\x01",
        label="signing key",
    )
    pin_file = directory / "pin"
    pin_file.write_text("1234")
    pin_file.chmod(0o600)
    hsm_env.pop("SOCHI_KEY_FILE", None)  # no silent fallback to the file signer
    hsm_env.pop("SOCHI_KEY_PASSPHRASE", None)
    return {
        **hsm_env,
        "SOCHI_SIGNER": "pkcs11",
        "SOCHI_PKCS11_LIB": str(SOFTHSM_LIBRARY),
        "SOCHI_TOKEN_LABEL": "sochi-bench",
        "SOCHI_PIN": "1234",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--full", action="store_true", help="memory check at 1000 vs 5000 items")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="best of N alternated runs")
    parser.add_argument("--no-softhsm", action="store_true", help="skip the SoftHSM2 run")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--floor-child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_child is not None:
        return _floor_child(args.floor_child)

    from sochi_cli.sandbox.samples import write_samples
    from sochi_cli.services.demo import control, outside_maintenance, sandbox_process
    from sochi_cli.services.session import FileTokens

    small, large = (1000, 5000) if args.full else (200, args.items)
    clients = max(args.items, large)
    with tempfile.TemporaryDirectory(prefix="sochi-bench-") as raw:
        work = Path(raw)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SOCHI_")},
            "SOCHI_CONFIG_DIR": str(work / "config"),
            "SOCHI_DATA_DIR": str(work / "data"),
            "SOCHI_CACHE_DIR": str(work / "cache"),
        }
        with sandbox_process(work, env, bulk_clients=clients) as ready:
            api = str(ready["api_url"])
            facts = json.loads((work / "sandbox" / "demo" / "demo.json").read_text())
            today = outside_maintenance(api, lambda _line: None)
            control(
                api, "PUT", "balance", {"inn": facts["representative"]["inn"], "balance": 10**12}
            )
            control(api, "PUT", "limits", {"requests_per_second": 10**6, "burst": 10**6})
            env.update(
                {
                    "SOCHI_API_URL": api,
                    "SOCHI_KEY_FILE": facts["representative"]["pkcs12"],
                    "SOCHI_KEY_PASSPHRASE": facts["passphrase"],
                }
            )
            login = _sochi("login", env=env)
            if login.returncode != 0:
                raise SystemExit(login.stderr)

            def batch(period: str, count: int) -> Path:
                out = work / f"reports-{period}"
                write_samples(out, clients=count, period=period, today=today)
                (out / "samples.json").unlink()
                return out

            # warm-up (imports, caches, form schema) on a handful of reports
            _timed_submit(batch("2020-01", 5), env, args.concurrency)
            os.environ.update({k: env[k] for k in ("SOCHI_CONFIG_DIR", "SOCHI_DATA_DIR")})
            token = FileTokens("sandbox", api).access_token() or ""
            # alternate pipeline and floor runs (the machine may be shared): keep the best
            runs, floors = [], []
            for repeat in range(args.repeats):
                period = f"2021-{repeat + 1:02d}"
                run = _timed_submit(batch(period, args.items), env, args.concurrency)
                run["latencies"] = _send_latencies(work / "data", period)
                runs.append(run)
                presigned = _presign(batch(f"2022-{repeat + 1:02d}", args.items), facts)
                floors.append(_timed_floor(presigned, api, token, args.concurrency))
            softhsm: dict[str, Any] = {"measured": False}
            if SOFTHSM_LIBRARY.is_file() and not args.no_softhsm:
                try:
                    hsm_env = _softhsm_env(work, facts, env)
                    hsm = _timed_submit(batch("2024-01", args.items), hsm_env, args.concurrency)
                    softhsm = {
                        "measured": True,
                        "seconds": round(hsm["seconds"], 2),
                        "reports_per_s": round(args.items / hsm["seconds"], 1),
                        "peak_rss_mib": round(hsm["peak_rss_mib"], 1),
                    }
                except (OSError, subprocess.SubprocessError, SystemExit, ValueError) as exc:
                    softhsm = {"measured": False, "error": str(exc)[-300:]}
            pipeline = min(runs, key=lambda r: float(r["seconds"]))
            latencies = pipeline["latencies"]
            floor = min(floors, key=lambda f: float(f["seconds"]))
            floor_seconds = float(floor["seconds"])
            # memory flat in batch size
            mem_small = _timed_submit(batch("2023-01", small), env, args.concurrency)
            mem_large = (
                max(runs, key=lambda r: float(r["peak_rss_mib"]))
                if large == args.items
                else _timed_submit(batch("2023-02", large), env, args.concurrency)
            )

    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    pipeline_rate = args.items / pipeline["seconds"]
    floor_rate = args.items / floor_seconds
    results = {
        "items": args.items,
        "concurrency": args.concurrency,
        "signer": "file",
        "repeats": args.repeats,
        "pipeline_seconds": round(pipeline["seconds"], 2),
        "pipeline_seconds_all": [round(r["seconds"], 2) for r in runs],
        "floor_seconds_all": [round(f["seconds"], 2) for f in floors],
        "ratio_median": round(
            statistics.median(f["seconds"] for f in floors)
            / statistics.median(r["seconds"] for r in runs),
            2,
        ),
        "pipeline_cpu_ms_per_item": round(pipeline["cpu_seconds"] * 1000 / args.items, 2),
        "floor_cpu_ms_per_item": round(floor["cpu_seconds"] * 1000 / args.items, 2),
        "pipeline_reports_per_s": round(pipeline_rate, 1),
        "send_p50_ms": round(quantiles[49] * 1000, 1),
        "send_p95_ms": round(quantiles[94] * 1000, 1),
        "pipeline_peak_rss_mib": round(pipeline["peak_rss_mib"], 1),
        "floor_seconds": round(floor_seconds, 2),
        "floor_reports_per_s": round(floor_rate, 1),
        "ratio_to_floor": round(pipeline_rate / floor_rate, 2),
        "target_ratio": 0.7,
        "softhsm_pipeline": softhsm,
        "memory": {
            "small_items": small,
            "small_peak_rss_mib": round(mem_small["peak_rss_mib"], 1),
            "large_items": large,
            "large_peak_rss_mib": round(mem_large["peak_rss_mib"], 1),
        },
        "note": "best (and median) of --repeats alternated runs; both sides are child "
        "processes timed from spawn to exit (start-up counted on both). pipeline = `sochi "
        "submit`: plan, validation, signing, journal (every step durable), archive, audit; "
        "floor = bare httpx posts of payloads pre-signed beforehand. cpu_ms_per_item = "
        "process user+system time / items. Default memory check 200 vs 1000 items; --full: "
        "1000 vs 5000. softhsm_pipeline: one run with `--signer pkcs11` on a SoftHSM2 token.",
    }
    for key, value in results.items():
        print(f"{key:>24}: {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
