"""Signing throughput: sochi's signing service vs a bare python-pkcs11 loop vs `openssl cms -sign`.

Also the streaming digest (MB/s vs `openssl dgst -sha256`) and peak RSS while digesting a
large file. Everything runs on a throwaway SoftHSM2 token in a temp dir.
Targets (issue 4): service within 1.3x of the bare loop; digest >= 0.9x OpenSSL; flat memory.
Issue 14: RSA-PSS within 1.3x of its bare loop; GOST digests >= 0.8x `openssl dgst -engine
gost`; clause-8 verification of a 100 KB GOST-signed report <= 100 ms.
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
    from pkcs11 import MGF, Attribute, Mechanism, ObjectClass

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
    trust = TrustMaterial(roots=[root.cert], crls=[operator.crl(revoked=[]), root.crl(revoked=[])])
    rows = []
    for kind in ("rsa", "rsa-pss", "ec"):
        label = f"bench-{kind.removesuffix('-pss')}"
        pss = kind == "rsa-pss"
        # bare python-pkcs11 loop over the same kind of digests: the physical floor
        # Both sides start from the loaded library and pay token lookup + login + key lookup
        # inside the timed region; the bare loop signs precomputed content digests.
        digests = [hashlib.sha256(p.read_bytes()).digest() for p in files]
        lib = p11.load_library(softhsm.LIBRARY)

        def bare_loop(lib=lib, label=label, digests=digests, kind=kind) -> None:
            token = lib.get_token(token_label=label)
            with token.open(user_pin=softhsm.PIN) as session:
                key = next(iter(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})))
                pss_param = (Mechanism.SHA256, MGF.SHA256, 32)
                for d in digests:
                    if kind == "rsa":
                        key.sign(sha256_digest_info(d), mechanism=Mechanism.RSA_PKCS)
                    elif kind == "rsa-pss":
                        key.sign(d, mechanism=Mechanism.RSA_PKCS_PSS, mechanism_param=pss_param)
                    else:
                        key.sign(d, mechanism=Mechanism.ECDSA)

        # sochi: the CMS layer over the token (open + login + read + digest + attrs + assembly)
        def service_run(label=label, pss=pss) -> list[bytes]:
            signer = p11.PKCS11Signer(
                library=softhsm.LIBRARY, token=label, pin=softhsm.PIN, rsa_pss=pss
            )
            with signer:
                return sign_detached_many(files, signer)

        # sochi: the whole `sochi sign` service: gate + signatures + atomic .p7s writes (fsync)
        def whole_run(label=label, kind=kind, pss=pss) -> None:
            signer = p11.PKCS11Signer(
                library=softhsm.LIBRARY, token=label, pin=softhsm.PIN, rsa_pss=pss
            )
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
        issued = subs[kind.removesuffix("-pss")]
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
                    *(["-keyopt", "rsa_padding_mode:pss"] if pss else []),
                    "-out",
                    str(tmp / "o.p7s"),
                ],
                check=True,
                capture_output=True,
            )
        openssl = (time.perf_counter() - start) / len(sample) * count
        rows.append(
            {
                "key": {"rsa": "RSA-2048", "rsa-pss": "RSA-2048 PSS", "ec": "ECDSA P-256"}[kind],
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


_GOST_DGST = {
    "gostr3411_94": "-md_gost94",
    "streebog256": "-md_gost12_256",
    "streebog512": "-md_gost12_512",
}
_BRIDGE_LOAD = """
import time
from sochi_cli.cms import gost
t = time.perf_counter()
gost.api()
print(time.perf_counter() - t)
"""


def _bench_gost(tmp: Path, size_mb: int, repeat: int) -> dict:
    """GOST through the ctypes bridge: digests vs `openssl dgst -engine gost`, clause-8
    verification of a 100 KB report, and what the `openssl` binary would cost instead."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from sochi_cli.cms import digest_content, sign_detached, verify_detached
    from sochi_cli.services.verify import verify_dispute
    from tests.signing import gost_pki, pki
    from tests.signing.interop import openssl_verifies

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True)

    load = [
        float(
            subprocess.run(
                [sys.executable, "-c", _BRIDGE_LOAD], check=True, capture_output=True, cwd=ROOT
            ).stdout
        )
        for _ in range(3)
    ]
    path = tmp / "gost.bin"
    block = os.urandom(MB)
    with path.open("wb") as fh:
        for _ in range(size_mb):
            fh.write(block)
    digests = []
    for name, flag in _GOST_DGST.items():
        ours_times, theirs_times = [], []
        for _ in range(5):  # interleaved: the machine may be shared
            theirs_times.append(
                _best(
                    lambda flag=flag: run("openssl", "dgst", "-engine", "gost", flag, str(path)), 1
                )
            )
            ours_times.append(_best(lambda name=name: digest_content(path, name), 1))
        ours, theirs = min(ours_times), min(theirs_times)
        digests.append(
            {
                "digest": name,
                "size_mb": size_mb,
                "sochi_mb_per_s": round(size_mb / ours, 1),
                "openssl_mb_per_s": round(size_mb / theirs, 1),
                "ratio": round(theirs / ours, 3),
                "median_pair_ratio": round(
                    statistics.median(t / o for t, o in zip(theirs_times, ours_times, strict=True)),
                    3,
                ),
            }
        )
    path.unlink()

    root = gost_pki.make_root()
    operator = gost_pki.sub_ca(root)
    report = tmp / "report-100k.xml"
    report.write_bytes(b"<report>" + os.urandom(50 * 1024).hex().encode() + b"</report>")
    verify_rows = []
    from sochi_cli.token.file import KeySigner

    ec_root = pki.make_root()
    ec_operator = pki.sub_ca(ec_root)
    ec_sub = ec_operator.issue("Bench EC baseline")
    cases = [
        (
            kind,
            operator.issue(f"Bench {kind}", kind=kind),
            operator,
            root,
        )
        for kind in gost_pki.KINDS
    ]
    cases.append(("ecdsa-p256 (baseline)", ec_sub, ec_operator, ec_root))
    env = dict(
        os.environ,
        SOCHI_CONFIG_DIR=str(tmp / "cfg"),
        SOCHI_CACHE_DIR=str(tmp / "cache"),
        SOCHI_DATA_DIR=str(tmp / "data"),
    )
    # as installed: compiled modules cached (a first, untimed run writes sochi's own)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    sochi = str(Path(sys.executable).with_name("sochi"))
    process_runs = max(repeat, 7)

    def processes(argv: list[str]) -> tuple[float, float]:
        """(best, median) ms of `argv` as a process, after one untimed run."""
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times = []
        for _ in range(process_runs):
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=env)
            times.append((time.perf_counter() - start) * 1000)
        return round(min(times), 1), round(statistics.median(times), 1)

    startup = {
        "python -c pass": processes([sys.executable, "-c", "pass"]),
        "sochi --version": processes([sochi, "--version"]),
    }
    for kind, sub, ca, anchor in cases:
        signer_key = sub.key.key if kind.startswith("gost") else sub.key
        der = sign_detached(report, KeySigner(signer_key, sub.cert, [ca.cert, anchor.cert]))
        signature = tmp / f"report-{kind.split()[0]}.p7s"
        signature.write_bytes(der)
        case_crls = [ca.crl(revoked=[]), anchor.crl(revoked=[])]
        anchor_pem = tmp / f"anchor-{kind.split()[0]}.pem"
        anchor_pem.write_bytes(pki.pem(anchor.cert))
        case_crl_files = []
        for i, crl in enumerate(case_crls):
            crl_path = tmp / f"{kind.split()[0]}-{i}.crl"
            crl_path.write_bytes(crl.public_bytes(Encoding.DER))
            case_crl_files += ["--crl", str(crl_path)]

        def clause8(der=der, anchor=anchor, case_crls=case_crls) -> None:
            verify_dispute(report, der, trust_roots=[anchor.cert], crls=case_crls)

        clause8()  # warm-up: imports and the engine load are paid once per process
        openssl_cms = _best(
            lambda kind=kind, signature=signature, anchor_pem=anchor_pem: openssl_verifies(
                kind, signature, report, anchor_pem
            ),
            repeat,
        )

        process_best, process_median = processes(
            [
                sochi,
                "verify",
                str(report),
                "--signature",
                str(signature),
                "--trust",
                str(anchor_pem),
                *case_crl_files,
            ]
        )
        verify_rows.append(
            {
                "key": kind,
                "report_kb": report.stat().st_size // 1024,
                "clause8_warm_ms": round(_best(clause8, repeat) * 1000, 1),
                "cms_check_warm_ms": round(
                    _best(lambda der=der: verify_detached(der, report), repeat) * 1000, 2
                ),
                "sochi_verify_process_ms": process_best,
                "sochi_verify_process_median_ms": process_median,
                "openssl_cms_verify_process_ms": round(openssl_cms * 1000, 1),
            }
        )
    # the bridge per operation: a 100 KB Streebog digest in-process vs one `openssl dgst`
    in_process = _best(lambda: digest_content(report, "streebog256"), repeat * 10)
    binary = _best(
        lambda: run("openssl", "dgst", "-engine", "gost", "-md_gost12_256", str(report)), repeat
    )
    return {
        "bridge_load_ms": round(min(load) * 1000, 1),
        "digests": digests,
        "verify": verify_rows,
        "startup_ms": {name: {"best": b, "median": m} for name, (b, m) in startup.items()},
        "bridge_per_100kb_digest_ms": {
            "ctypes": round(in_process * 1000, 3),
            "openssl_binary": round(binary * 1000, 2),
        },
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
    parser.add_argument("--gost-mb", type=int, default=64, help="size for the GOST digests")
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
        gost = _bench_gost(tmp, args.gost_mb, args.repeat)
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
        f"GOST bridge (ctypes → libcrypto + gost engine): engine loaded in {gost['bridge_load_ms']} ms "
        "(once per process); a 100 KB Streebog-256 digest: "
        f"{gost['bridge_per_100kb_digest_ms']['ctypes']} ms in-process vs "
        f"{gost['bridge_per_100kb_digest_ms']['openssl_binary']} ms as one `openssl dgst`"
    )
    for d in gost["digests"]:
        print(
            f"{d['digest']} digest of {d['size_mb']} MB: sochi {d['sochi_mb_per_s']} MB/s, "
            f"openssl dgst -engine gost {d['openssl_mb_per_s']} MB/s, ratio {d['ratio']} "
            f"(median pair {d['median_pair_ratio']}; target >= 0.8)"
        )
    print(
        f"{'verify':<22}{'report':>8}{'clause 8':>10}{'CMS only':>10}"
        f"{'sochi verify process':>22}{'openssl cms':>13}   (ms; target clause 8 <= 100)"
    )
    for r in gost["verify"]:
        process = f"{r['sochi_verify_process_ms']} ({r['sochi_verify_process_median_ms']})"
        print(
            f"{r['key']:<22}{r['report_kb']:>6}KB{r['clause8_warm_ms']:>10}"
            f"{r['cms_check_warm_ms']:>10}{process:>22}"
            f"{r['openssl_cms_verify_process_ms']:>13}"
        )
    floor = ", ".join(
        f"{name} {t['best']} ({t['median']})" for name, t in gost["startup_ms"].items()
    )
    print(f"processes, best (median) ms: {floor}; `sochi verify` as a whole process above")
    print(
        f"peak RSS digesting {rss['file_mb']} MB{'' if args.full else ' (2 GB with --full)'}: "
        f"{rss['peak_rss_mb_digesting']} MB vs {rss['peak_rss_mb_idle']} MB idle "
        f"(+{rss['growth_mb']} MB)"
    )
    result = {
        "bench": "sign",
        "signing": rows,
        "digest": digest,
        "gost": gost,
        "memory": rss,
        "targets_met": all(r["service_vs_bare"] <= 1.3 for r in rows)
        and digest["ratio"] >= 0.9
        and all(d["ratio"] >= 0.8 for d in gost["digests"])
        and all(r["clause8_warm_ms"] <= 100 for r in gost["verify"] if r["key"].startswith("gost"))
        and rss["growth_mb"] < 16,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
