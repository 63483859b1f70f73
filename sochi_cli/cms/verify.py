"""Cryptographic check of a detached CMS signature: content digest + signature over the attributes.

Chains, CRLs and time are the clause-8 procedure's job (services/verify.py), not this module's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sochi_cli.cms.digest import Content, digest_content_multi
from sochi_cli.cms.parse import ParsedSignature, ParsedSigner, parse_signature
from sochi_cli.errors import SignatureError

if TYPE_CHECKING:
    from cryptography import x509


def _invalid(message: str, hint: str | None = None) -> SignatureError:
    return SignatureError(message, hint=hint, code="signature_invalid")


_HASHES = {"sha224": "SHA224", "sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512"}


def pss_padding(parameters: Any, digest_algorithm: str | None = None) -> tuple[Any, str]:
    """(cryptography PSS padding, hash name) from RSASSA-PSS-params (RFC 4055/4056).

    SHA-1 (the ASN.1 DEFAULT) and a hash other than the CMS digest are refused.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    params = parameters.native if parameters is not None else None
    params = params or {}
    hash_name = (params.get("hash_algorithm") or {}).get("algorithm", "sha1")
    mgf = params.get("mask_gen_algorithm") or {}
    mgf_hash = (mgf.get("parameters") or {}).get("algorithm", "sha1")
    salt = params.get("salt_length", 20)
    trailer = params.get("trailer_field", "trailer_field_bc")
    for name in (hash_name, mgf_hash):
        if name not in _HASHES:
            raise SignatureError(
                f"RSASSA-PSS with {name} is not supported (SHA-2 only)",
                code="algorithm_unsupported",
            )
    if mgf.get("algorithm", "mgf1") != "mgf1" or trailer not in ("trailer_field_bc", 1):
        raise SignatureError(
            "RSASSA-PSS parameters other than MGF1 and trailer 1 are not supported",
            code="algorithm_unsupported",
        )
    if digest_algorithm is not None and hash_name != digest_algorithm:
        raise _invalid(
            f"RSASSA-PSS hash {hash_name} differs from the digest algorithm {digest_algorithm}"
        )
    mgf_cls = getattr(hashes, _HASHES[mgf_hash])
    return padding.PSS(mgf=padding.MGF1(mgf_cls()), salt_length=int(salt)), hash_name


def verify_with_public_key(
    public_key_info: bytes,
    signature: bytes,
    digest_value: bytes,
    *,
    algorithm: str,
    digest_algorithm: str,
    parameters: Any = None,
) -> None:
    """Check a signature over a precomputed digest with a DER SubjectPublicKeyInfo.

    `algorithm`: "rsassa_pkcs1v15" | "rsassa_pss" | "ecdsa" | "gost". SignatureError
    (`signature_invalid`, or `algorithm_unsupported`) when it does not verify.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    if algorithm == "gost":
        from sochi_cli.cms import gost

        if not gost.verify_digest(public_key_info, signature, digest_value):
            raise _invalid(
                "the signature value does not verify with the signer certificate's public key",
                hint="signed with another key or the signed attributes were altered",
            )
        return
    hash_name = _HASHES.get(digest_algorithm)
    if hash_name is None:
        raise SignatureError(
            f"digest algorithm {digest_algorithm} is not supported with {algorithm}",
            code="algorithm_unsupported",
        )
    try:
        key = serialization.load_der_public_key(public_key_info)
    except Exception:
        raise SignatureError(
            "the signer's public key algorithm is not supported for verification",
            code="algorithm_unsupported",
        ) from None
    prehashed = Prehashed(getattr(hashes, hash_name)())
    try:
        if isinstance(key, rsa.RSAPublicKey) and algorithm == "rsassa_pkcs1v15":
            from cryptography.hazmat.primitives.asymmetric import padding

            key.verify(signature, digest_value, padding.PKCS1v15(), prehashed)
        elif isinstance(key, rsa.RSAPublicKey) and algorithm == "rsassa_pss":
            pad, _ = pss_padding(parameters, digest_algorithm)
            key.verify(signature, digest_value, pad, prehashed)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm == "ecdsa":
            key.verify(signature, digest_value, ec.ECDSA(prehashed))
        elif algorithm in ("rsassa_pkcs1v15", "rsassa_pss", "ecdsa"):
            raise _invalid(
                f"signature algorithm {algorithm} does not match the certificate's "
                f"{type(key).__name__.removeprefix('_')} key"
            )
        else:
            raise SignatureError(
                f"signature algorithm {algorithm} is not supported", code="algorithm_unsupported"
            )
    except InvalidSignature:
        raise _invalid(
            "the signature value does not verify with the signer certificate's public key",
            hint="signed with another key or the signed attributes were altered",
        ) from None


def public_key_info(certificate: x509.Certificate) -> bytes:
    """The certificate's DER SubjectPublicKeyInfo, whatever its algorithm (GOST too)."""
    from asn1crypto import x509 as ax
    from cryptography.hazmat.primitives.serialization import Encoding

    from sochi_cli.cms.der import original

    cert = ax.Certificate.load(certificate.public_bytes(Encoding.DER))
    return original(cert["tbs_certificate"]["subject_public_key_info"])


