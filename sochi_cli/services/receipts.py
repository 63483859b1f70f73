"""Checking the operator's (and agencies') signed receipts: CMS over the document, chain to root.

Used by `submissions receipts|download` and `inbox show|ack`; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import SochiError
from sochi_cli.names import name_text
from sochi_cli.timeutil import iso_z

if TYPE_CHECKING:
    from sochi_cli.api.models import Receipt
    from sochi_cli.services.signing import TrustMaterial


@dataclass(frozen=True)
class SignatureCheck:
    """Outcome of verifying one detached signature over a document."""

    verified: bool  # the CMS signature verifies over the document bytes
    signer: str | None  # signer certificate subject
    signing_time: str | None
    chained: bool | None  # the signer chains to a trusted root (None: no trust material)
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "signer": self.signer,
            "signing_time": self.signing_time,
            "chains_to_root": self.chained,
            "problem": self.problem,
        }


def check_signature(
    signature: bytes, document: bytes, trust: TrustMaterial | None = None
) -> SignatureCheck:
    """`verify_detached` over the document, then the signer's path to a trusted root."""
    from sochi_cli.cms import verify_detached
    from sochi_cli.services.certificates import build_path

    try:
        parsed = verify_detached(signature, document)
    except SochiError as err:
        return SignatureCheck(False, None, None, None, err.message)
    cert = parsed.signer_certificate
    subject = name_text(cert.subject) if cert is not None else None
    when = iso_z(parsed.signing_time) if parsed.signing_time else None
    chained: bool | None = None
    if trust is not None and trust.roots and cert is not None:
        pool = [*parsed.certificates, *trust.intermediates]
        chained = build_path(cert, trust.roots, pool) is not None
    return SignatureCheck(True, subject, when, chained)


def check_receipt(receipt: Receipt, trust: TrustMaterial | None = None) -> SignatureCheck:
    return check_signature(receipt.signature_bytes(), receipt.document_bytes(), trust)


def operator_trust(profile: str, api_url: str) -> TrustMaterial | None:
    """The operator CA + Main CA from the cache or `GET /pki/chain`; None when unavailable."""
    from sochi_cli.services.signing import trust_material

    material = trust_material(profile, api_url=api_url, fetch_missing=True)
    return material if material.roots else None


def describe(check: SignatureCheck) -> str:
    """One phrase for people: `verified (CN=…), chains to the Main CA`."""
    if not check.verified:
        return f"NOT VERIFIED: {check.problem}"
    text = f"verified ({check.signer})"
    if check.chained is True:
        text += ", chains to the Main CA"
    elif check.chained is False:
        text += ", does NOT chain to a trusted root"
    return text


__all__ = ["SignatureCheck", "check_receipt", "check_signature", "describe", "operator_trust"]
