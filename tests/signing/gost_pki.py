"""A GOST test PKI made at test time: keys by `openssl genpkey -engine gost`, certificates and
CRLs laid out with asn1crypto and signed by OpenSSL's gost engine (through `cms.gost`).

`openssl verify -engine gost -crl_check_all` accepts what this builds (test_gost.py checks
it), so the GOST clause-8 tests do not rest on sochi's own reading of its own fixtures.
The API mirrors `pki.CA` so the same scenarios run for RSA, ECDSA and GOST.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from dataclasses import dataclass, field

from asn1crypto import core, keys
from asn1crypto import crl as acrl
from asn1crypto import x509 as ax
from cryptography import x509

from sochi_cli.cms import gost
from tests.signing.pki import DAY, NOW

# kind -> (openssl genpkey algorithm, "signature with digest" OID it signs certificates with)
KINDS = {
    "gost2001": ("gost2001", "1.2.643.2.2.3"),
    "gost2012_256": ("gost2012_256", "1.2.643.7.1.1.3.2"),
    "gost2012_512": ("gost2012_512", "1.2.643.7.1.1.3.3"),
}


def gen_key(kind: str) -> bytes:
    """A fresh PKCS#8 PEM GOST key made by the openssl binary with the gost engine."""
    proc = subprocess.run(
        [
            "openssl",
            "genpkey",
            "-engine",
            "gost",
            "-algorithm",
            KINDS[kind][0],
            "-pkeyopt",
            "paramset:A",
        ],
        capture_output=True,
        check=True,
    )
    return proc.stdout


@dataclass
class GostKey:
    kind: str
    pem: bytes

    def __post_init__(self) -> None:
        self.key = gost.load_private_key(self.pem)

    @property
    def spki(self) -> bytes:
        return self.key.public_key_info

    @property
    def digest(self) -> str:
        return gost.SIGNATURES[KINDS[self.kind][1]][1]

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, self.digest)


def _name(cn: str) -> ax.Name:
    return ax.Name.build(
        {"country_name": "KG", "organization_name": "sochi tests", "common_name": cn}
    )


def _time(moment: dt.datetime) -> ax.Time:
    return ax.Time({"utc_time" if moment.year < 2050 else "general_time": moment})


def _ski(spki: bytes) -> bytes:
    return hashlib.sha1(gost.public_key_bits(spki)[1:]).digest()


@dataclass
class GostIssued:
    key: GostKey
    cert: x509.Certificate

    @property
    def serial(self) -> int:
        return self.cert.serial_number

    @property
    def key_pem(self) -> bytes:
        return self.key.pem


@dataclass
class GostCA:
    key: GostKey
    cert: x509.Certificate
    revoked: list[tuple[int, dt.datetime]] = field(default_factory=list)

    @property
    def _asn1(self) -> ax.Certificate:
        from cryptography.hazmat.primitives.serialization import Encoding

        return ax.Certificate.load(self.cert.public_bytes(Encoding.DER))

    def _algorithm(self) -> dict:
        return {"algorithm": KINDS[self.key.kind][1]}

    def issue(
        self,
        cn: str,
        *,
        key: GostKey | None = None,
        kind: str = "gost2012_256",
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        ca: bool = False,
        digital_signature: bool = True,
        non_repudiation: bool = True,
    ) -> GostIssued:
        key = key or GostKey(kind, gen_key(kind))
        cert = _certificate(
            subject=_name(cn),
            issuer=self._asn1["tbs_certificate"]["subject"],
            spki=key.spki,
            issuer_key=self.key,
            issuer_ski=_ski(self.key.spki),
            not_before=not_before or NOW - 30 * DAY,
            not_after=not_after or NOW + 335 * DAY,
            ca=ca,
            usage=_usage(digital_signature or ca, non_repudiation, ca),
        )
        return GostIssued(key, cert)

    def crl(
        self,
        *,
        this_update: dt.datetime | None = None,
        next_update: dt.datetime | None = None,
        revoked: list[tuple[int, dt.datetime]] | None = None,
    ) -> x509.CertificateRevocationList:
        entries = [
            {
                "user_certificate": serial,
                "revocation_date": _time(when),
                "crl_entry_extensions": [{"extn_id": "crl_reason", "extn_value": "key_compromise"}],
            }
            for serial, when in (self.revoked if revoked is None else revoked)
        ]
        tbs = acrl.TbsCertList(
            {
                "version": "v2",
                "signature": self._algorithm(),
                "issuer": self._asn1["tbs_certificate"]["subject"],
                "this_update": _time(this_update or NOW - DAY),
                "next_update": _time(next_update or NOW + 6 * DAY),
                "revoked_certificates": entries or None,
                "crl_extensions": [
                    {"extn_id": "crl_number", "extn_value": len(entries) + 1},
                    {
                        "extn_id": "authority_key_identifier",
                        "extn_value": {"key_identifier": _ski(self.key.spki)},
                    },
                ],
            }
        )
        tbs_der = tbs.dump()
        return x509.load_der_x509_crl(_signed(tbs_der, self._algorithm(), self.key.sign(tbs_der)))


