"""Certificates and tokens at a glance for the TUI: tokens present, the account's certificates
with their clause-18 renewal path and requisites drift, the chain to the Main CA, CRL freshness.

Composes `certificates`, `account_certificates` and `token.pkcs11` without a PIN; the keys on
a token (which need the PIN) come from `token_keys`. Nothing prints; each part that cannot be
checked is named in `problems` rather than failing the whole view.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sochi_cli.errors import SochiError

if TYPE_CHECKING:
    from collections.abc import Callable

    from cryptography import x509

    from sochi_cli.api.client import OperatorClient
    from sochi_cli.store.config import Config


@dataclass(frozen=True)
class TokenRow:
    label: str
    serial: str
    model: str
    pin_state: str  # ok | count_low | final_try | locked | not_initialized
    pin_text: str  # what the token says about the PIN, for people


@dataclass(frozen=True)
class CertificateRow:
    serial: str
    subject: str
    owner: str
    status: str  # valid | expired | revoked | not_yet_valid
    key_kind: str  # token | cloud | file
    not_after: datetime | None
    days_left: int | None
    renewal_path: str  # e-cloud-auto | office-visit | development
    renewal_summary: str
    actions: list[str]
    requisites_drift: list[str]
    in_use: bool  # the certificate the session was opened with


@dataclass(frozen=True)
class ChainLink:
    subject: str
    serial: str
    not_after: str


@dataclass(frozen=True)
class CrlState:
    issuer: str
    this_update: str
    next_update: str | None
    stale: bool
    revoked: int


@dataclass
class CertificateOverview:
    tokens: list[TokenRow] = field(default_factory=list)
    token_library: str | None = None
    certificates: list[CertificateRow] = field(default_factory=list)
    chain: list[ChainLink] = field(default_factory=list)
    crl: CrlState | None = None
    next_year_paid: bool | None = None
    # the renewal window of the certificate the facts are about (`renewal_decision`): money
    # for the next year is asked for only when it is due (`unpaid_renewal`)
    renewal_due: bool | None = None
    renewal_opens: str | None = None
    renewal_fee: str | None = None
    balance: str | None = None
    problems: list[str] = field(default_factory=list)


def _try(overview: CertificateOverview, what: str, step: Callable[[], None]) -> None:
    try:
        step()
    except SochiError as err:
        overview.problems.append(f"{what}: {err.one_line()}")


def token_rows(config: Config, driver: str | None = None) -> tuple[str, list[TokenRow]]:
    """(library path, tokens present) without a PIN; AuthError when no library is found.

    `driver` is a library path the user is typing (the TUI's signer dialog), before the
    profile's `pkcs11_lib` and the usual places."""
    from sochi_cli.token import pkcs11 as p11

    library = p11.find_library(driver, config.get("pkcs11_lib"))
    rows = [
        TokenRow(t.label, t.serial, t.model, t.pin_state, p11.PIN_STATE_TEXT.get(t.pin_state, ""))
        for t in p11.list_tokens(library)
    ]
    return str(library), rows


def certificate_overview(config: Config) -> CertificateOverview:
    """Everything the Certificates & token screen shows (operator parts need a session)."""
    from sochi_cli.services.session import open_client

    overview = CertificateOverview()

    def tokens() -> None:
        overview.token_library, overview.tokens = token_rows(config)

    _try(overview, "tokens", tokens)
    _try(overview, "CRL", lambda: _crl(overview, config))
    try:
        with open_client(config) as client:
            _try(overview, "certificates", lambda: _certificates(overview, client, config))
    except SochiError as err:
        overview.problems.append(f"certificates: {err.one_line()}")
    return overview


def _crl(overview: CertificateOverview, config: Config) -> None:
    from sochi_cli.services.certificates import cached_crl, crl_summary

    crl = cached_crl(config.profile)
    if crl is None:
        overview.problems.append(
            "CRL: none cached yet — press the fetch key (or `sochi crl fetch`)"
        )
        return
    facts = crl_summary(crl)
    overview.crl = CrlState(
        facts["issuer"],
        facts["this_update"],
        facts["next_update"],
        bool(facts["stale"]),
        len(facts["revoked"]),
    )


def _certificates(overview: CertificateOverview, client: OperatorClient, config: Config) -> None:

    from sochi_cli.services import certificates as certs
    from sochi_cli.services.account import som
    from sochi_cli.services.account_certificates import (
        list_certificates,
        normal_serial,
        renewal_facts,
        signer_kind_of,
        unpaid_renewal,
    )
    from sochi_cli.services.session import session_info
    from sochi_cli.timeutil import as_utc, utcnow

    try:
        session_serial = (session_info(config).subscriber or {}).get("certificate_serial")
    except SochiError:
        session_serial = None
    listed = list_certificates(client)
    in_use = normal_serial(str(session_serial)) if session_serial else None
    facts = None
    chosen = None
    if listed:
        chosen = in_use or normal_serial(listed[0].serial)
        facts = renewal_facts(client, chosen)
        overview.next_year_paid = facts.next_year_paid
        overview.balance = som(facts.balance)
        overview.renewal_fee = som(facts.renewal_fee) if facts.renewal_fee is not None else None
    fallback = str(config.get("signer") or "file")
    today = utcnow()
    used_cert: x509.Certificate | None = None
    for item in listed:
        cert = _parse(item.certificate)
        serial = normal_serial(item.serial)
        kind = signer_kind_of(item.key_kind, fallback)
        if cert is not None:
            status = certs.renewal_status(
                cert, kind, account_requisites=facts.account_requisites if facts else None
            )
            summary, actions, drift = status.summary, list(status.actions), status.requisites_drift
            path = status.path
            if serial == chosen and status.decision is not None:
                overview.renewal_due = status.decision.due
                overview.renewal_opens = status.decision.opens.isoformat()
                if top_up := unpaid_renewal(facts, status.decision):
                    actions.append(top_up)
        else:
            summary, actions, drift, path = "certificate body not served", [], [], "-"
        days = (as_utc(item.not_after) - today).days if item.not_after else None
        if serial == in_use:
            used_cert = cert
        overview.certificates.append(
            CertificateRow(
                serial=item.serial,
                subject=certs.name_text(cert.subject) if cert is not None else item.subject,
                owner=item.owner_name or "",
                status=item.status,
                key_kind=item.key_kind or "-",
                not_after=item.not_after,
                days_left=days,
                renewal_path=path,
                renewal_summary=summary,
                actions=actions,
                requisites_drift=drift,
                in_use=serial == in_use,
            )
        )
    overview.certificates.sort(key=lambda r: (not r.in_use, r.status != "valid", r.serial))
    leaf = used_cert or next(
        (c for c in (_parse(i.certificate) for i in listed) if c is not None), None
    )
    if leaf is not None:
        _try(overview, "chain", lambda: _chain(overview, leaf, config))


def _chain(overview: CertificateOverview, leaf: x509.Certificate, config: Config) -> None:
    from sochi_cli.services import certificates as certs
    from sochi_cli.services.signing import trust_material

    material = trust_material(
        config.profile, api_url=str(config.get("api_url")), fetch_missing=True
    )
    path = certs.trusted_path(leaf, material.roots, material.intermediates)
    overview.chain = [
        ChainLink(
            certs.name_text(c.subject),
            format(c.serial_number, "x"),
            c.not_valid_after_utc.date().isoformat(),
        )
        for c in path
    ]


def _parse(b64_der: str) -> x509.Certificate | None:
    from cryptography import x509

    if not b64_der:
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode(b64_der))
    except ValueError:
        return None


