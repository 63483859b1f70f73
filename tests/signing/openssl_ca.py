"""A PKI made by the openssl binary alone (`genpkey`, `req`, `ca`, `ca -gencrl`), at test time.

Certificates can be asked for at an exact DER size: a size whose length octets end in 0x80
(388, 644, 900 bytes: 384, 640, 896 content bytes) is the one asn1crypto's `dump()`
mistakes for an indefinite length and re-encodes (see `sochi_cli.cms.der`). The size is
reached by padding the subject's common name, then a comment extension; nothing here is a committed binary.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

# kind -> genpkey arguments
KEYS = {
    "gost2001": ["-engine", "gost", "-algorithm", "gost2001", "-pkeyopt", "paramset:A"],
    "gost2012_256": ["-engine", "gost", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:A"],
    "gost2012_512": ["-engine", "gost", "-algorithm", "gost2012_512", "-pkeyopt", "paramset:A"],
    "ec": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
}

_CONFIG = """\
[ ca ]
default_ca = this_ca
[ this_ca ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
certificate = $dir/cert.pem
private_key = $dir/key.pem
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = default
default_days = 365
default_crl_days = 7
policy = any_name
unique_subject = no
copy_extensions = none
[ any_name ]
commonName = supplied
[ ca_ext ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ca_ext_padded ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
nsComment = $ENV::SOCHI_TEST_PADDING
[ crl_ext_padded ]
issuerAltName = URI:http://crl.test/$ENV::SOCHI_TEST_PADDING
[ signer_ext ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
[ signer_ext_padded ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
nsComment = $ENV::SOCHI_TEST_PADDING
"""


def run(*args: str, padding: str = "-") -> bytes:
    env = {**os.environ, "SOCHI_TEST_PADDING": padding}
    proc = subprocess.run(["openssl", *args], capture_output=True, env=env, check=False)
    assert proc.returncode == 0, f"openssl {' '.join(args)}: {proc.stderr.decode()}"
    return proc.stdout


def engine(kind: str) -> list[str]:
    return ["-engine", "gost"] if kind.startswith("gost") else []


def der_size(pem: Path) -> int:
    return len(run("x509", "-in", str(pem), "-outform", "DER"))


def length_octets_end_in_0x80(der: bytes) -> bool:
    """The outer header is a long-form definite length whose last octet is 0x80."""
    return der[1] & 0x80 != 0 and der[1] != 0x80 and der[1 + (der[1] & 0x7F)] == 0x80


@dataclass
class Entity:
    kind: str
    dir: Path

    @property
    def key(self) -> Path:
        return self.dir / "key.pem"

    @property
    def cert(self) -> Path:
        return self.dir / "cert.pem"

    @property
    def der(self) -> bytes:
        return run("x509", "-in", str(self.cert), "-outform", "DER")

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    def make_key(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key.write_bytes(run("genpkey", *KEYS[self.kind]))

    def request(self, cn: str) -> Path:
        csr = self.dir / "req.pem"
        run(
            "req", *engine(self.kind), "-new", "-key", str(self.key), "-subj", f"/CN={cn}",
            "-out", str(csr),
        )  # fmt: skip
        return csr


@dataclass
class OpensslCA(Entity):
    """A CA whose certificate, issued certificates and CRL are all made by `openssl ca`."""

    @property
    def config(self) -> Path:
        return self.dir / "ca.cnf"

    def _prepare(self) -> None:
        (self.dir / "issued").mkdir(parents=True, exist_ok=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        (self.dir / "crlnumber").write_text("1000\n")
        self.config.write_text(_CONFIG.format(dir=self.dir))

    @classmethod
    def root(cls, directory: Path, kind: str, cn: str = "Test Root") -> OpensslCA:
        ca = cls(kind, directory)
        ca._prepare()
        ca.make_key()
        run(
            "req", *engine(kind), "-new", "-x509", "-key", str(ca.key), "-subj", f"/CN={cn}",
            "-days", "3650", "-set_serial", "1",
            "-addext", "basicConstraints=critical,CA:true",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", str(ca.cert),
        )  # fmt: skip
        return ca

    def _issue(self, subject: Entity, csr: Path, extensions: str, padding: str) -> None:
        run(
            "ca", *engine(self.kind), "-batch", "-notext", "-config", str(self.config),
            "-extensions", extensions, "-in", str(csr), "-out", str(subject.cert),
            padding=padding,
        )  # fmt: skip

    def issue(
        self,
        directory: Path,
        kind: str,
        cn: str,
        *,
        ca: bool = False,
        size: int | None = None,
    ) -> Entity:
        """A certificate for a fresh key; with `size`, exactly that many DER bytes."""
        subject: Entity = OpensslCA(kind, directory) if ca else Entity(kind, directory)
        if isinstance(subject, OpensslCA):
            subject._prepare()
        subject.make_key()
        extensions = "ca_ext" if ca else "signer_ext"
        # the common name first (64 characters at most), then a comment extension (nsComment)
        room = 64 - len(cn)
        cn_padding, comment = 0, 0
        for _ in range(12):  # ECDSA signatures vary by a byte or two: a few more tries
            csr = subject.request(cn + "-" * cn_padding)
            section = f"{extensions}_padded" if comment else extensions
            self._issue(subject, csr, section, "-" * comment)
            actual = der_size(subject.cert)
            if size is None or actual == size:
                return subject
            if comment or cn_padding + size - actual > room:
                comment = max(1, comment + size - actual)
            else:
                cn_padding = max(0, cn_padding + size - actual)
        raise AssertionError(f"could not make a {size}-byte {kind} certificate (last {actual})")

    def revoke(self, entity: Entity) -> None:
        run(
            "ca", *engine(self.kind), "-config", str(self.config), "-revoke", str(entity.cert),
            "-crl_reason", "keyCompromise",
        )  # fmt: skip

    def crl(self, *, tbs_size: int | None = None) -> Path:
        """The CA's CRL; with `tbs_size`, its tbsCertList that long (an issuerAltName pads it)."""
        from asn1crypto import crl as acrl

        from sochi_cli.cms.der import original

        path = self.dir / "crl.pem"
        padding: int | None = None
        for _ in range(6):
            extensions = [] if padding is None else ["-crlexts", "crl_ext_padded"]
            run(
                "ca", *engine(self.kind), "-config", str(self.config), "-gencrl",
                *extensions, "-out", str(path), padding="-" * (padding or 0),
            )  # fmt: skip
            if tbs_size is None:
                return path
            der = run("crl", "-in", str(path), "-outform", "DER")
            actual = len(original(acrl.CertificateList.load(der)["tbs_cert_list"]))
            if actual == tbs_size:
                return path
            padding = max(0, (padding or 0) + tbs_size - actual)
        raise AssertionError(f"could not make a CRL of {tbs_size} bytes (last {actual})")
