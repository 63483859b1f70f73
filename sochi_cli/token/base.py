"""The Signer protocol every key backend implements, and the table of signature algorithms.

A signer turns SHA-256 digests of DER signed attributes into signature values ready for a
CMS SignerInfo (RSA: the PKCS#1 v1.5 block; ECDSA: a DER `Ecdsa-Sig-Value`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

from sochi_cli.errors import SignatureError

if TYPE_CHECKING:
    from cryptography import x509


@dataclass(frozen=True)
class SignatureAlgorithm:
    """One row of the algorithm table: how a key type signs and how CMS names it."""

    name: str  # "RSA-PKCS1v15-SHA256"
    key_type: str  # "rsa" | "ec" | "gost"
    digest: str  # hashlib name of the digest; "streebog256" for GOST
    digest_oid: str
    cms_signature_oid: str  # SignerInfo.signatureAlgorithm
    csc_sign_oid: str  # CSC signHash "signAlgo"
    pkcs11_mechanism: str  # name in pkcs11.Mechanism used on the token
    software_verify: bool  # can sochi verify it without the token?
    supported: bool  # end to end in this release
    note: str = ""


RSA_PKCS1V15_SHA256 = SignatureAlgorithm(
    name="RSA-PKCS1v15-SHA256",
    key_type="rsa",
    digest="sha256",
    digest_oid="2.16.840.1.101.3.4.2.1",
    cms_signature_oid="1.2.840.113549.1.1.1",  # rsaEncryption, as OpenSSL writes it
    csc_sign_oid="1.2.840.113549.1.1.11",  # sha256WithRSAEncryption
    pkcs11_mechanism="RSA_PKCS",  # over DigestInfo(SHA-256, digest)
    software_verify=True,
    supported=True,
)

ECDSA_P256_SHA256 = SignatureAlgorithm(
    name="ECDSA-P256-SHA256",
    key_type="ec",
    digest="sha256",
    digest_oid="2.16.840.1.101.3.4.2.1",
    cms_signature_oid="1.2.840.10045.4.3.2",  # ecdsa-with-SHA256
    csc_sign_oid="1.2.840.10045.4.3.2",
    pkcs11_mechanism="ECDSA",  # over the digest; raw r||s converted to DER
    software_verify=True,
    supported=True,
)

GOST_2012_256_STREEBOG256 = SignatureAlgorithm(
    name="GOST-R-34.10-2012-256-Streebog256",
    key_type="gost",
    digest="streebog256",
    digest_oid="1.2.643.7.1.1.2.2",
    cms_signature_oid="1.2.643.7.1.1.1.1",  # GOST R 34.10-2012 256-bit public key
    csc_sign_oid="1.2.643.7.1.1.3.2",  # signwithdigest-gost3410-12-256
    pkcs11_mechanism="GOSTR3410",  # vendor-neutral CKM_GOSTR3410 over a Streebog digest
    software_verify=False,
    supported=False,
    note=(
        "not supported yet: needs a Streebog-256 content digest (no maintained pure-Python "
        "or OpenSSL 3 default-provider implementation) and software GOST verification"
    ),
)

ALGORITHMS: tuple[SignatureAlgorithm, ...] = (
    RSA_PKCS1V15_SHA256,
    ECDSA_P256_SHA256,
    GOST_2012_256_STREEBOG256,
)

_GOST_KEY_OIDS = ("1.2.643.7.1.1.1.1", "1.2.643.7.1.1.1.2", "1.2.643.2.2.19")


@runtime_checkable
class Signer(Protocol):
    """A key that signs digests; `with signer:` opens the session (and logs in) once."""

    chain: list[x509.Certificate]  # intermediates (+ root if known), may be empty
    kind: str  # "file" | "pkcs11" | "cloud"

    @property
    def certificate(self) -> x509.Certificate: ...

    def algorithm(self) -> SignatureAlgorithm: ...

    def sign_digests(self, digests: Sequence[bytes]) -> list[bytes]: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def algorithm_for_certificate(certificate: x509.Certificate) -> SignatureAlgorithm:
    """The table row for the certificate's public key; unsupported keys are a SignatureError."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        key = certificate.public_key()
    except Exception:
        oid = certificate.public_key_algorithm_oid.dotted_string
        if oid in _GOST_KEY_OIDS:
            raise SignatureError(
                "GOST R 34.10-2012 keys are not supported yet",
                hint="use an RSA or ECDSA P-256 certificate (see docs/signing.md)",
                code="algorithm_unsupported",
            ) from None
        raise SignatureError(
            f"unsupported public key algorithm {oid}", code="algorithm_unsupported"
        ) from None
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_PKCS1V15_SHA256
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name != "secp256r1":
            raise SignatureError(
                f"ECDSA curve {key.curve.name} is not supported (P-256 only)",
                code="algorithm_unsupported",
            )
        return ECDSA_P256_SHA256
    raise SignatureError(
        f"unsupported public key type {type(key).__name__}", code="algorithm_unsupported"
    )


_SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def sha256_digest_info(digest: bytes) -> bytes:
    """DER DigestInfo(SHA-256, digest): what CKM_RSA_PKCS signs for PKCS#1 v1.5."""
    if len(digest) != 32:
        raise SignatureError("a SHA-256 digest is 32 bytes", code="digest_invalid")
    return _SHA256_DIGEST_INFO_PREFIX + digest


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _der_unsigned(value: bytes) -> bytes:
    """DER INTEGER of a big-endian unsigned value: minimal, with a 0 byte if the top bit is set."""
    value = value.lstrip(b"\x00")
    if not value or value[0] & 0x80:
        value = b"\x00" + value
    return b"\x02" + _der_length(len(value)) + value


def ecdsa_raw_to_der(raw: bytes) -> bytes:
    """PKCS#11/CSC raw `r || s` → DER Ecdsa-Sig-Value as CMS wants it."""
    if len(raw) % 2 or not raw:
        raise SignatureError("malformed raw ECDSA signature", code="signature_malformed")
    half = len(raw) // 2
    body = _der_unsigned(raw[:half]) + _der_unsigned(raw[half:])
    return b"\x30" + _der_length(len(body)) + body


def _is_der_ecdsa(value: bytes) -> bool:
    """Strict DER `SEQUENCE { INTEGER r, INTEGER s }` (short lengths, minimal, positive)."""
    size = len(value)
    if size < 8 or value[0] != 0x30 or value[1] != size - 2 or value[2] != 0x02:
        return False
    r_size = value[3]
    s_at = 4 + r_size
    if r_size == 0 or r_size >= 0x80 or s_at + 2 > size or value[s_at] != 0x02:
        return False
    s_size = value[s_at + 1]
    if s_size == 0 or s_size >= 0x80 or s_at + 2 + s_size != size:
        return False
    for at, length in ((4, r_size), (s_at + 2, s_size)):
        first = value[at]
        if first & 0x80 or (first == 0 and (length == 1 or not value[at + 1] & 0x80)):
            return False  # negative, or a non-minimal leading zero byte
    return True


def ecdsa_to_der(value: bytes, *, size: int = 32) -> bytes:
    """Accept either DER or raw `r || s` (both appear in the wild) and return DER."""
    if _is_der_ecdsa(value):
        return value
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    if len(value) > 2 and value[0] == 0x30 and value[1] == len(value) - 2:
        try:
            decode_dss_signature(value)
        except ValueError:
            pass
        else:
            return value
    if len(value) == 2 * size:
        return ecdsa_raw_to_der(value)
    raise SignatureError("malformed ECDSA signature", code="signature_malformed")


__all__ = [
    "ALGORITHMS",
    "ECDSA_P256_SHA256",
    "GOST_2012_256_STREEBOG256",
    "RSA_PKCS1V15_SHA256",
    "SignatureAlgorithm",
    "Signer",
    "algorithm_for_certificate",
    "ecdsa_raw_to_der",
    "ecdsa_to_der",
    "sha256_digest_info",
]