def refresh_crl(config: Config) -> CrlState:
    """Download the operator's CRL into the cache (`sochi crl fetch`) and describe it."""
    from sochi_cli.services.certificates import crl_summary, fetch_crl

    facts = crl_summary(fetch_crl(config.profile, str(config.get("api_url"))))
    return CrlState(
        facts["issuer"],
        facts["this_update"],
        facts["next_update"],
        bool(facts["stale"]),
        len(facts["revoked"]),
    )


@dataclass(frozen=True)
class TokenKey:
    key_id: str
    label: str
    key_type: str
    subject: str | None
    cert_serial: str | None


def token_keys(config: Config, token: str | None, pin: str) -> list[TokenKey]:
    """Key/certificate pairs on a token (needs its PIN; a wrong PIN is an AuthError)."""
    from sochi_cli.token import pkcs11 as p11

    _info, keys = p11.list_keys(None, token, pin, config.get("pkcs11_lib"))
    return [TokenKey(k.key_id, k.label, k.key_type, k.subject, k.cert_serial) for k in keys]


def revoke(config: Config, serial: str, reason: str) -> str:
    """Revoke one of the account's own certificates (clause 4.3.9); returns its serial."""
    from sochi_cli.services.account_certificates import (
        owned_certificate,
        remember_revocation,
        revoke_certificate,
    )
    from sochi_cli.services.session import open_client

    with open_client(config) as client:
        owned = owned_certificate(client, serial)
        revoked = revoke_certificate(client, owned.serial, reason)
    remember_revocation(config.profile, str(config.get("api_url")), revoked)
    return revoked.serial


__all__ = [
    "CertificateOverview",
    "CertificateRow",
    "ChainLink",
    "CrlState",
    "TokenKey",
    "TokenRow",
    "certificate_overview",
    "refresh_crl",
    "revoke",
    "token_keys",
    "token_rows",
]
