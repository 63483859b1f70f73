"""Assemble detached CAdES-BES SignedData around signature values produced by any Signer."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sochi_cli.cms.digest import Content, digest_content, hash_bytes
from sochi_cli.errors import SignatureError
from sochi_cli.timeutil import as_utc, utcnow
from sochi_cli.token.base import SignatureAlgorithm, Signer, ecdsa_to_der

if TYPE_CHECKING:
    from cryptography import x509


def _asn1_cert(certificate: x509.Certificate) -> Any:
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from sochi_cli.cms.der import load

    return load(asn1_x509.Certificate, certificate.public_bytes(Encoding.DER))


def _asn1_issuer(certificate: x509.Certificate) -> Any:
    """The issuer Name, dumped as the certificate has it (cms.der: never re-encoded)."""
    from asn1crypto import x509 as asn1_x509

    from sochi_cli.cms.der import load

    sequence = load(asn1_x509.RDNSequence, certificate.issuer.public_bytes())
    return asn1_x509.Name(name="", value=sequence)  # Name is a CHOICE of one RDNSequence


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
            "issuer": [
                asn1_x509.GeneralName(name="directory_name", value=_asn1_issuer(certificate))
            ],
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
    from asn1crypto import algos, cms, core
    from cryptography.hazmat.primitives.serialization import Encoding

    if algorithm.key_type == "ec":
        signature = ecdsa_to_der(signature, size=algorithm.ec_size)
    cert = _asn1_cert(certificate)
    digest_algorithm = algos.DigestAlgorithm(
        {"algorithm": algorithm.digest_oid, "parameters": core.Null()}
    )
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": _asn1_issuer(certificate),
                        "serial_number": cert.serial_number,
                    }
                }
            ),
            "digest_algorithm": digest_algorithm,
            "signed_attrs": signed_attrs,
            "signature_algorithm": _signature_algorithm(algorithm),
            "signature": signature,
        }
    )
    seen: set[bytes] = set()
    certificates = []
    for c in (certificate, *chain):
        der = c.public_bytes(Encoding.DER)
        if der not in seen:
            seen.add(der)
            certificates.append(_asn1_cert(c))
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


def _signature_algorithm(algorithm: SignatureAlgorithm) -> Any:
    """SignerInfo.signatureAlgorithm: PSS parameters, NULL for RSA and GOST, none for ECDSA."""
    from asn1crypto import algos, core

    value = algos.SignedDigestAlgorithm({"algorithm": algorithm.cms_signature_oid})
    if algorithm.cms_signature_params is not None:
        value["parameters"] = algos.RSASSAPSSParams.load(algorithm.cms_signature_params)
    elif algorithm.key_type in ("rsa", "gost"):
        value["parameters"] = core.Null()
    return value


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _der(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _der_length(len(content)) + content


_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
_ATTR_OIDS = {
    "content_type": "1.2.840.113549.1.9.3",
    "signing_time": "1.2.840.113549.1.9.5",
    "message_digest": "1.2.840.113549.1.9.4",
    "signing_certificate_v2": "1.2.840.113549.1.9.16.2.47",
}
_DATA_OID = "1.2.840.113549.1.7.1"


class BatchTemplate:
    """Everything but the content digest and the signature, DER-encoded once per batch.

    The signed attributes (with one signingTime for the whole batch: one signing session),
    the SignerInfo around them and the SignedData with the certificates are laid out once;
    each file then costs one hash of `head + digest + tail` and one byte concatenation per
    signature length. `assemble_signed_data`/`build_signed_attributes` (asn1crypto) are the
    reference the tests compare this against byte for byte.
    """

    def __init__(
        self,
        algorithm: SignatureAlgorithm,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate],
        signing_time: datetime,
    ) -> None:
        from asn1crypto.core import GeneralizedTime, Integer, ObjectIdentifier, UTCTime
        from cryptography.hazmat.primitives.serialization import Encoding

        def oid(dotted: str) -> bytes:
            value: bytes = ObjectIdentifier(dotted).dump()
            return value

        self.algorithm = algorithm
        self.digest_size = algorithm.digest_size
        cert_der = certificate.public_bytes(Encoding.DER)
        issuer = certificate.issuer.public_bytes()
        serial: bytes = Integer(certificate.serial_number).dump()
        time_type = UTCTime if 1950 <= signing_time.year < 2050 else GeneralizedTime
        signing_time_der: bytes = time_type(signing_time).dump()

        # signed attributes: a DER SET OF, sorted by encoding; the OIDs differ before the
        # digest, so the order does not depend on the digest that is spliced in later
        ess_cert_id_v2 = _der(  # hashAlgorithm is the DEFAULT (SHA-256): omitted
            0x30,
            _der(0x04, hashlib.sha256(cert_der).digest())
            + _der(0x30, _der(0x30, _der(0xA4, issuer)) + serial),  # IssuerSerial
        )
        placeholder = bytes(self.digest_size)
        digest_attr = _der(
            0x30, oid(_ATTR_OIDS["message_digest"]) + _der(0x31, _der(0x04, placeholder))
        )
        attributes = sorted(
            [
                _der(0x30, oid(_ATTR_OIDS["content_type"]) + _der(0x31, oid(_DATA_OID))),
                _der(0x30, oid(_ATTR_OIDS["signing_time"]) + _der(0x31, signing_time_der)),
                digest_attr,
                _der(
                    0x30,
                    oid(_ATTR_OIDS["signing_certificate_v2"])
                    + _der(0x31, _der(0x30, _der(0x30, ess_cert_id_v2))),
                ),
            ]
        )
        attrs = _der(0x31, b"".join(attributes))
        at = attrs.index(digest_attr) + len(digest_attr) - self.digest_size
        self._attrs_head, self._attrs_tail = attrs[:at], attrs[at + self.digest_size :]
        self._attrs_size = len(attrs)

        version_1 = bytes.fromhex("020101")
        digest_algorithm = _der(0x30, oid(algorithm.digest_oid) + b"\x05\x00")  # NULL params
        self._si_head = version_1 + _der(0x30, issuer + serial) + digest_algorithm
        if algorithm.cms_signature_params is not None:  # RSASSA-PSS-params (RFC 4056)
            params = algorithm.cms_signature_params
        elif algorithm.key_type in ("rsa", "gost"):  # RFC 3370 / RFC 4490: NULL
            params = b"\x05\x00"
        else:  # ECDSA: absent (RFC 5753)
            params = b""
        self._si_sig_alg = _der(0x30, oid(algorithm.cms_signature_oid) + params)
        seen: list[bytes] = []
        for cert in (certificate, *chain):
            der = cert.public_bytes(Encoding.DER)
            if der not in seen:
                seen.append(der)
        self._sd_head = (
            version_1
            + _der(0x31, digest_algorithm)
            + _der(0x30, oid(_DATA_OID))  # encapContentInfo: id-data, detached
            + _der(0xA0, b"".join(sorted(seen)))  # [0] IMPLICIT CertificateSet, DER order
        )
        self._layouts: dict[int, tuple[bytes, bytes]] = {}

    def signed_attributes(self, content_digest: bytes) -> bytes:
        """DER SET OF signed attributes for one content digest (what is hashed and signed)."""
        if len(content_digest) != self.digest_size:
            raise SignatureError(
                f"a {self.algorithm.digest} digest is {self.digest_size} bytes",
                code="digest_invalid",
            )
        return self._attrs_head + content_digest + self._attrs_tail

    def attribute_parts(self) -> tuple[bytes, bytes]:
        """(head, tail): the signed attributes of a digest are `head + digest + tail`."""
        return self._attrs_head, self._attrs_tail

    def _layout(self, signature_size: int) -> tuple[bytes, bytes]:
        """(bytes before the content digest, bytes between it and the signature value)."""
        layout = self._layouts.get(signature_size)
        if layout is None:
            signature_header = b"\x04" + _der_length(signature_size)
            signer_info_size = (
                len(self._si_head)
                + self._attrs_size
                + len(self._si_sig_alg)
                + len(signature_header)
                + signature_size
            )
            signer_info_header = b"\x30" + _der_length(signer_info_size)
            signer_info_total = len(signer_info_header) + signer_info_size
            set_header = b"\x31" + _der_length(signer_info_total)
            signed_data_size = len(self._sd_head) + len(set_header) + signer_info_total
            signed_data_header = b"\x30" + _der_length(signed_data_size)
            explicit_size = len(signed_data_header) + signed_data_size
            explicit_header = b"\xa0" + _der_length(explicit_size)
            info_size = len(_SIGNED_DATA_OID) + len(explicit_header) + explicit_size
            layout = (
                b"\x30"
                + _der_length(info_size)
                + _SIGNED_DATA_OID
                + explicit_header
                + signed_data_header
                + self._sd_head
                + set_header
                + signer_info_header
                + self._si_head
                + b"\xa0"  # [0] IMPLICIT SET OF: same length bytes as the SET
                + self._attrs_head[1:],
                self._attrs_tail + self._si_sig_alg + signature_header,
            )
            self._layouts[signature_size] = layout
        return layout

    def signed_data(self, content_digest: bytes, signature: bytes) -> bytes:
        """DER ContentInfo(SignedData) for one content digest and its signature value."""
        if self.algorithm.key_type == "ec":
            signature = ecdsa_to_der(signature, size=self.algorithm.ec_size)
        if len(content_digest) != self.digest_size:
            raise SignatureError(
                f"a {self.algorithm.digest} digest is {self.digest_size} bytes",
                code="digest_invalid",
            )
        head, middle = self._layout(len(signature))
        return head + content_digest + middle + signature

    def assemble(self, signed_attributes: bytes, signature: bytes) -> bytes:
        """DER ContentInfo(SignedData) around `signed_attributes(digest)` and its signature."""
        head, tail = self._attrs_head, self._attrs_tail
        if (
            len(signed_attributes) != self._attrs_size
            or not signed_attributes.startswith(head)
            or not signed_attributes.endswith(tail)
        ):
            raise SignatureError(
                "signed attributes were not made by this template", code="signature_malformed"
            )
        return self.signed_data(
            signed_attributes[len(head) : len(head) + self.digest_size], signature
        )


def sign_detached_many(
    contents: Sequence[Content],
    signer: Signer,
    *,
    signing_time: datetime | None = None,
) -> list[bytes]:
    """Detached CAdES-BES signatures for each content, with one `sign_digests` call.

    One signingTime for the whole batch (one signing session); the per-file work is the
    content digest, one hash over the spliced signed attributes and one concatenation.
    """
    algorithm = signer.algorithm()
    if not algorithm.supported:
        raise SignatureError(
            f"{algorithm.name} signing is not supported: {algorithm.note}",
            code="algorithm_unsupported",
        )
    when = as_utc(signing_time or utcnow()).replace(microsecond=0)
    template = BatchTemplate(algorithm, signer.certificate, signer.chain, when)
    name = algorithm.digest
    digests = [digest_content(c, name) for c in contents]
    head, tail = template.attribute_parts()
    sign_data = getattr(signer, "sign_data", None)
    if sign_data is not None and getattr(signer, "hashes_on_device", False):
        # a token that hashes itself (CKM_GOSTR3410_WITH_GOSTR3411…) gets the attributes
        signatures = sign_data([head + d + tail for d in digests])
    else:
        if name == "sha256":
            sha256 = hashlib.sha256
            to_sign = [sha256(head + d + tail).digest() for d in digests]
        else:
            to_sign = [hash_bytes(name, head + d + tail) for d in digests]
        signatures = signer.sign_digests(to_sign)
    if len(signatures) != len(digests):
        raise SignatureError(
            f"the {signer.kind} signer returned {len(signatures)} signatures for "
            f"{len(digests)} digests",
            code="signer_failed",
        )
    signed_data = template.signed_data
    return [signed_data(d, s) for d, s in zip(digests, signatures, strict=True)]


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