def check_signature_value(
    signer: ParsedSigner, certificate: x509.Certificate, content_digest: bytes
) -> None:
    """Verify the signature value with the certificate's public key (SignatureError if not)."""
    from sochi_cli.cms import gost
    from sochi_cli.cms.digest import hash_bytes

    algo = signer.signature_algorithm
    key_oid = certificate.public_key_algorithm_oid.dotted_string
    if algo == "gost" or key_oid in gost.KEYS:
        if algo != "gost" or key_oid not in gost.KEYS:
            raise _invalid(
                f"signature algorithm {signer.signature_oid} does not match the certificate's "
                f"{gost.KEYS.get(key_oid, (key_oid,))[0]} key"
            )
        expected = gost.signature_digest(signer.signature_oid, key_oid)
        if signer.digest_algorithm != expected:
            raise _invalid(
                f"a {gost.KEYS[key_oid][0]} signature uses {expected}, not "
                f"{signer.digest_algorithm}"
            )
    elif signer.digest_algorithm not in _HASHES:
        raise SignatureError(
            f"digest algorithm {signer.digest_algorithm} is not supported",
            code="algorithm_unsupported",
        )
    if signer.signed_attributes is not None:
        to_check = hash_bytes(signer.digest_algorithm, signer.signed_attributes)
    else:
        to_check = content_digest
    verify_with_public_key(
        public_key_info(certificate),
        signer.signature,
        to_check,
        algorithm=algo,
        digest_algorithm=signer.digest_algorithm,
        parameters=signer.signature_parameters,
    )


def verify_signer(
    signer: ParsedSigner,
    content_digests: dict[str, bytes],
    certificate: x509.Certificate | None = None,
) -> None:
    """All cryptographic checks for one SignerInfo against precomputed content digests."""
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = certificate or signer.signer_certificate
    if cert is None:
        raise _invalid(
            f"the signer certificate ({signer.signer_id}) is not in the signature",
            hint="pass the certificate explicitly",
        )
    content_digest = content_digests.get(signer.digest_algorithm)
    if content_digest is None:
        from sochi_cli.cms.digest import hash_bytes

        hash_bytes(signer.digest_algorithm, b"")  # raises the reason (unknown, engine missing)
        raise SignatureError(
            f"no {signer.digest_algorithm} digest of the content", code="algorithm_unsupported"
        )
    if signer.signed_attributes is not None:
        if signer.message_digest is None:
            raise _invalid("the signed attributes lack messageDigest")
        if signer.content_type not in (None, "data"):
            raise _invalid(f"unexpected contentType attribute {signer.content_type}")
        if signer.message_digest != content_digest:
            raise _invalid(
                "the content does not match the signature (messageDigest differs)",
                hint="the file was changed after signing or the signature is for another file",
            )
    check_signature_value(signer, cert, content_digest)
    if signer.ess_certificate_hash is not None:
        from sochi_cli.cms.digest import hash_bytes

        alg = signer.ess_hash_algorithm or "sha256"
        if hash_bytes(alg, cert.public_bytes(Encoding.DER)) != signer.ess_certificate_hash:
            raise _invalid("signingCertificateV2 does not match the signer certificate")


def verify_detached(der: bytes, content: Content) -> ParsedSignature:
    """Parse and cryptographically verify every signer of a detached signature over `content`."""
    parsed = parse_signature(der)
    digests = digest_content_multi(content, (s.digest_algorithm for s in parsed.signers))
    for signer in parsed.signers:
        verify_signer(signer, digests)
    return parsed


__all__ = [
    "check_signature_value",
    "pss_padding",
    "public_key_info",
    "verify_detached",
    "verify_signer",
    "verify_with_public_key",
]
