"""`openssl cms` on both sides of every algorithm: sign and verify with the openssl binary.

GOST goes through `-engine gost` (OpenSSL's gost engine); nothing here is a committed binary.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.signing import pki

GOST_KINDS = ("gost2001", "gost2012_256", "gost2012_512")


def openssl(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], capture_output=True, input=input, check=False)


def engine(kind: str) -> list[str]:
    return ["-engine", "gost"] if kind.startswith("gost") else []


def key_pem(issued: Any) -> bytes:
    return issued.key_pem if hasattr(issued, "key_pem") else pki.key_pem(issued.key)


@dataclass
class OpensslSigner:
    """Files for `openssl cms -sign`: the signer's certificate, key and chain bundle."""

    kind: str
    cert: Path
    key: Path
    chain: Path

    @classmethod
    def write(cls, directory: Path, kind: str, issued: Any, chain: list) -> OpensslSigner:
        directory.mkdir(parents=True, exist_ok=True)
        cert = directory / f"{kind}-signer.pem"
        cert.write_bytes(pki.pem(issued.cert))
        key = directory / f"{kind}-signer.key"
        key.write_bytes(key_pem(issued))
        bundle = directory / f"{kind}-chain.pem"
        bundle.write_bytes(b"".join(pki.pem(c) for c in chain))
        return cls(kind, cert, key, bundle)

    def sign(self, content: Path, *extra: str) -> bytes:
        """A detached DER signature of `content` made by `openssl cms -sign`."""
        proc = openssl(
            "cms",
            "-sign",
            *engine(self.kind),
            "-binary",
            "-outform",
            "DER",
            "-in",
            str(content),
            "-signer",
            str(self.cert),
            "-inkey",
            str(self.key),
            "-certfile",
            str(self.chain),
            *extra,
        )
        assert proc.returncode == 0, proc.stderr.decode()
        return proc.stdout


def openssl_verifies(kind: str, signature: Path, content: Path, root_pem: Path) -> bool:
    """`openssl cms -verify` of a detached DER signature up to `root_pem`."""
    proc = openssl(
        "cms",
        "-verify",
        *engine(kind),
        "-binary",
        "-inform",
        "DER",
        "-in",
        str(signature),
        "-content",
        str(content),
        "-CAfile",
        str(root_pem),
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    )
    return proc.returncode == 0 and b"Verification successful" in proc.stderr
