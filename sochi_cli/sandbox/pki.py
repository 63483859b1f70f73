"""The sandbox PKI: Main CA (sandbox) root → operator CA → subscribers, receipt keys, the CRL.

Generated once per data directory with `cryptography` and kept in `DATA_DIR/pki` (keys 0600).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from sochi_cli.store.files import atomic_write_bytes, make_private_dirs

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import (
        CertificateIssuerPrivateKeyTypes,
        CertificatePublicKeyTypes,
    )

    from sochi_cli.token.file import KeySigner

OPERATOR_NAME = "DOS TEK GROUP LLC"
OPERATOR_INN = "00211200910051"
AGENCIES: dict[str, str] = {
    "STS": "State Tax Service",
    "SF": "Social Fund",
    "NSC": "National Statistics Committee",
}
REASONS: dict[str, x509.ReasonFlags] = {
    "key_compromise": x509.ReasonFlags.key_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "unspecified": x509.ReasonFlags.unspecified,
}
_EPOCH = datetime(2024, 1, 1).astimezone()


def _name(**parts: str) -> x509.Name:
    oids = {
        "C": NameOID.COUNTRY_NAME,
        "L": NameOID.LOCALITY_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "T": NameOID.TITLE,
        "CN": NameOID.COMMON_NAME,
        "SN": NameOID.SERIAL_NUMBER,
    }
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in parts.items() if v])


def serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")


@dataclass
class Issuer:
    key: CertificateIssuerPrivateKeyTypes
    cert: x509.Certificate


class Pki:
    """Loads (or creates) the hierarchy; issues certificates; signs CRLs and receipts."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        make_private_dirs(directory)
        self._crl_lock = threading.Lock()
        self._crl: bytes | None = None
        self._root_crl: tuple[datetime, bytes] | None = None
        self.root = self._load_or_make("root", None, "Main CA (sandbox)", ca=True, path_len=1)
        self.operator_ca = self._load_or_make(
            "operator-ca", self.root, f"{OPERATOR_NAME} CA (sandbox)", ca=True, path_len=0
        )
        self.receipts = self._load_or_make(
            "operator-receipts", self.operator_ca, f"{OPERATOR_NAME} receipts (sandbox)"
        )
        self.agencies = {
            code: self._load_or_make(
                f"agency-{code.lower()}", self.operator_ca, f"{name} (sandbox)"
            )
            for code, name in AGENCIES.items()
        }
        self._signers: dict[str, KeySigner] = {}
        self._templates: dict[tuple[str, datetime], Any] = {}

    # ---- hierarchy -------------------------------------------------------------------
    def _load_or_make(
        self,
        stem: str,
        parent: Issuer | None,
        common_name: str,
        *,
        ca: bool = False,
        path_len: int | None = None,
    ) -> Issuer:
        key_path = self.directory / f"{stem}.key"
        cert_path = self.directory / f"{stem}.pem"
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return Issuer(key, x509.load_pem_x509_certificate(cert_path.read_bytes()))
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(C="KG", L="Bishkek", O=OPERATOR_NAME, CN=common_name)
        issuer_key: CertificateIssuerPrivateKeyTypes = parent.key if parent else key
        issuer_name = parent.cert.subject if parent else subject
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_EPOCH)
            .not_valid_after(_EPOCH + timedelta(days=365 * 30))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )
        if parent:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
                False,
            )
        if ca:
            builder = builder.add_extension(
                x509.BasicConstraints(ca=True, path_length=path_len), True
            ).add_extension(_key_usage(cert_sign=True), True)
        else:
            builder = builder.add_extension(
                x509.BasicConstraints(ca=False, path_length=None), True
            ).add_extension(_key_usage(digital_signature=True, non_repudiation=True), True)
        cert = builder.sign(issuer_key, hashes.SHA256())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        atomic_write_bytes(key_path, key_pem, mode=0o600)
        atomic_write_bytes(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return Issuer(key, cert)

    def chain(self) -> list[x509.Certificate]:
        """Operator CA then the root: what a subscriber signature embeds after its own cert."""
        return [self.operator_ca.cert, self.root.cert]

    # ---- subscribers -----------------------------------------------------------------
    def issue(
        self,
        public_key: CertificatePublicKeyTypes,
        *,
        inn: str,
        owner_name: str,
        position: str,
        org_name: str,
        not_before: datetime,
        not_after: datetime,
        digital_signature: bool = True,
        non_repudiation: bool = True,
    ) -> x509.Certificate:
        subject = _name(C="KG", O=org_name, T=position, CN=owner_name, SN=inn)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.operator_ca.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(
                _key_usage(
                    digital_signature=digital_signature,
                    non_repudiation=non_repudiation,
                    key_encipherment=not (digital_signature or non_repudiation),
                ),
                True,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.operator_ca.key.public_key()
                ),
                False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        )
        return builder.sign(self.operator_ca.key, hashes.SHA256())

    # ---- CRL -------------------------------------------------------------------------
    def crl(self, revoked: list[tuple[str, datetime, str]], now: datetime) -> bytes:
        """The operator CA's CRL (DER) for `(serial_hex, revoked_at, reason)` rows; cached."""
        with self._crl_lock:
            if self._crl is not None:
                return self._crl
            builder = (
                x509.CertificateRevocationListBuilder()
                .issuer_name(self.operator_ca.cert.subject)
                .last_update(now)
                .next_update(now + timedelta(days=7))
            )
            for serial, revoked_at, reason in revoked:
                entry = (
                    x509.RevokedCertificateBuilder()
                    .serial_number(int(serial, 16))
                    .revocation_date(revoked_at)
                    .add_extension(
                        x509.CRLReason(REASONS.get(reason, x509.ReasonFlags.unspecified)), False
                    )
                    .build()
                )
                builder = builder.add_revoked_certificate(entry)
            crl = builder.sign(self.operator_ca.key, hashes.SHA256())
            self._crl = crl.public_bytes(serialization.Encoding.DER)
            return self._crl

    def root_crl(self, now: datetime) -> bytes:
        """The Main CA (sandbox)'s CRL (DER): it has revoked no CA; reissued every 30 days."""
        with self._crl_lock:
            if self._root_crl is not None and now - self._root_crl[0] < timedelta(days=1):
                return self._root_crl[1]
            crl = (
                x509.CertificateRevocationListBuilder()
                .issuer_name(self.root.cert.subject)
                .last_update(now)
                .next_update(now + timedelta(days=30))
                .sign(self.root.key, hashes.SHA256())
            )
            der = crl.public_bytes(serialization.Encoding.DER)
            self._root_crl = (now, der)
            return der

    def invalidate_crl(self) -> None:
        with self._crl_lock:
            self._crl = None

    # ---- receipt signing -------------------------------------------------------------
    def signer(self, issuer: str) -> KeySigner:
        """`operator` or an agency code → the KeySigner for its receipts/protocols."""
        from sochi_cli.token.file import KeySigner

        if issuer not in self._signers:
            source = self.receipts if issuer == "operator" else self.agencies[issuer]
            self._signers[issuer] = KeySigner(source.key, source.cert, self.chain())
        return self._signers[issuer]

    def sign(self, issuer: str, document: bytes, when: datetime) -> bytes:
        """Detached CAdES-BES over `document` by `issuer`'s key at `when` (whole seconds).

        The CMS template (certificates, attributes) is built once per issuer and second and
        reused: building it costs far more than the signature itself.
        """
        import hashlib

        from sochi_cli.cms.build import BatchTemplate

        signer = self.signer(issuer)
        when = when.replace(microsecond=0)
        with self._crl_lock:
            template = self._templates.get((issuer, when))
            if template is None:
                if len(self._templates) > 64:
                    self._templates.clear()
                template = BatchTemplate(signer.algorithm(), signer.certificate, signer.chain, when)
                self._templates[(issuer, when)] = template
        attributes = template.signed_attributes(hashlib.sha256(document).digest())
        signature = signer.sign_digests([hashlib.sha256(attributes).digest()])[0]
        result: bytes = template.assemble(attributes, signature)
        return result

    def issued_by_operator(self, cert: x509.Certificate) -> bool:
        if cert.issuer != self.operator_ca.cert.subject:
            return False
        try:
            cert.verify_directly_issued_by(self.operator_ca.cert)
        except (ValueError, TypeError, Exception):
            return False
        return True


def _key_usage(
    *,
    digital_signature: bool = False,
    non_repudiation: bool = False,
    key_encipherment: bool = False,
    cert_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def new_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


__all__ = ["AGENCIES", "OPERATOR_INN", "OPERATOR_NAME", "REASONS", "Pki", "serial_hex"]
