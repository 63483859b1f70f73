"""Certificates whose DER length octets end in 0x80 (388, 644, 900 bytes …), made by OpenSSL.

asn1crypto's `dump()` mistakes such a length for BER's indefinite one and re-encodes the
value; on a GOST certificate that raised KeyError and `sochi verify` called a valid
signature "damaged DER" (exit 5). sochi now never re-dumps a parsed value (`cms.der`).
Both directions run as real `sochi` processes: in-process, another test importing
pyhanko-certvalidator (which teaches asn1crypto to carry unknown keys) would hide the bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import crl as acrl
from asn1crypto import x509 as ax

from sochi_cli.cms import der
from sochi_cli.errors import ExitCode
from tests.signing.openssl_ca import Entity, OpensslCA, engine, length_octets_end_in_0x80, run
from tests.support import run_cli, run_sochi

AUTH = int(ExitCode.AUTH)


@dataclass
class Chain:
    root: OpensslCA
    ca: OpensslCA
    signer: Entity
    dir: Path

    crl_size: int | None = None

    def trust(self) -> list[str]:
        return [
            "--trust", str(self.root.cert),
            "--crl", str(self.root.crl()),
            "--crl", str(self.ca.crl(tbs_size=self.crl_size)),
        ]  # fmt: skip


def _tbs_size(entity: Entity) -> int:
    return len(der.original(ax.Certificate.load(entity.der)["tbs_certificate"]))


def _chain(tmp_path: Path, kind: str, where: str, size: int) -> Chain:
    """Root → CA → signer, all by `openssl req/ca`; `where` is the structure made `size` long."""
    root = OpensslCA.root(tmp_path / "root", kind)
    ca = root.issue(tmp_path / "ca", kind, "Test CA", ca=True, size=size if where == "ca" else None)
    target = size
    if where == "tbs":  # the signer's tbsCertificate: the certificate is that plus a fixed tail
        probe = ca.issue(tmp_path / "probe", kind, "Test Signer")
        target = size + len(probe.der) - _tbs_size(probe)
    signer = ca.issue(
        tmp_path / "signer", kind, "Test Signer", size=target if where in SIGNER else None
    )
    return Chain(root, ca, signer, tmp_path, size if where == "crl" else None)


SIGNER = ("signer", "tbs")
CASES = [
    ("gost2001", "signer", 388),  # the audit's case: R 34.10-2001, /CN=Test Signer
    ("gost2012_256", "signer", 644),
    ("gost2012_512", "signer", 644),
    ("gost2001", "ca", 388),  # the intermediate CA
    ("gost2012_256", "tbs", 388),  # the signed part of the signer's certificate
    ("gost2001", "crl", 388),  # the signed part of the CA's CRL
    ("ec", "signer", 388),  # the same trigger on ECDSA P-256 and RSA-2048: re-encoded, not lost
    ("rsa", "signer", 900),
]


def _measured(chain: Chain, where: str, crl: str) -> bytes:
    """The structure a case makes long: a certificate, a tbsCertificate or a tbsCertList."""
    if where == "crl":
        tbs = acrl.CertificateList.load(run("crl", "-in", crl, "-outform", "DER"))["tbs_cert_list"]
        return der.original(tbs)
    if where == "tbs":
        return der.original(ax.Certificate.load(chain.signer.der)["tbs_certificate"])
    return chain.ca.der if where == "ca" else chain.signer.der


@pytest.mark.parametrize(
    ("kind", "where", "size"), CASES, ids=[f"{k}-{w}-{s}" for k, w, s in CASES]
)
def test_sochi_verifies_what_openssl_signs_at_a_0x80_length(tmp_path, kind, where, size):
    chain = _chain(tmp_path, kind, where, size)
    trust = chain.trust()
    structure = _measured(chain, where, trust[-1])
    assert len(structure) == size and length_octets_end_in_0x80(structure)  # the premise
    report = tmp_path / "report.xml"
    report.write_bytes(b"<report>" + b"1" * 100_000 + b"</report>\n")
    signature = run(
        "cms", "-sign", *engine(kind), "-binary", "-in", str(report), "-outform", "DER",
        "-signer", str(chain.signer.cert), "-inkey", str(chain.signer.key),
        "-certfile", str(chain.ca.cert),
    )  # fmt: skip
    (tmp_path / "report.xml.p7s").write_bytes(signature)
    result = run_sochi("verify", str(report), *trust)
    assert result.code == 0, result.stdout + result.stderr
    assert "SIGNATURE STANDS" in result.stdout
    report.write_bytes(b"<report>2</report>\n")
    result = run_cli("verify", str(report), *trust)
    assert result.code == AUTH and "SIGNATURE DOES NOT STAND" in result.stdout


SIGN_CASES = [
    ("gost2001", "signer", 388),
    ("gost2012_256", "signer", 644),
    ("gost2001", "tbs", 388),
]


@pytest.mark.parametrize(
    ("kind", "where", "size"), SIGN_CASES, ids=[f"{k}-{w}-{s}" for k, w, s in SIGN_CASES]
)
def test_openssl_and_sochi_verify_what_sochi_signs_at_a_0x80_length(tmp_path, kind, where, size):
    chain = _chain(tmp_path, kind, where, size)
    bundle = tmp_path / "signer-and-ca.pem"
    bundle.write_bytes(chain.signer.cert.read_bytes() + chain.ca.cert.read_bytes())
    report = tmp_path / "report.xml"
    report.write_bytes(b"<report>3</report>\n")
    result = run_sochi(
        "sign", "--signer", "file", "--key-file", str(chain.signer.key),
        "--cert-file", str(bundle), str(report), *chain.trust(),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    signature = tmp_path / "report.xml.p7s"
    assert chain.signer.der in signature.read_bytes()  # embedded as issued, byte for byte
    run(
        "cms", "-verify", *engine(kind), "-binary", "-inform", "DER", "-in", str(signature),
        "-content", str(report), "-CAfile", str(chain.root.cert), "-purpose", "any",
        "-out", "/dev/null",
    )  # fmt: skip
    result = run_sochi("verify", str(report), *chain.trust())
    assert result.code == 0, result.stdout + result.stderr
    assert "SIGNATURE STANDS" in result.stdout


def test_original_octets_are_kept_where_dump_would_re_encode(tmp_path):
    """`cms.der` gives back exactly what was read, for the structures sochi hashes."""
    chain = _chain(tmp_path, "gost2001", "signer", 388)
    data = chain.signer.der
    parsed = ax.Certificate.load(data)
    assert der.original(parsed) == data
    assert der.load(ax.Certificate, data).dump() == data
    spki = der.original(parsed["tbs_certificate"]["subject_public_key_info"])
    assert spki in data and spki.startswith(b"\x30")
