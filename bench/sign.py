"""Signing throughput: sochi's signing service vs a bare python-pkcs11 loop vs `openssl cms -sign`.

Also the streaming digest (MB/s vs `openssl dgst -sha256`) and peak RSS while digesting a
large file. Everything runs on a throwaway SoftHSM2 token in a temp dir.
Targets (issue 4): service within 1.3x of the bare loop; digest >= 0.9x OpenSSL; flat memory.
Usage: python bench/sign.py [--files N] [--openssl-files N] [--repeat N] [--full] [--json PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MB = 1 << 20


def _setup_token(tmp: Path):
    from tests.signing import pki, softhsm

    conf = softhsm.write_config(tmp / "hsm")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    root = pki.make_root()
    operator = pki.sub_ca(root)
    subs = {"rsa": operator.issue("Bench RSA", key=pki.rsa_key()), "ec": operator.issue("Bench EC")}
    from sochi_cli.token import pkcs11 as p11

    for kind in subs:  # all tokens first: the library scans the token dir when loaded
        softhsm.init_token(conf, f"bench-{kind}")
    for kind, issued in subs.items():
        p11.import_pkcs12(
            library=softhsm.LIBRARY,
            token=f"bench-{kind}",
            pin=softhsm.PIN,
            private_key=issued.key,
            certificate=issued.cert,
            chain=[operator.cert, root.cert],
            key_id=b"\x01",
        )
    return root, operator, subs, softhsm


def _best(fn, repeat: int) -> float:
    """Best of `repeat` wall-clock runs (the machine may be shared)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _bench_signing(tmp: Path, count: int, openssl_count: int, repeat: int = 7) -> list[dict]:
    from pkcs11 import Attribute, Mechanism, ObjectClass

    from sochi_cli.cms import sign_detached_many, verify_detached
    from sochi_cli.services.signing import TrustMaterial, sign_files
    from sochi_cli.token import pkcs11 as p11
    from sochi_cli.token.base import sha256_digest_info
    from tests.signing import pki

    root, operator, subs, softhsm = _setup_token(tmp)
    files_dir = tmp / "files"
    files_dir.mkdir()
    files = []
    for i in range(count):
        path = files_dir / f"report-{i:04d}.xml"
        path.write_bytes(b"<report n='%d'>" % i + os.urandom(1024).hex().encode() + b"</report>")
        files.append(path)
    trust = TrustMaterial(roots=[root.cert], crls=[operator.crl(revoked=[])])
    rows = []
    for kind in ("rsa", "ec"):
        label = f"bench-{kind}"
        # bare python-pkcs11 loop over the same kind of digests: the physical floor
        # Both sides start from the loaded library and pay token lookup + login + key lookup
        # inside the timed region; the bare loop signs precomputed content digests.
        digests = [hashlib.sha256(p.read_bytes()).digest() for p in files]
        lib = p11.load_library(softhsm.LIBRARY)

        def bare_loop(lib=lib, label=label, digests=digests, kind=kind) -> None:
            token = lib.get_token(token_label=label)
            with token.open(user_pin=softhsm.PIN) as session:
                key = next(iter(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})))
                for d in digests:
                    if kind == "rsa":
                        key.sign(sha256_digest_info(d), mechanism=Mechanism.RSA_PKCS)
                    else:
                        key.sign(d, mechanism=Mechanism.ECDSA)

        # sochi: the CMS layer over the token (open + login + read + digest + attrs + assembly)
        def service_run(label=label) -> list[bytes]:
            signer = p11.PKCS11Signer(library=softhsm.LIBRARY, token=label, pin=softhsm.PIN)
            with signer:
                return sign_detached_many(files, signer)

        # sochi: the whole `sochi sign` service: gate + signatures + atomic .p7s writes (fsync)
        def whole_run(label=label, kind=kind) -> None:
            signer = p11.PKCS11Signer(library=softhsm.LIBRARY, token=label, pin=softhsm.PIN)
            sign_files(files, signer, trust=trust, out_dir=tmp / f"out-{kind}")

        bare_loop(), service_run()  # warm-up (imports, first login), excluded on both sides
        bare_times, service_times = [], []
        for _ in range(repeat):  # interleaved pairs: the machine may be shared
            bare_times.append(_timed(bare_loop))
            service_times.append(_timed(service_run))
        bare, service = min(bare_times), min(service_times)
        pair_ratio = statistics.median(
            [s / b for s, b in zip(service_times, bare_times, strict=True)]
        )
        whole = _best(whole_run, 1)
        verify_detached(service_run()[0], files[0])

        # openssl cms -sign, one process per file (software key), extrapolated
        issued = subs[kind]
        cert_pem = tmp / f"{kind}.pem"
        key_pem = tmp / f"{kind}.key"
        cert_pem.write_bytes(pki.pem(issued.cert))
        key_pem.write_bytes(pki.key_pem(issued.key))
        sample = files[:openssl_count]
        start = time.perf_counter()
        for path in sample:
            subprocess.run(
                [
                    "openssl",
                    "cms",
                    "-sign",
                    "-binary",
                    "-outform",
                    "DER",
                    "-in",
                    str(path),
                    "-signer",
                    str(cert_pem),
                    "-inkey",
                    str(key_pem),
                    "-md",
                    "sha256",
                    "-out",
                    str(tmp / "o.p7s"),
                ],
                check=True,
                capture_output=True,
            )
        openssl = (time.perf_counter() - start) / len(sample) * count
        rows.append(
            {
                "key": "RSA-2048" if kind == "rsa" else "ECDSA P-256",
                "files": count,
                "bare_loop_per_s": round(count / bare, 1),
                "service_per_s": round(count / service, 1),
                "service_with_writes_per_s": round(count / whole, 1),
                "openssl_per_s": round(count / openssl, 1),
                "openssl_sampled_files": len(sample),
                "bare_loop_median_per_s": round(count / statistics.median(bare_times), 1),
                "service_median_per_s": round(count / statistics.median(service_times), 1),
                "service_vs_bare": round(service / bare, 3),
                "service_vs_bare_median_pair": round(pair_ratio, 3),
                "with_writes_vs_bare": round(whole / bare, 3),
            }
        )
    return rows


