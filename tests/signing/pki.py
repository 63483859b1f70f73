"""A throwaway test PKI built with `cryptography`: Main CA (test) → operator CA → subscribers, CRLs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)

_RSA_KEYS: list[rsa.RSAPrivateKey] = []


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KG"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sochi tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _ku(*, digital_signature: bool, non_repudiation: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class Issued:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def serial(self) -> int:
        return self.cert.serial_number


@dataclass
class CA:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    revoked: list[tuple[int, dt.datetime]] = field(default_factory=list)

    def issue(
        self,
        cn: str,
        *,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        ca: bool = False,
        digital_signature: bool = True,
        non_repudiation: bool = True,
        subject: x509.Name | None = None,
    ) -> Issued:
        key = key or ec_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject or name(cn))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - 30 * DAY)
            .not_valid_after(not_after or NOW + 335 * DAY)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(
                _ku(
                    digital_signature=digital_signature or ca,
                    non_repudiation=non_repudiation,
                    ca=ca,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        return Issued(key, builder.sign(self.key, hashes.SHA256()))

    def revoke(self, serial: int, when: dt.datetime) -> None:
        self.revoked.append((serial, when))

    def crl(
        self,
        *,
        this_update: dt.datetime | None = None,
        next_update: dt.datetime | None = None,
        revoked: list[tuple[int, dt.datetime]] | None = None,
    ) -> x509.CertificateRevocationList:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(this_update or NOW - DAY)
            .next_update(next_update or NOW + 6 * DAY)
            .add_extension(x509.CRLNumber(len(self.revoked) + 1), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        for serial, when in self.revoked if revoked is None else revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(when)
                .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
                .build()
            )
        return builder.sign(self.key, hashes.SHA256())


def make_root(cn: str = "Main CA (test)") -> CA:
    key = ec_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 3650 * DAY)
        .not_valid_after(NOW + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ku(digital_signature=True, non_repudiation=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CA(key, cert)


def sub_ca(root: CA, cn: str = "DOS TEK GROUP CA (test)") -> CA:
    issued = root.issue(
        cn, ca=True, not_before=NOW - 1000 * DAY, not_after=NOW + 2000 * DAY, non_repudiation=False
    )
    return CA(issued.key, issued.cert)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_p12(
    path: Path, issued: Issued, chain: list[x509.Certificate], passphrase: bytes | None
) -> Path:
    enc = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(b"test", issued.key, issued.cert, chain, enc)
    )
    return path
