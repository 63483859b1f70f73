"""Assemble detached CAdES-BES SignedData around signature values produced by any Signer."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sochi_cli.cms.digest import Content, digest_content
from sochi_cli.errors import SignatureError
from sochi_cli.timeutil import as_utc, utcnow
from sochi_cli.token.base import SignatureAlgorithm, Signer, ecdsa_to_der

if TYPE_CHECKING:
    from cryptography import x509


def _asn1_cert(certificate: x509.Certificate) -> Any:
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


def _time_value(moment: datetime) -> Any:
    from asn1crypto import cms, tsp  # noqa: F401  (tsp registers signingCertificateV2)

    key = "utc_time" if 1950 <= moment.year < 2050 else "generalized_time"
    return cms.Time(name=key, value=moment)


def build_signed_attributes(
    content_digest: bytes, certificate: x509.Certificate, signing_time: datetime
) -> Any:
    """CAdES-BES signed attributes: contentType, signingTime, messageDigest, ESS certV2."""
    from asn1crypto import cms, tsp  # noqa: F401  (tsp registers signingCertificateV2)
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = _asn1_cert(certificate)
    ess_cert_id = {
        "cert_hash": hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest(),
        "issuer_serial": {
            "issuer": [asn1_x509.GeneralName(name="directory_name", value=cert.issuer)],
            "serial_number": cert.serial_number,
        },
    }
    return cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["data"]},
            {"type": "signing_time", "values": [_time_value(signing_time)]},
            {"type": "message_digest", "values": [content_digest]},
            {"type": "signing_certificate_v2", "values": [{"certs": [ess_cert_id]}]},
        ]
    )


def assemble_signed_data(
    signed_attrs: Any,
    signature: bytes,
    algorithm: SignatureAlgorithm,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
) -> bytes:
    """DER ContentInfo(SignedData) with one SignerInfo and no encapsulated content."""
    from asn1crypto import algos, cms

    if algorithm.key_type == "ec":
        signature = ecdsa_to_der(signature)
    cert = _asn1_cert(certificate)
    digest_algorithm = algos.DigestAlgorithm({"algorithm": algorithm.digest_oid})
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": cert.issuer,
                        "serial_number": cert.serial_number,
                    }
                }
            ),
            "digest_algorithm": digest_algorithm,
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm(
                {"algorithm": algorithm.cms_signature_oid}
            ),
            "signature": signature,
        }
    )
    seen: set[bytes] = set()
    certificates = []
    for c in (certificate, *chain):
        a = _asn1_cert(c)
        if a.dump() not in seen:
            seen.add(a.dump())
            certificates.append(a)
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {"content_type": "data"},
            "certificates": certificates,
            "signer_infos": [signer_info],
        }
    )
    info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    result: bytes = info.dump()
    return result


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body + content


_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")


class BatchTemplate:
    """Everything but the digest and the signature, DER-encoded once per batch.

    asn1crypto builds the structures once (with a marker digest); each file then costs two
    byte splices instead of a full object graph. `assemble_signed_data` is the reference
    the tests compare this against byte for byte.
    """

    def __init__(
        self,
        algorithm: SignatureAlgorithm,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate],
        signing_time: datetime,
    ) -> None:
        import os

        from asn1crypto.core import Integer, ObjectIdentifier
        from cryptography.hazmat.primitives.serialization import Encoding

        self.algorithm = algorithm
        marker = os.urandom(32)
        attrs: bytes = build_signed_attributes(marker, certificate, signing_time).dump()
        at = attrs.index(marker)
        self._attrs_head, self._attrs_tail = attrs[:at], attrs[at + len(marker) :]

        def oid(dotted: str) -> bytes:
            value: bytes = ObjectIdentifier(dotted).dump()
            return value

        version_1 = bytes.fromhex("020101")
        digest_algorithm = _der(0x30, oid(algorithm.digest_oid) + b"\x05\x00")  # NULL params
        sid = _der(
            0x30,
            certificate.issuer.public_bytes() + Integer(certificate.serial_number).dump(),
        )
        self._si_head = version_1 + sid + digest_algorithm
        null = b"\x05\x00" if algorithm.key_type == "rsa" else b""  # RFC 3370: RSA has NULL
        self._si_sig_alg = _der(0x30, oid(algorithm.cms_signature_oid) + null)
        seen: list[bytes] = []
        for cert in (certificate, *chain):
            der = cert.public_bytes(Encoding.DER)
            if der not in seen:
                seen.append(der)
        self._sd_head = (
            version_1
            + _der(0x31, digest_algorithm)
            + _der(0x30, oid("1.2.840.113549.1.7.1"))  # encapContentInfo: id-data, detached
            + _der(0xA0, b"".join(sorted(seen)))  # [0] IMPLICIT CertificateSet, DER order
        )

    def signed_attributes(self, content_digest: bytes) -> bytes:
        """DER SET OF signed attributes for one content digest (what is hashed and signed)."""
        return self._attrs_head + content_digest + self._attrs_tail

    def assemble(self, signed_attributes: bytes, signature: bytes) -> bytes:
        if self.algorithm.key_type == "ec":
            signature = ecdsa_to_der(signature)
        signer_info = _der(
            0x30,
            self._si_head
            + b"\xa0"
            + signed_attributes[1:]
            + self._si_sig_alg
            + _der(0x04, signature),
        )
        signed_data = _der(0x30, self._sd_head + _der(0x31, signer_info))
        return _der(0x30, _SIGNED_DATA_OID + _der(0xA0, signed_data))


def sign_detached_many(
    contents: Sequence[Content],
    signer: Signer,
    *,
    signing_time: datetime | None = None,
) -> list[bytes]:
    """Detached CAdES-BES signatures for each content, with one `sign_digests` call."""
    algorithm = signer.algorithm()
    if not algorithm.supported:
        raise SignatureError(
            f"{algorithm.name} signing is not supported: {algorithm.note}",
            code="algorithm_unsupported",
        )
    when = as_utc(signing_time or utcnow()).replace(microsecond=0)
    template = BatchTemplate(algorithm, signer.certificate, signer.chain, when)
    attrs = [template.signed_attributes(digest_content(c, algorithm.digest)) for c in contents]
    new_hash = (
        hashlib.sha256 if algorithm.digest == "sha256" else partial(hashlib.new, algorithm.digest)
    )
    to_sign = [new_hash(a).digest() for a in attrs]
    signatures = signer.sign_digests(to_sign)
    if len(signatures) != len(to_sign):
        raise SignatureError(
            f"the {signer.kind} signer returned {len(signatures)} signatures for "
            f"{len(to_sign)} digests",
            code="signer_failed",
        )
    return [template.assemble(a, s) for a, s in zip(attrs, signatures, strict=True)]


def sign_detached(
    content: Content, signer: Signer, *, signing_time: datetime | None = None
) -> bytes:
    """One detached CAdES-BES signature (DER) over `content`."""
    return sign_detached_many([content], signer, signing_time=signing_time)[0]


__all__ = [
    "BatchTemplate",
    "assemble_signed_data",
    "build_signed_attributes",
    "sign_detached",
    "sign_detached_many",
]