def _usage(digital_signature: bool, non_repudiation: bool, ca: bool) -> set[str]:
    usage = set()
    if digital_signature:
        usage.add("digital_signature")
    if non_repudiation:
        usage.add("non_repudiation")
    if ca:
        usage |= {"key_cert_sign", "crl_sign"}
    return usage


def _certificate(
    *,
    subject: ax.Name,
    issuer: ax.Name,
    spki: bytes,
    issuer_key: GostKey,
    issuer_ski: bytes,
    not_before: dt.datetime,
    not_after: dt.datetime,
    ca: bool,
    usage: set[str],
) -> x509.Certificate:
    algorithm = {"algorithm": KINDS[issuer_key.kind][1]}
    extensions = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": ca}},
        {"extn_id": "key_usage", "critical": True, "extn_value": usage},
        {"extn_id": "key_identifier", "extn_value": _ski(spki)},
    ]
    if subject != issuer:
        extensions.append(
            {"extn_id": "authority_key_identifier", "extn_value": {"key_identifier": issuer_ski}}
        )
    tbs = ax.TbsCertificate(
        {
            "version": "v3",
            "serial_number": x509.random_serial_number(),
            "signature": algorithm,
            "issuer": issuer,
            "validity": {"not_before": _time(not_before), "not_after": _time(not_after)},
            "subject": subject,
            "subject_public_key_info": keys.PublicKeyInfo.load(spki),
            "extensions": extensions,
        }
    )
    tbs_der = tbs.dump()
    return x509.load_der_x509_certificate(_signed(tbs_der, algorithm, issuer_key.sign(tbs_der)))


def _signed(tbs_der: bytes, algorithm: dict, signature: bytes) -> bytes:
    """SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING }: Certificate and CertificateList.

    Laid out by hand: re-encoding the whole structure would make asn1crypto parse the GOST
    public key, whose OID it does not know.
    """
    body = (
        tbs_der + ax.SignedDigestAlgorithm(algorithm).dump() + core.OctetBitString(signature).dump()
    )
    return b"\x30" + _length(len(body)) + body


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def make_root(cn: str = "Main CA GOST (test)", kind: str = "gost2001") -> GostCA:
    """The Main CA: GOST 34.310-2004 / 34.311-95 (= R 34.10-2001 / R 34.11-94) by default."""
    key = GostKey(kind, gen_key(kind))
    name = _name(cn)
    cert = _certificate(
        subject=name,
        issuer=name,
        spki=key.spki,
        issuer_key=key,
        issuer_ski=_ski(key.spki),
        not_before=NOW - 3650 * DAY,
        not_after=NOW + 3650 * DAY,
        ca=True,
        usage=_usage(True, False, True),
    )
    return GostCA(key, cert)


def sub_ca(root: GostCA, cn: str = "DOS TEK GROUP CA GOST (test)", kind: str = "gost2012_512"):
    issued = root.issue(
        cn,
        kind=kind,
        ca=True,
        not_before=NOW - 1000 * DAY,
        not_after=NOW + 2000 * DAY,
        non_repudiation=False,
    )
    return GostCA(issued.key, issued.cert)
