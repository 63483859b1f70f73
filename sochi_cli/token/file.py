"""Software key signer (PKCS#12 or PEM key + certificate): for development, tests and the sandbox.

Never for real filings: a private key in a file is not what clause 4.3.9 asks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sochi_cli.errors import AuthError, UsageError
from sochi_cli.store.files import read_input
from sochi_cli.token.base import SignatureAlgorithm, algorithm_for_certificate

PASSPHRASE_ENV = "SOCHI_KEY_PASSPHRASE"  # noqa: S105 - a variable's name, not a secret

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

    from sochi_cli.cms import gost


class KeySigner:
    """A private key held in memory with its certificate and chain (kind "file").

    RSA and EC keys are `cryptography` keys; a GOST key is a `cms.gost.PrivateKey` held by
    OpenSSL's gost engine.
    """

    kind = "file"

    def __init__(
        self,
        private_key: PrivateKeyTypes | gost.PrivateKey,
        certificate: x509.Certificate,
        chain: Iterable[x509.Certificate] = (),
        *,
        rsa_pss: bool = False,
    ) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        from sochi_cli.cms import gost

        known = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, gost.PrivateKey)
        if not isinstance(private_key, known):
            raise UsageError(f"unsupported key type {type(private_key).__name__}")
        self._key = private_key
        self.certificate = certificate
        self.chain = list(chain)
        self._algorithm = algorithm_for_certificate(certificate, rsa_pss=rsa_pss)
        if not _same_public_key(private_key, certificate):
            raise UsageError("the private key does not match the certificate")

    @classmethod
    def from_pkcs12(
        cls,
        path: Path,
        passphrase: bytes | None,
        *,
        rsa_pss: bool = False,
        passphrase_source: str = PASSPHRASE_ENV,
    ) -> KeySigner:
        """Load a `.p12`/`.pfx`; a wrong passphrase is an AuthError naming where it came
        from (`passphrase_source`), garbage a UsageError."""
        from cryptography.hazmat.primitives.serialization import pkcs12

        data = read_input(path, "PKCS#12 file")
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
        except ValueError as exc:
            text = str(exc).lower()
            if "password" in text or "mac" in text or "decrypt" in text:
                if passphrase is None:
                    raise _passphrase_needed(path) from None
                raise _passphrase_wrong(path, "PKCS#12 file", passphrase_source) from None
            raise UsageError(f"{path}: not a PKCS#12 file") from None
        if key is None or cert is None:
            raise UsageError(f"{path}: the PKCS#12 file holds no private key and certificate")
        return cls(key, cert, [c for c in extra if c != cert], rsa_pss=rsa_pss)

    @classmethod
    def from_pem(
        cls,
        key_path: Path,
        cert_path: Path,
        passphrase: bytes | None = None,
        chain_path: Path | None = None,
        *,
        rsa_pss: bool = False,
        passphrase_source: str = PASSPHRASE_ENV,
    ) -> KeySigner:
        """PEM (or DER) private key + certificate (+ optional chain bundle).

        A GOST certificate takes a GOST PKCS#8 key, read by OpenSSL's gost engine.
        """
        from cryptography.hazmat.primitives import serialization

        from sochi_cli.cms import gost

        key_data = read_input(key_path, "key file")
        certs = load_certificates(cert_path)
        chain = load_certificates(chain_path) if chain_path else certs[1:]
        if certs[0].public_key_algorithm_oid.dotted_string in gost.KEYS:
            gost_key = _gost_key(key_path, key_data, passphrase, passphrase_source)
            return cls(gost_key, certs[0], chain)
        try:
            if b"-----BEGIN" in key_data:
                key = serialization.load_pem_private_key(key_data, passphrase)
            else:
                key = serialization.load_der_private_key(key_data, passphrase)
        except TypeError:
            raise _passphrase_needed(key_path) from None
        except ValueError as exc:
            if "password" in str(exc).lower() or "decrypt" in str(exc).lower():
                raise _passphrase_wrong(key_path, "key", passphrase_source) from None
            raise UsageError(f"{key_path}: not a private key (PEM or DER)") from None
        return cls(key, certs[0], chain, rsa_pss=rsa_pss)

    @property
    def private_key(self) -> PrivateKeyTypes | gost.PrivateKey:
        """The in-memory key (for `sochi token import` of a development PKCS#12)."""
        return self._key

    def algorithm(self) -> SignatureAlgorithm:
        return self._algorithm

    def sign_digests(self, digests: Sequence[bytes]) -> list[bytes]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

        key = self._key
        algorithm = self._algorithm
        if algorithm.key_type == "gost":
            sign_digest = key.sign_digest  # type: ignore[union-attr]
            return [sign_digest(d) for d in digests]
        hash_algorithm = {"sha384": hashes.SHA384, "sha512": hashes.SHA512}.get(
            algorithm.digest, hashes.SHA256
        )()
        prehashed = Prehashed(hash_algorithm)
        if isinstance(key, rsa.RSAPrivateKey):
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=algorithm.digest_size)
                if algorithm.pss
                else padding.PKCS1v15()
            )
            return [key.sign(d, pad, prehashed) for d in digests]
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        scheme = ec.ECDSA(prehashed)
        return [key.sign(d, scheme) for d in digests]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


def _passphrase_needed(path: Path) -> AuthError:
    return AuthError(
        f"{path}: the key is encrypted and needs a passphrase",
        hint="pass --passphrase-file FILE or set SOCHI_KEY_PASSPHRASE",
        code="passphrase_needed",
    )


def _passphrase_wrong(path: Path, what: str, source: str) -> AuthError:
    return AuthError(
        f"{path}: wrong passphrase for the {what}",
        hint=f"check {source}",
        code="passphrase_wrong",
    )


def _gost_key(path: Path, data: bytes, passphrase: bytes | None, source: str) -> gost.PrivateKey:
    from sochi_cli.cms import gost
    from sochi_cli.errors import SignatureError

    encrypted = gost.key_is_encrypted(data)
    if encrypted and passphrase is None:
        raise _passphrase_needed(path)
    try:
        return gost.load_private_key(data, passphrase if encrypted else None)
    except SignatureError as exc:
        if exc.code == "passphrase_wrong":
            raise _passphrase_wrong(path, "key", source) from None
        if exc.code == "gost_engine_missing":
            raise
        raise UsageError(f"{path}: not a GOST private key (PKCS#8, PEM or DER)") from None


def _same_public_key(key: PrivateKeyTypes | gost.PrivateKey, cert: x509.Certificate) -> bool:
    from sochi_cli.cms import gost
    from sochi_cli.cms.verify import public_key_info

    if isinstance(key, gost.PrivateKey):  # compare the key bits, not parameter encodings
        theirs = gost.public_key_bits(public_key_info(cert))
        return gost.public_key_bits(key.public_key_info) == theirs
    try:
        return bool(key.public_key().public_numbers() == cert.public_key().public_numbers())  # type: ignore[union-attr]
    except Exception:  # the certificate's key is of another kind
        return False


def load_certificates(path: Path) -> list[x509.Certificate]:
    """All certificates in a PEM bundle or one DER certificate; UsageError if none."""
    from cryptography import x509

    data = read_input(path, "certificate file")
    try:
        if b"-----BEGIN CERTIFICATE" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise UsageError(f"{path}: not an X.509 certificate (PEM or DER)") from None
    if not certs:
        raise UsageError(f"{path}: no certificate found")
    return certs


__all__ = ["KeySigner", "load_certificates"]
