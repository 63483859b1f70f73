"""Parse a detached CMS SignedData (DER or PEM) into plain values; garbage is one clear error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sochi_cli.cms.der import as_set, original
from sochi_cli.errors import SignatureError
from sochi_cli.timeutil import as_utc

if TYPE_CHECKING:
    from cryptography import x509


@dataclass(frozen=True)
class ParsedSigner:
    """One SignerInfo: who, when, over what digest, with which algorithm."""

    signer_certificate: x509.Certificate | None
    signer_id: str  # "issuer=…, serial=…" or "ski=…", for reports when the cert is missing
    signing_time: datetime | None  # aware UTC, from the signingTime attribute
    message_digest: bytes | None
    digest_algorithm: str  # "sha256" | "gostr3411_94" | "streebog256" | OID when unknown
    signature_algorithm: str  # "rsassa_pkcs1v15" | "rsassa_pss" | "ecdsa" | "gost" | OID
    signature: bytes
    signed_attributes: bytes | None  # DER SET OF Attribute, exactly as signed
    content_type: str | None
    ess_certificate_hash: bytes | None  # signingCertificateV2 (SHA-256) or None
    ess_hash_algorithm: str | None
    signature_oid: str = ""  # SignerInfo.signatureAlgorithm, dotted
    signature_parameters: Any = None  # asn1crypto parameters (RSASSA-PSS-params) or None


@dataclass(frozen=True)
class ParsedSignature:
    """A SignedData: its certificates and signer(s); top-level fields describe the first signer."""

    certificates: tuple[x509.Certificate, ...]
    signers: tuple[ParsedSigner, ...]
    detached: bool

    @property
    def signer(self) -> ParsedSigner:
        return self.signers[0]

    @property
    def signer_certificate(self) -> x509.Certificate | None:
        return self.signers[0].signer_certificate

    @property
    def signing_time(self) -> datetime | None:
        return self.signers[0].signing_time

    @property
    def message_digest(self) -> bytes | None:
        return self.signers[0].message_digest

    @property
    def digest_algorithm(self) -> str:
        return self.signers[0].digest_algorithm

    @property
    def signature_algorithm(self) -> str:
        return self.signers[0].signature_algorithm


def _malformed(reason: str) -> SignatureError:
    return SignatureError(
        f"not a valid CMS signature: {reason}",
        hint="expected a detached CMS/PKCS#7 SignedData (.p7s, DER or PEM)",
        code="signature_malformed",
    )


def _unarmor(data: bytes) -> bytes:
    if data.lstrip().startswith(b"-----BEGIN"):
        from asn1crypto import pem

        try:
            _, _, der = pem.unarmor(data.strip())
        except ValueError:
            raise _malformed("bad PEM armour") from None
        return bytes(der)
    return data


def _signer_id(sid: Any) -> tuple[str, Any]:
    if sid.name == "issuer_and_serial_number":
        value = sid.chosen
        return (
            f"issuer={value['issuer'].human_friendly}, serial={value['serial_number'].native:x}",
            value,
        )
    return f"ski={sid.chosen.native.hex()}", sid.chosen.native


def _match_certificate(sid: Any, certs: list[tuple[Any, x509.Certificate]]) -> Any:
    for asn1_cert, cert in certs:
        if sid.name == "issuer_and_serial_number":
            value = sid.chosen
            if (
                asn1_cert.issuer == value["issuer"]
                and asn1_cert.serial_number == value["serial_number"].native
            ):
                return cert
        elif asn1_cert.key_identifier == sid.chosen.native:
            return cert
    return None


def _parse_signer(info: Any, certs: list[tuple[Any, x509.Certificate]]) -> ParsedSigner:
    sid = info["sid"]
    description, _ = _signer_id(sid)
    from sochi_cli.cms import gost

    digest_oid = info["digest_algorithm"]["algorithm"].dotted
    digest_algorithm = gost.DIGEST_BY_OID.get(digest_oid) or str(
        info["digest_algorithm"]["algorithm"].native
    )
    sig_alg = info["signature_algorithm"]
    signature_oid = sig_alg["algorithm"].dotted
    if gost.is_gost_oid(signature_oid):
        signature_algorithm = "gost"
    else:
        try:
            signature_algorithm = sig_alg.signature_algo
        except ValueError:
            signature_algorithm = signature_oid
    parameters = sig_alg["parameters"] if signature_algorithm == "rsassa_pss" else None
    signing_time = message_digest = content_type = ess_hash = ess_alg = None
    signed_attributes = None
    attrs = info["signed_attrs"]
    # the octets as read, taken before touching .native: never re-encoded (cms.der)
    if attrs.contents is not None and len(attrs):
        signed_attributes = as_set(attrs)
        for attr in attrs:
            kind = attr["type"].native
            values = attr["values"]
            if len(values) != 1:
                raise _malformed(f"attribute {kind} must have exactly one value")
            if kind == "signing_time":
                signing_time = as_utc(values[0].native)
            elif kind == "message_digest":
                message_digest = values[0].native
            elif kind == "content_type":
                content_type = values[0].native
            elif kind == "signing_certificate_v2":
                ids = values[0]["certs"]
                if len(ids):
                    ess_hash = ids[0]["cert_hash"].native
                    ess_oid = ids[0]["hash_algorithm"]["algorithm"]
                    ess_alg = gost.DIGEST_BY_OID.get(ess_oid.dotted) or ess_oid.native
    return ParsedSigner(
        signer_certificate=_match_certificate(sid, certs),
        signer_id=description,
        signing_time=signing_time,
        message_digest=message_digest,
        digest_algorithm=digest_algorithm,
        signature_algorithm=signature_algorithm,
        signature=info["signature"].native,
        signed_attributes=signed_attributes,
        content_type=content_type,
        ess_certificate_hash=ess_hash,
        ess_hash_algorithm=ess_alg,
        signature_oid=signature_oid,
        signature_parameters=parameters,
    )


def parse_signature(der: bytes) -> ParsedSignature:
    """Parse a CMS SignedData; SignatureError(code="signature_malformed") on anything else."""
    from asn1crypto import cms, tsp  # noqa: F401  (tsp registers signingCertificateV2)
    from cryptography import x509

    data = _unarmor(bytes(der))
    if not data:
        raise _malformed("the file is empty")
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "signed_data":
            raise _malformed(f"content type is {info['content_type'].native}, not signedData")
        signed = info["content"]
        certs: list[tuple[Any, x509.Certificate]] = []
        for choice in signed["certificates"] or []:
            if choice.name == "certificate":
                cert = x509.load_der_x509_certificate(original(choice.chosen))
                certs.append((choice.chosen, cert))
        infos = list(signed["signer_infos"])
        if not infos:
            raise _malformed("no signer")
        signers = tuple(_parse_signer(i, certs) for i in infos)
        detached = signed["encap_content_info"]["content"].native is None
    except SignatureError:
        raise
    except Exception as exc:  # asn1crypto raises many types on damaged input
        reason = (
            "truncated or damaged DER"
            if "insufficient data" in str(exc).lower()
            else ("damaged DER structure")
        )
        raise _malformed(reason) from None
    return ParsedSignature(
        certificates=tuple(c for _, c in certs), signers=signers, detached=detached
    )


__all__ = ["ParsedSignature", "ParsedSigner", "parse_signature"]
