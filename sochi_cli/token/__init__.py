"""Key backends behind one Signer protocol: PKCS#11 tokens, E-Cloud (CSC API), key files."""

from sochi_cli.token.base import (
    ALGORITHMS,
    ECDSA_P256_SHA256,
    GOST_2012_256_STREEBOG256,
    RSA_PKCS1V15_SHA256,
    SignatureAlgorithm,
    Signer,
    algorithm_for_certificate,
)

__all__ = [
    "ALGORITHMS",
    "ECDSA_P256_SHA256",
    "GOST_2012_256_STREEBOG256",
    "RSA_PKCS1V15_SHA256",
    "SignatureAlgorithm",
    "Signer",
    "algorithm_for_certificate",
]
