"""The account's certificates at the operator: list, revoke (clause 4.3.9), renew and the
clause-18 facts `cert status` needs from the operator (requisites, balance vs renewal fee)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import OperatorRefused, UsageError

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Account, Certificate, Renewal
    from sochi_cli.services.certificates import RenewalDecision

REVOCATION_REASONS = (
    "key-compromise",
    "affiliation-changed",
    "superseded",
    "cessation-of-operation",
)
RENEWAL_TARIFF = "certificate_renewal"


def reason_code(reason: str) -> str:
    """`key-compromise` (CLI spelling) → `key_compromise` (contract spelling)."""
    value = reason.strip().lower().replace("_", "-")
    if value not in REVOCATION_REASONS:
        raise UsageError(
            f"--reason '{reason}' is not a revocation reason",
            hint="use " + ", ".join(REVOCATION_REASONS),
        )
    return value.replace("-", "_")


def normal_serial(serial: str) -> str:
    value = serial.strip().lower().removeprefix("0x").replace(":", "")
    if not value or any(c not in "0123456789abcdef" for c in value):
        raise UsageError(
            f"'{serial}' is not a certificate serial", hint="hex digits, see cert list"
        )
    return value.lstrip("0") or "0"


def list_certificates(client: OperatorClient) -> list[Certificate]:
    from sochi_cli.api import resources

    return list(client.call(resources.certificates.list()).items)


def owned_certificate(client: OperatorClient, serial: str) -> Certificate:
    """The account's certificate with this serial, or a refusal naming the serial."""
    wanted = normal_serial(serial)
    for cert in list_certificates(client):
        if normal_serial(cert.serial) == wanted:
            return cert
    raise OperatorRefused(
        f"certificate {serial} is not one of this account's certificates",
        hint="see `sochi cert list`; only your own certificates can be revoked",
        code="certificate_not_owned",
    )


def revoke_certificate(client: OperatorClient, serial: str, reason: str) -> Certificate:
    from sochi_cli.api import resources

    return client.call(resources.certificates.revoke(serial, reason_code(reason)))


def remember_revocation(profile: str, api_url: str, revoked: Certificate) -> str | None:
    """After the operator revoked one of our certificates: record it, so the signing gate
    refuses it at once, and refresh the cached CRL (`sochi crl fetch`). Returns a warning
    when the CRL could not be refreshed (the record still stops signing)."""
    import base64

    from sochi_cli.errors import SochiError
    from sochi_cli.services import certificates as certs
    from sochi_cli.timeutil import utcnow

    cert = None
    if revoked.certificate:
        with contextlib.suppress(ValueError):
            from cryptography import x509

            cert = x509.load_der_x509_certificate(base64.b64decode(revoked.certificate))
    certs.record_revocation(
        profile,
        normal_serial(revoked.serial),
        revoked_at=revoked.revoked_at or utcnow(),
        reason=revoked.revocation_reason,
        certificate=cert,
    )
    try:
        certs.fetch_pki(profile, api_url)
    except SochiError as exc:
        return f"the CRL could not be refreshed ({exc.one_line()}): run `sochi crl fetch`"
    return None


def default_serial(client: OperatorClient, session_serial: str | None) -> str:
    """The session's certificate, else the account's only valid one."""
    if session_serial:
        return session_serial
    valid = [c for c in list_certificates(client) if c.status == "valid"]
    if len(valid) == 1:
        return valid[0].serial
    raise UsageError(
        "which certificate? the account has " + (f"{len(valid)} valid" if valid else "no valid"),
        hint="pass --serial (see `sochi cert list`)",
    )


def renew_certificate(client: OperatorClient, serial: str, csr_der: bytes | None) -> Renewal:
    from sochi_cli.api import resources

    return client.call(resources.certificates.renew(normal_serial(serial), csr_der))


def account_requisites(account: Account) -> dict[str, str | None]:
    """The account side of the clause-18 requisites, named as `certificates.RENEWAL_REQUISITES`."""
    r = account.requisites
    return {
        "inn": account.inn,
        "company_name": r.legal_name,
        "locality": r.locality,
        "owner_name": r.head_name,
        "position": r.head_position,
        "passport_series": r.head_passport_series,
        "email": r.email,
    }


@dataclass(frozen=True)
class RenewalFacts:
    """What the operator says about the next year: requisites, key kind, money."""

    account_requisites: dict[str, str | None]
    key_kind: str | None  # "token" | "cloud" | "file" from GET /certificates
    balance: int
    renewal_fee: int | None
    currency: str = "KGS"
    certificate: Certificate | None = None  # the operator's entry: status, revocation

    @property
    def next_year_paid(self) -> bool | None:
        return None if self.renewal_fee is None else self.balance >= self.renewal_fee

    def to_json(self) -> dict[str, Any]:
        from sochi_cli.services.account import som

        return {
            "balance": som(self.balance),
            "renewal_fee": som(self.renewal_fee) if self.renewal_fee is not None else None,
            "next_year_paid": self.next_year_paid,
            "key_kind": self.key_kind,
        }


def unpaid_renewal(facts: RenewalFacts | None, decision: RenewalDecision | None) -> str | None:
    """The clause-18.3 action when the next year is not paid and renewing is due (inside
    `renewal_decision`'s window, 30 days before expiry, or expired); None otherwise.

    The one rule `cert status`, `sochi doctor` (signing.renewal) and the TUI's Certificates
    screen apply, so none of them asks for money the others call not due yet.
    """
    from sochi_cli.services.account import som

    if facts is None or facts.next_year_paid is not False or decision is None:
        return None
    if not decision.due:
        return None
    return (
        f"top up the account: balance {som(facts.balance)} {facts.currency} is below the "
        f"renewal fee {som(facts.renewal_fee or 0)} {facts.currency} (clause 18.3)"
    )


def renewal_facts(client: OperatorClient, serial: str) -> RenewalFacts:
    """GET /account, /account/balance, /tariffs and /certificates for one certificate."""
    from sochi_cli.api import resources

    account = client.call(resources.account.get())
    balance = client.call(resources.account.balance())
    tariffs = client.call(resources.account.tariffs())
    fee = next((t.amount for t in tariffs.items if t.code == RENEWAL_TARIFF), None)
    wanted = normal_serial(serial)
    entry = next((c for c in list_certificates(client) if normal_serial(c.serial) == wanted), None)
    return RenewalFacts(
        account_requisites(account),
        entry.key_kind if entry else None,
        balance.balance,
        fee,
        balance.currency,
        entry,
    )


def signer_kind_of(key_kind: str | None, fallback: str) -> str:
    """The operator's key kind (token/cloud/file) as `renewal_status`'s signer kind."""
    return {"token": "pkcs11", "cloud": "cloud", "file": "file"}.get(key_kind or "", fallback)


__all__ = [
    "REVOCATION_REASONS",
    "RenewalFacts",
    "account_requisites",
    "default_serial",
    "list_certificates",
    "normal_serial",
    "owned_certificate",
    "reason_code",
    "remember_revocation",
    "renew_certificate",
    "renewal_facts",
    "revoke_certificate",
    "signer_kind_of",
    "unpaid_renewal",
]
