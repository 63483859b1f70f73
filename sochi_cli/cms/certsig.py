"""Signatures on certificates and CRLs for every algorithm sochi knows, and the same check as
pyhanko-certvalidator's SignatureValidator (the seam through which GOST reaches path validation).

`cryptography` checks RSA (PKCS#1 v1.5, PSS) and ECDSA; GOST R 34.10 goes to OpenSSL's gost
engine (`cms.gost`). pyhanko-certvalidator does RFC 5280 path validation and CRL processing
itself and asks a `SignatureValidator` only "does this signature over these bytes verify
with this key?": subclassing it is the narrowest place to plug GOST in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sochi_cli.errors import SignatureError

if TYPE_CHECKING:
    from cryptography import x509


def algorithm_of(signature_algorithm: Any) -> tuple[str, str, Any]:
    """(algorithm, digest, parameters) of an asn1crypto SignedDigestAlgorithm.

    algorithm: "rsassa_pkcs1v15" | "rsassa_pss" | "ecdsa" | "gost"; SignatureError
    (algorithm_unsupported) for anything else.
    """
    from sochi_cli.cms import gost

    oid = signature_algorithm["algorithm"].dotted
    if gost.is_gost_oid(oid):
        digest = gost.signature_digest(oid)
        if digest is None:
            raise SignatureError(f"{oid} is not a GOST signature", code="algorithm_unsupported")
        return "gost", digest, None
    try:
        name = signature_algorithm.signature_algo
    except ValueError:
        raise SignatureError(
            f"signature algorithm {oid} is not supported", code="algorithm_unsupported"
        ) from None
    parameters = signature_algorithm["parameters"]
    if name == "rsassa_pss":
        from sochi_cli.cms.verify import pss_padding

        _, digest = pss_padding(parameters)
        return name, digest, parameters
    if name not in ("rsassa_pkcs1v15", "ecdsa"):
        raise SignatureError(
            f"signature algorithm {name} is not supported", code="algorithm_unsupported"
        )
    try:
        digest = signature_algorithm.hash_algo
    except ValueError:
        raise SignatureError(
            f"signature algorithm {oid} names no digest", code="algorithm_unsupported"
        ) from None
    return name, str(digest), None


def signature_verifies(
    signature: bytes, signed_data: bytes, public_key_info: bytes, signature_algorithm: Any
) -> bool:
    """Whether `signature` over `signed_data` verifies; SignatureError for unknown algorithms."""
    from sochi_cli.cms.digest import hash_bytes
    from sochi_cli.cms.verify import verify_with_public_key

    algorithm, digest, parameters = algorithm_of(signature_algorithm)
    try:
        verify_with_public_key(
            public_key_info,
            signature,
            hash_bytes(digest, signed_data),
            algorithm=algorithm,
            digest_algorithm=digest,
            parameters=parameters,
        )
    except SignatureError as exc:
        if exc.code == "signature_invalid":
            return False
        raise
    return True


def _asn1(obj: Any, kind: str) -> Any:
    from asn1crypto import crl as acrl
    from asn1crypto import x509 as ax
    from cryptography.hazmat.primitives.serialization import Encoding

    der = obj.public_bytes(Encoding.DER)
    return ax.Certificate.load(der) if kind == "cert" else acrl.CertificateList.load(der)


def _signed_by(signed: Any, tbs: str, value: str, issuer: x509.Certificate) -> bool:
    from sochi_cli.cms.der import original
    from sochi_cli.cms.verify import public_key_info

    try:
        return signature_verifies(
            signed[value].native,
            original(signed[tbs]),  # the signed octets as they are, never re-encoded
            public_key_info(issuer),
            signed["signature_algorithm"],
        )
    except SignatureError:
        return False


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """`issuer`'s name is `cert`'s issuer and its key verifies `cert`'s signature."""
    if cert.issuer != issuer.subject:
        return False
    return _signed_by(_asn1(cert, "cert"), "tbs_certificate", "signature_value", issuer)


def crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    """The CRL names `issuer` and its signature verifies with the issuer's key."""
    if crl.issuer != issuer.subject:
        return False
    return _signed_by(_asn1(crl, "crl"), "tbs_cert_list", "signature", issuer)


def pyhanko_signature_validator() -> Any:
    """A pyhanko-certvalidator SignatureValidator: GOST through the engine, the rest as usual."""
    from cryptography.exceptions import InvalidSignature
    from pyhanko_certvalidator.errors import AlgorithmNotSupported
    from pyhanko_certvalidator.sig_validate import (
        DEFAULT_VALIDATION_CONTEXT,
        DefaultSignatureValidator,
    )

    from sochi_cli.cms import gost

    class GostAwareSignatureValidator(DefaultSignatureValidator):
        def validate_signature(
            self,
            signature: bytes,
            signed_data: bytes,
            public_key_info: Any,
            signature_algorithm: Any,
            context: Any = DEFAULT_VALIDATION_CONTEXT,
        ) -> None:
            oid = signature_algorithm["algorithm"].dotted
            if not gost.is_gost_oid(oid):
                super().validate_signature(
                    signature, signed_data, public_key_info, signature_algorithm, context
                )
                return
            from sochi_cli.cms.der import original

            try:
                ok = signature_verifies(
                    signature, signed_data, original(public_key_info), signature_algorithm
                )
            except SignatureError as exc:
                raise AlgorithmNotSupported(exc.one_line()) from None
            if not ok:
                raise InvalidSignature()

    return GostAwareSignatureValidator()


__all__ = [
    "algorithm_of",
    "crl_signed_by",
    "issued_by",
    "pyhanko_signature_validator",
    "signature_verifies",
]