def _bench_digest(tmp: Path, size_mb: int) -> dict:
    from sochi_cli.cms import digest_content

    path = tmp / "big.bin"
    block = os.urandom(MB)
    with path.open("wb") as fh:
        for _ in range(size_mb):
            fh.write(block)
    subprocess.run(["openssl", "dgst", "-sha256", str(path)], check=True, capture_output=True)

    def best(fn, runs=3):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    ours = best(lambda: digest_content(path))
    theirs = best(
        lambda: subprocess.run(
            ["openssl", "dgst", "-sha256", str(path)], check=True, capture_output=True
        )
    )
    path.unlink()
    return {
        "size_mb": size_mb,
        "sochi_mb_per_s": round(size_mb / ours, 1),
        "openssl_mb_per_s": round(size_mb / theirs, 1),
        "ratio": round(theirs / ours, 3),
    }


_RSS_PROBE = """
import resource, sys
from sochi_cli.cms import digest_content
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.argv[1] != "-":
    digest_content(sys.argv[1])
print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _bench_rss(tmp: Path, size_mb: int) -> dict:
    path = tmp / "huge.bin"
    with path.open("wb") as fh:
        fh.truncate(size_mb * MB)  # sparse: reading it still streams size_mb through the hash

    def probe(arg: str) -> tuple[int, int]:
        out = subprocess.run(
            [sys.executable, "-c", _RSS_PROBE, arg],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout.split()
        return int(out[0]), int(out[1])

    _, idle = probe("-")
    _, peak = probe(str(path))
    path.unlink()
    return {
        "file_mb": size_mb,
        "peak_rss_mb_idle": round(idle / 1024, 1),
        "peak_rss_mb_digesting": round(peak / 1024, 1),
        "growth_mb": round((peak - idle) / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--openssl-files", type=int, default=100)
    parser.add_argument("--digest-mb", type=int, default=256)
    parser.add_argument("--full", action="store_true", help="peak RSS on 2 GB (default 512 MB)")
    parser.add_argument("--repeat", type=int, default=7, help="interleaved timed runs per side")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rss_mb = 2048 if args.full else 512
    with tempfile.TemporaryDirectory(prefix="sochi-bench-") as name:
        tmp = Path(name)
        rows = _bench_signing(
            tmp, args.files, min(args.openssl_files, args.files), repeat=args.repeat
        )
        digest = _bench_digest(tmp, args.digest_mb)
        rss = _bench_rss(tmp, rss_mb)
    print(
        f"signing {args.files} files (SoftHSM2; openssl: one process per file, "
        f"{rows[0]['openssl_sampled_files']} sampled and extrapolated)"
    )
    print(
        "best of interleaved runs after one warm-up run of each (excluded); "
        "median/s and the median of the per-pair ratios in brackets"
    )
    print(
        f"{'key':<13}{'bare/s':>17}{'sochi/s':>17}{'+writes/s':>11}{'openssl/s':>11}"
        f"{'sochi/bare':>18}  target <= 1.3x"
    )
    for r in rows:
        bare = f"{r['bare_loop_per_s']:.0f} ({r['bare_loop_median_per_s']:.0f})"
        ours = f"{r['service_per_s']:.0f} ({r['service_median_per_s']:.0f})"
        ratio = f"{r['service_vs_bare']:.3f}x ({r['service_vs_bare_median_pair']:.3f}x)"
        print(
            f"{r['key']:<13}{bare:>17}{ours:>17}"
            f"{r['service_with_writes_per_s']:>11}{r['openssl_per_s']:>11}{ratio:>18}"
        )
    print(
        f"sha-256 digest of {digest['size_mb']} MB: sochi {digest['sochi_mb_per_s']} MB/s, "
        f"openssl {digest['openssl_mb_per_s']} MB/s, ratio {digest['ratio']} (target >= 0.9)"
    )
    print(
        f"peak RSS digesting {rss['file_mb']} MB{'' if args.full else ' (2 GB with --full)'}: "
        f"{rss['peak_rss_mb_digesting']} MB vs {rss['peak_rss_mb_idle']} MB idle "
        f"(+{rss['growth_mb']} MB)"
    )
    result = {
        "bench": "sign",
        "signing": rows,
        "digest": digest,
        "memory": rss,
        "targets_met": all(r["service_vs_bare"] <= 1.3 for r in rows)
        and digest["ratio"] >= 0.9
        and rss["growth_mb"] < 16,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
