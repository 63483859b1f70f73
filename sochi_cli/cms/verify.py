"""Cryptographic check of a detached CMS signature: content digest + signature over the attributes.

Chains, CRLs and time are the clause-8 procedure's job (services/verify.py), not this module's.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sochi_cli.cms.digest import Content, digest_content_multi
from sochi_cli.cms.parse import ParsedSignature, ParsedSigner, parse_signature
from sochi_cli.errors import SignatureError

if TYPE_CHECKING:
    from cryptography import x509


def _invalid(message: str, hint: str | None = None) -> SignatureError:
    return SignatureError(message, hint=hint, code="signature_invalid")


def check_signature_value(
    signer: ParsedSigner, certificate: x509.Certificate, content_digest: bytes
) -> None:
    """Verify the signature value with the certificate's public key (SignatureError if not)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    hash_cls: type[hashes.HashAlgorithm] | None = {
        "sha256": hashes.SHA256,
        "sha384": hashes.SHA384,
        "sha512": hashes.SHA512,
        "sha224": hashes.SHA224,
    }.get(signer.digest_algorithm)
    if hash_cls is None:
        raise SignatureError(
            f"digest algorithm {signer.digest_algorithm} is not supported",
            code="algorithm_unsupported",
        )
    if signer.signed_attributes is not None:
        to_check = hashlib.new(signer.digest_algorithm, signer.signed_attributes).digest()
    else:
        to_check = content_digest
    prehashed = Prehashed(hash_cls())
    try:
        key = certificate.public_key()
    except Exception:
        raise SignatureError(
            "the signer's public key algorithm is not supported for verification "
            f"({certificate.public_key_algorithm_oid.dotted_string})",
            code="algorithm_unsupported",
        ) from None
    algo = signer.signature_algorithm
    try:
        if isinstance(key, rsa.RSAPublicKey) and algo == "rsassa_pkcs1v15":
            key.verify(signer.signature, to_check, padding.PKCS1v15(), prehashed)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algo == "ecdsa":
            key.verify(signer.signature, to_check, ec.ECDSA(prehashed))
        elif algo in ("rsassa_pkcs1v15", "ecdsa"):
            raise _invalid(
                f"signature algorithm {algo} does not match the certificate's "
                f"{type(key).__name__.removeprefix('_')} key"
            )
        else:
            raise SignatureError(
                f"signature algorithm {algo} is not supported", code="algorithm_unsupported"
            )
    except InvalidSignature:
        raise _invalid(
            "the signature value does not verify with the signer certificate's public key",
            hint="signed with another key or the signed attributes were altered",
        ) from None


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
    content_digest = content_digests[signer.digest_algorithm]
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
        alg = signer.ess_hash_algorithm or "sha256"
        if (
            hashlib.new(alg, cert.public_bytes(Encoding.DER)).digest()
            != signer.ess_certificate_hash
        ):
            raise _invalid("signingCertificateV2 does not match the signer certificate")


def verify_detached(der: bytes, content: Content) -> ParsedSignature:
    """Parse and cryptographically verify every signer of a detached signature over `content`."""
    parsed = parse_signature(der)
    digests = digest_content_multi(content, (s.digest_algorithm for s in parsed.signers))
    for signer in parsed.signers:
        verify_signer(signer, digests)
    return parsed


__all__ = ["check_signature_value", "verify_detached", "verify_signer"]
