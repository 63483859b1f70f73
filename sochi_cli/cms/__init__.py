"""Detached CAdES-BES CMS signatures: build (any Signer), parse, verify; digests streamed."""

from sochi_cli.cms.build import sign_detached, sign_detached_many
from sochi_cli.cms.digest import digest_content
from sochi_cli.cms.parse import ParsedSignature, ParsedSigner, parse_signature
from sochi_cli.cms.verify import verify_detached

__all__ = [
    "ParsedSignature",
    "ParsedSigner",
    "digest_content",
    "parse_signature",
    "sign_detached",
    "sign_detached_many",
    "verify_detached",
]
