"""The Signer protocol every key backend implements, and the table of signature algorithms.

A signer turns digests of DER signed attributes (the row's digest: SHA-2 or GOST) into
signature values ready for a CMS SignerInfo (RSA: the PKCS#1 v1.5 or PSS block; ECDSA: a
DER `Ecdsa-Sig-Value`; GOST: `s || r`).
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
    digest: str  # digest name: hashlib's for SHA-2; "gostr3411_94" | "streebog256/512"
    digest_oid: str
    cms_signature_oid: str  # SignerInfo.signatureAlgorithm
    csc_sign_oid: str  # CSC signHash "signAlgo"
    pkcs11_mechanism: str  # name in pkcs11.Mechanism (or the RuToken vendor name)
    software_verify: bool  # can sochi verify it without the token?
    supported: bool  # end to end in this release
    note: str = ""
    cms_signature_params: bytes | None = None  # DER parameters (RSASSA-PSS-params)
    ec_size: int = 0  # ECDSA: bytes of r and of s in the raw r || s form

    @property
    def digest_size(self) -> int:
        return {"sha384": 48, "sha512": 64, "streebog512": 64, "sha224": 28}.get(self.digest, 32)

    @property
    def pss(self) -> bool:
        return self.cms_signature_oid == RSASSA_PSS_OID


RSASSA_PSS_OID = "1.2.840.113549.1.1.10"
SHA256_OID = "2.16.840.1.101.3.4.2.1"
# RFC 4056 / RFC 4055 RSASSA-PSS-params for SHA-256: hashAlgorithm sha256, maskGenAlgorithm
# MGF1(sha256), saltLength 32, trailerField 1 (the DEFAULT: omitted). DER, parameters NULL.
PSS_SHA256_PARAMS = bytes.fromhex(
    "3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d0609608648016503"
    "0402010500a203020120"
)

RSA_PKCS1V15_SHA256 = SignatureAlgorithm(
    name="RSA-PKCS1v15-SHA256",
    key_type="rsa",
    digest="sha256",
    digest_oid=SHA256_OID,
    cms_signature_oid="1.2.840.113549.1.1.1",  # rsaEncryption, as OpenSSL writes it
    csc_sign_oid="1.2.840.113549.1.1.11",  # sha256WithRSAEncryption
    pkcs11_mechanism="RSA_PKCS",  # over DigestInfo(SHA-256, digest)
    software_verify=True,
    supported=True,
)

RSA_PSS_SHA256 = SignatureAlgorithm(
    name="RSA-PSS-SHA256",
    key_type="rsa",
    digest="sha256",
    digest_oid=SHA256_OID,
    cms_signature_oid=RSASSA_PSS_OID,  # id-RSASSA-PSS with RFC 4056 parameters
    csc_sign_oid=RSASSA_PSS_OID,  # + signAlgoParams
    pkcs11_mechanism="RSA_PKCS_PSS",  # over the digest, (SHA256, MGF1-SHA256, 32)
    software_verify=True,
    supported=True,
    cms_signature_params=PSS_SHA256_PARAMS,
)

ECDSA_P256_SHA256 = SignatureAlgorithm(
    name="ECDSA-P256-SHA256",
    key_type="ec",
    digest="sha256",
    digest_oid=SHA256_OID,
    cms_signature_oid="1.2.840.10045.4.3.2",  # ecdsa-with-SHA256
    csc_sign_oid="1.2.840.10045.4.3.2",
    pkcs11_mechanism="ECDSA",  # over the digest; raw r||s converted to DER
    software_verify=True,
    supported=True,
    ec_size=32,
)

ECDSA_P384_SHA384 = SignatureAlgorithm(
    name="ECDSA-P384-SHA384",
    key_type="ec",
    digest="sha384",
    digest_oid="2.16.840.1.101.3.4.2.2",
    cms_signature_oid="1.2.840.10045.4.3.3",  # ecdsa-with-SHA384
    csc_sign_oid="1.2.840.10045.4.3.3",
    pkcs11_mechanism="ECDSA",
    software_verify=True,
    supported=True,
    ec_size=48,
)

ECDSA_P521_SHA512 = SignatureAlgorithm(
    name="ECDSA-P521-SHA512",
    key_type="ec",
    digest="sha512",
    digest_oid="2.16.840.1.101.3.4.2.3",
    cms_signature_oid="1.2.840.10045.4.3.4",  # ecdsa-with-SHA512
    csc_sign_oid="1.2.840.10045.4.3.4",
    pkcs11_mechanism="ECDSA",
    software_verify=True,
    supported=True,
    ec_size=66,
)

_GOST_NOTE = "needs OpenSSL's gost engine (Debian libengine-gost-openssl)"

GOST_2001_GOSTR3411_94 = SignatureAlgorithm(
    name="GOST-R-34.10-2001-GOSTR3411-94",  # the Kyrgyz GOST 34.310-2004 over 34.311-95
    key_type="gost",
    digest="gostr3411_94",
    digest_oid="1.2.643.2.2.9",
    cms_signature_oid="1.2.643.2.2.19",  # id-GostR3410-2001, as OpenSSL writes it
    csc_sign_oid="1.2.643.2.2.3",  # id-GostR3411-94-with-GostR3410-2001
    pkcs11_mechanism="GOSTR3410",  # CKM_GOSTR3410 over the digest (or ..._WITH_GOSTR3411)
    software_verify=True,
    supported=True,
    note=_GOST_NOTE,
)

GOST_2012_256_STREEBOG256 = SignatureAlgorithm(
    name="GOST-R-34.10-2012-256-Streebog256",
    key_type="gost",
    digest="streebog256",
    digest_oid="1.2.643.7.1.1.2.2",
    cms_signature_oid="1.2.643.7.1.1.1.1",  # GOST R 34.10-2012 256-bit public key
    csc_sign_oid="1.2.643.7.1.1.3.2",  # signwithdigest-gost3410-12-256
    pkcs11_mechanism="GOSTR3410",  # CKM_GOSTR3410 over a Streebog-256 digest
    software_verify=True,
    supported=True,
    note=_GOST_NOTE,
)

GOST_2012_512_STREEBOG512 = SignatureAlgorithm(
    name="GOST-R-34.10-2012-512-Streebog512",
    key_type="gost",
    digest="streebog512",
    digest_oid="1.2.643.7.1.1.2.3",
    cms_signature_oid="1.2.643.7.1.1.1.2",  # GOST R 34.10-2012 512-bit public key
    csc_sign_oid="1.2.643.7.1.1.3.3",  # signwithdigest-gost3410-12-512
    pkcs11_mechanism="GOSTR3410_512",  # RuToken CKM_GOSTR3410_512 over a Streebog-512 digest
    software_verify=True,
    supported=True,
    note=_GOST_NOTE,
)

ALGORITHMS: tuple[SignatureAlgorithm, ...] = (
    RSA_PKCS1V15_SHA256,
    RSA_PSS_SHA256,
    ECDSA_P256_SHA256,
    ECDSA_P384_SHA384,
    ECDSA_P521_SHA512,
    GOST_2001_GOSTR3411_94,
    GOST_2012_256_STREEBOG256,
    GOST_2012_512_STREEBOG512,
)

_GOST_BY_KEY_OID = {a.cms_signature_oid: a for a in ALGORITHMS if a.key_type == "gost"}
_EC_BY_CURVE = {
    "secp256r1": ECDSA_P256_SHA256,
    "secp384r1": ECDSA_P384_SHA384,
    "secp521r1": ECDSA_P521_SHA512,
}


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


def algorithm_for_certificate(
    certificate: x509.Certificate, *, rsa_pss: bool = False
) -> SignatureAlgorithm:
    """The table row for the certificate's public key; unsupported keys are a SignatureError.

    RSA keys sign with PKCS#1 v1.5 unless `rsa_pss`; EC keys with the digest of their curve
    (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512); GOST keys with the digest of their kind.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    oid = certificate.public_key_algorithm_oid.dotted_string
    if oid in _GOST_BY_KEY_OID:
        return _GOST_BY_KEY_OID[oid]
    try:
        key = certificate.public_key()
    except Exception:
        raise SignatureError(
            f"unsupported public key algorithm {oid}", code="algorithm_unsupported"
        ) from None
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_PSS_SHA256 if rsa_pss else RSA_PKCS1V15_SHA256
    if isinstance(key, ec.EllipticCurvePublicKey):
        row = _EC_BY_CURVE.get(key.curve.name)
        if row is None:
            raise SignatureError(
                f"ECDSA curve {key.curve.name} is not supported (P-256, P-384, P-521)",
                code="algorithm_unsupported",
            )
        return row
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
    # `size`: bytes of r and of s in the raw form (32 for P-256, 48 for P-384, 66 for P-521)
    """Accept either DER or raw `r || s` (both appear in the wild) and return DER."""
    if _is_der_ecdsa(value):
        return value
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    if len(value) > 2 and value[0] == 0x30 and value[1] in (len(value) - 2, 0x81):
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
    "ECDSA_P384_SHA384",
    "ECDSA_P521_SHA512",
    "GOST_2001_GOSTR3411_94",
    "GOST_2012_256_STREEBOG256",
    "GOST_2012_512_STREEBOG512",
    "PSS_SHA256_PARAMS",
    "RSASSA_PSS_OID",
    "RSA_PKCS1V15_SHA256",
    "RSA_PSS_SHA256",
    "SignatureAlgorithm",
    "Signer",
    "algorithm_for_certificate",
    "ecdsa_raw_to_der",
    "ecdsa_to_der",
    "sha256_digest_info",
]
