"""Software key signer (PKCS#12 or PEM key + certificate): for development, tests and the sandbox.

Never for real filings: a private key in a file is not what clause 4.3.9 asks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sochi_cli.errors import AuthError, UsageError
from sochi_cli.token.base import SignatureAlgorithm, algorithm_for_certificate

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


class KeySigner:
    """A private key held in memory with its certificate and chain (kind "file")."""

    kind = "file"

    def __init__(
        self,
        private_key: PrivateKeyTypes,
        certificate: x509.Certificate,
        chain: Iterable[x509.Certificate] = (),
    ) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        if not isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise UsageError(f"unsupported key type {type(private_key).__name__}")
        self._key = private_key
        self.certificate = certificate
        self.chain = list(chain)
        self._algorithm = algorithm_for_certificate(certificate)
        if private_key.public_key().public_numbers() != certificate.public_key().public_numbers():  # type: ignore[union-attr]
            raise UsageError("the private key does not match the certificate")

    @classmethod
    def from_pkcs12(cls, path: Path, passphrase: bytes | None) -> KeySigner:
        """Load a `.p12`/`.pfx`; a wrong passphrase is an AuthError, garbage a UsageError."""
        from cryptography.hazmat.primitives.serialization import pkcs12

        data = _read(path, "PKCS#12 file")
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
        except ValueError as exc:
            text = str(exc).lower()
            if "password" in text or "mac" in text or "decrypt" in text:
                raise AuthError(
                    f"{path}: wrong passphrase for the PKCS#12 file",
                    hint="check SOCHI_KEY_PASSPHRASE",
                    code="passphrase_wrong",
                ) from None
            raise UsageError(f"{path}: not a PKCS#12 file") from None
        if key is None or cert is None:
            raise UsageError(f"{path}: the PKCS#12 file holds no private key and certificate")
        return cls(key, cert, [c for c in extra if c != cert])

    @classmethod
    def from_pem(
        cls,
        key_path: Path,
        cert_path: Path,
        passphrase: bytes | None = None,
        chain_path: Path | None = None,
    ) -> KeySigner:
        """PEM (or DER) private key + certificate (+ optional chain bundle)."""
        from cryptography.hazmat.primitives import serialization

        key_data = _read(key_path, "key file")
        try:
            if b"-----BEGIN" in key_data:
                key = serialization.load_pem_private_key(key_data, passphrase)
            else:
                key = serialization.load_der_private_key(key_data, passphrase)
        except TypeError:
            raise AuthError(
                f"{key_path}: the key is encrypted and needs a passphrase",
                hint="set SOCHI_KEY_PASSPHRASE",
                code="passphrase_needed",
            ) from None
        except ValueError as exc:
            if "password" in str(exc).lower() or "decrypt" in str(exc).lower():
                raise AuthError(
                    f"{key_path}: wrong passphrase for the key",
                    code="passphrase_wrong",
                ) from None
            raise UsageError(f"{key_path}: not a private key (PEM or DER)") from None
        certs = load_certificates(cert_path)
        chain = load_certificates(chain_path) if chain_path else certs[1:]
        return cls(key, certs[0], chain)

    @property
    def private_key(self) -> PrivateKeyTypes:
        """The in-memory key (for `sochi token import` of a development PKCS#12)."""
        return self._key

    def algorithm(self) -> SignatureAlgorithm:
        return self._algorithm

    def sign_digests(self, digests: Sequence[bytes]) -> list[bytes]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

        prehashed = Prehashed(hashes.SHA256())
        key = self._key
        if isinstance(key, rsa.RSAPrivateKey):
            pad = padding.PKCS1v15()
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


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read {what}: {exc.strerror}") from None


def load_certificates(path: Path) -> list[x509.Certificate]:
    """All certificates in a PEM bundle or one DER certificate; UsageError if none."""
    from cryptography import x509

    data = _read(path, "certificate file")
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
