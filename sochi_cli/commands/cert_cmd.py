"""`sochi cert show|chain|status` — the signing certificate, its chain and its clause-18 renewal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sochi_cli.commands._context import AppContext, app_context
from sochi_cli.commands._signer_opts import SignerChoice, signer_parameters
from sochi_cli.commands._trust_opts import TrustOpt

if TYPE_CHECKING:
    from datetime import datetime

    from cryptography import x509

cert_app = typer.Typer(
    help="Your signing certificate: details, chain to the Main CA, expiry and renewal.",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi cert show\n\n  sochi cert chain --cert my.pem\n\n"
    "  sochi cert status --signer pkcs11 --token MyToken --json\n\n  sochi cert list\n\n"
    "  sochi cert revoke 4f1a9c --reason key-compromise --yes\n\n  sochi cert renew\n\n"
    "Exit codes: 0 ok; 2 bad option, revoke without confirmation, or renew before the "
    "renewal window without --early; 3 no key configured; "
    "5 not logged in, key or PIN refused; 6 refused (not your certificate, already revoked, "
    "requisites changed, balance too low); 7 operator unavailable; 9 no such certificate.",
)

CertOpt = Annotated[
    Path | None, typer.Option("--cert", help="Certificate file instead of the signer's.")
]


def register(app: typer.Typer) -> None:
    app.add_typer(cert_app, name="cert")


def load_certificate(
    app: AppContext,
    *,
    cert: Path | None,
    chosen: SignerChoice,
) -> tuple[x509.Certificate, list[x509.Certificate], str]:
    """(certificate, chain, signer kind) from --cert or the configured signer; no PIN for tokens."""
    from sochi_cli.services import certificates as certs

    if cert is not None:
        loaded = certs.load_certificate_files([cert])
        return loaded[0], loaded[1:], "file"
    kind = chosen.signer or app.config.get("signer") or "file"
    if kind == "pkcs11":
        from sochi_cli.services.signers import token_certificate
        from sochi_cli.token import pkcs11 as p11

        _, found = p11.token_certificates(
            chosen.pkcs11_lib,
            chosen.token or app.config.get("token_label"),
            app.config.get("pkcs11_lib"),
        )
        certificate = token_certificate(
            found, chosen.key_id or chosen.key or app.config.get("key_id")
        )
        pool = [c for _, c in found if c != certificate]
        return certificate, [c for c in pool if c.subject != certificate.subject], "pkcs11"
    from sochi_cli.services.signers import build_signer

    options = chosen.options(app, kind=kind)
    with build_signer(options, app.config) as opened:
        return opened.certificate, list(opened.chain), opened.kind


@cert_app.command("show")
@signer_parameters
def cert_show(
    ctx: typer.Context,
    cert: CertOpt = None,
    chosen: SignerChoice = SignerChoice(),
) -> None:
    """Subject, issuer, serial, validity, key usage and fingerprint of the certificate."""
    from sochi_cli.services.certificates import certificate_summary

    app = app_context(ctx)
    certificate, _, kind = load_certificate(app, cert=cert, chosen=chosen)
    data = {"signer": kind, **certificate_summary(certificate)}
    app.out.result(data, lambda: app.out.fields(_human_summary(data, certificate)))


def _human_summary(data: dict[str, Any], certificate: x509.Certificate) -> list[tuple[str, Any]]:
    """`cert show` for people: names spelled out, key usage in words, times in Bishkek."""
    from sochi_cli.services.certificates import KEY_USAGE_WORDS

    usage = [KEY_USAGE_WORDS.get(u, u.replace("_", " ")) for u in data["key_usage"]]
    return [
        ("signer", data["signer"]),
        ("subject", data["subject"]),
        ("issuer", data["issuer"]),
        ("serial", data["serial"]),
        ("valid from", certificate.not_valid_before_utc),
        ("valid until", certificate.not_valid_after_utc),
        ("key usage", ", ".join(usage) or "none stated"),
        ("public key", data["public_key"]),
        ("sha256", data["sha256"]),
    ]


@cert_app.command("chain")
@signer_parameters
def cert_chain(
    ctx: typer.Context,
    cert: CertOpt = None,
    chosen: SignerChoice = SignerChoice(),
    trust: TrustOpt = None,
) -> None:
    """The chain from the certificate up to the Main CA, each signature checked."""
    from sochi_cli.services import certificates as certs
    from sochi_cli.services.signing import trust_material

    app = app_context(ctx)
    certificate, chain, _ = load_certificate(app, cert=cert, chosen=chosen)
    material = trust_material(
        app.profile,
        trust_files=trust or [],
        api_url=app.config.get("api_url"),
        fetch_missing=True,
    )
    path = certs.trusted_path(certificate, material.roots, [*chain, *material.intermediates])
    data = {"chain": [certs.certificate_summary(c) for c in path]}

    def render() -> None:
        app.out.table(
            [
                (i, certs.name_text(c.subject), format(c.serial_number, "x"),
                 c.not_valid_after_utc.date().isoformat())
                for i, c in enumerate(path)
            ],
            ["#", "SUBJECT", "SERIAL", "VALID UNTIL"],
        )  # fmt: skip

    app.out.result(data, render)


@cert_app.command("status")
@signer_parameters
def cert_status(
    ctx: typer.Context,
    cert: CertOpt = None,
    chosen: SignerChoice = SignerChoice(),
) -> None:
    """Days left, renewal path per key kind, requisites drift and whether next year is paid.

    Clause 18: E-Cloud keys renew automatically after a year unless cancelled 30 days
    before expiry and only with unchanged requisites; RuToken keys need an office visit.
    The operator part (GET /account, balance, tariffs) needs `sochi login`; without it
    the local part is shown with a warning.
    """
    from sochi_cli.errors import SochiError
    from sochi_cli.services.account_certificates import (
        renewal_facts,
        signer_kind_of,
        unpaid_renewal,
    )
    from sochi_cli.services.certificates import name_text, renewal_status
    from sochi_cli.timeutil import iso_z

    app = app_context(ctx)
    certificate, _, kind = load_certificate(app, cert=cert, chosen=chosen)
    if chosen.signer is None and cert is not None:
        kind = str(app.config.get("signer") or "file")
    serial = format(certificate.serial_number, "x")
    facts = None
    try:
        from sochi_cli.commands._operator import connect

        with connect(app) as client:
            facts = renewal_facts(client, serial)
    except SochiError as err:
        app.out.warn(f"requisites and renewal payment not checked: {err.one_line()}")
    if facts is not None:
        kind = signer_kind_of(facts.key_kind, kind)
    status = renewal_status(
        certificate, kind, account_requisites=facts.account_requisites if facts else None
    )
    actions = list(status.actions)
    due = status.decision is None or status.decision.due
    state, revoked_at, revoked_why = _certificate_state(app, certificate, facts)
    if revoked_at is not None:
        # a revoked certificate is not renewed (the operator refuses): it is replaced
        actions = [
            "it cannot sign any more: get a new certificate at the operator's office, then "
            "`sochi login` with the new key"
        ]
    elif top_up := unpaid_renewal(facts, status.decision):
        actions.append(top_up)
    data = {
        "subject": name_text(certificate.subject),
        "serial": serial,
        "status": state,
        "revoked_at": iso_z(revoked_at) if revoked_at else None,
        "revocation_reason": revoked_why,
        "expires": iso_z(status.expires),
        "days_left": status.days_left,
        "signer": status.signer_kind,
        "renewal": status.path,
        "renewal_from": status.decision.opens.isoformat() if status.decision else None,
        "renewal_due": due and revoked_at is None,  # a revoked one is replaced, not renewed
        "summary": status.summary,
        "actions": actions,
        "requisites_drift": status.requisites_drift,
        "operator_checked": facts is not None,
        "next_year_paid": facts.next_year_paid if facts else None,
        "balance": facts.to_json()["balance"] if facts else None,
        "renewal_fee": facts.to_json()["renewal_fee"] if facts else None,
    }

    def render() -> None:
        def paid() -> str:
            if facts is None or facts.next_year_paid is None:
                return "not checked"
            verdict = "yes" if facts.next_year_paid else "NO"
            return f"{verdict} (balance {data['balance']} KGS, fee {data['renewal_fee']} KGS)"

        app.out.fields(
            [
                ("certificate", data["subject"]),
                ("serial", serial),
                ("status", state),
                *(
                    [("revoked", revoked_at), ("revocation reason", _why(revoked_why))]
                    if revoked_at is not None
                    else []
                ),
                ("expires", status.expires),
                ("days left", status.days_left),
                ("renewal", f"{status.path}: {status.summary}"),
                (
                    "requisites drift",
                    ", ".join(status.requisites_drift)
                    if status.requisites_drift
                    else ("none" if facts else "not checked"),
                ),
                ("next year paid", paid()),
                *(("action", action) for action in actions),
            ]
        )

    app.out.result(data, render)


def _renewal(c: Any) -> Any:
    """The renewal decision of an operator-listed certificate (None without an expiry)."""
    from sochi_cli.services.certificates import renewal_decision

    return renewal_decision(c.key_kind, c.not_after) if c.not_after is not None else None


def _certificate_state(
    app: AppContext, certificate: x509.Certificate, facts: Any
) -> tuple[str, datetime | None, str | None]:
    """(status, revoked at, reason): the operator's word when it answered, else what this
    profile knows offline (a revocation it recorded, a cached CRL)."""
    from sochi_cli.services.certificates import known_revocation
    from sochi_cli.timeutil import utcnow

    entry = facts.certificate if facts is not None else None
    if entry is not None:
        if entry.status == "revoked":
            return "revoked", entry.revoked_at or utcnow(), entry.revocation_reason
        return entry.status, None, None
    known = known_revocation(app.profile, certificate)
    if known is not None:
        return "revoked", known.revoked_at, known.reason
    now = utcnow()
    if now > certificate.not_valid_after_utc:
        return "expired", None, None
    if now < certificate.not_valid_before_utc:
        return "not_yet_valid", None, None
    return "valid", None, None


def _why(reason: str | None) -> str:
    return reason.replace("_", " ") if reason else "not stated"


def _certificate_row(c: Any) -> tuple[Any, ...]:
    from sochi_cli.services.certificates import renewal_path

    decision = _renewal(c)
    renewal = decision.text() if decision is not None else renewal_path(c.key_kind)
    return (c.serial, c.status, c.key_kind, c.owner_name, c.not_after, renewal)


@cert_app.command("list")
def cert_list(ctx: typer.Context) -> None:
    """The account's certificates at the operator: status, key kind, validity, renewal path."""
    from sochi_cli.commands._operator import connect
    from sochi_cli.services.account_certificates import list_certificates
    from sochi_cli.services.certificates import renewal_path

    app = app_context(ctx)
    with connect(app) as client:
        items = list_certificates(client)
    data = []
    for c in items:
        row = c.to_json()
        row.pop("certificate", None)
        row["renewal"] = renewal_path(c.key_kind)  # the same decision as `cert status`
        decision = _renewal(c)
        row["renewal_from"] = decision.opens.isoformat() if decision else None
        row["renewal_due"] = decision.due if decision else None
        data.append(row)
    app.out.result(
        data,
        lambda: app.out.table(
            [_certificate_row(c) for c in items],
            ["SERIAL", "STATUS", "KEY", "OWNER", "VALID UNTIL", "RENEWAL"],
        ),
    )


_REASONS = ("key-compromise", "affiliation-changed", "superseded", "cessation-of-operation")


@cert_app.command("revoke")
def cert_revoke(
    ctx: typer.Context,
    serial: Annotated[str, typer.Argument(help="Serial (hex) of your certificate.")],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="key-compromise, affiliation-changed, superseded or cessation-of-operation.",
            autocompletion=lambda incomplete: [r for r in _REASONS if r.startswith(incomplete)],
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Revoke one of your certificates now (clause 4.3.9); the CRL is reissued at once.

    Asks for confirmation on a terminal; without one, --yes is required.
    """
    from sochi_cli.commands._operator import connect
    from sochi_cli.commands._prompts import confirm
    from sochi_cli.errors import Interrupted
    from sochi_cli.services.account_certificates import (
        normal_serial,
        owned_certificate,
        reason_code,
        remember_revocation,
        revoke_certificate,
    )

    app = app_context(ctx)
    reason_code(reason)
    normal_serial(serial)
    with connect(app) as client:
        owned = owned_certificate(client, serial)
        question = (
            f"Revoke certificate {owned.serial} ({owned.owner_name or owned.subject}) for "
            f"{reason}? Signatures made after now will not be valid"
        )
        if not confirm(question, assume_yes=yes):
            raise Interrupted("not revoked", code="declined")
        revoked = revoke_certificate(client, owned.serial, reason)
    warning = remember_revocation(app.profile, str(app.config.get("api_url")), revoked)
    if warning is not None:
        app.out.warn(warning)
    app.out.info(
        f"revoked certificate {revoked.serial}; sochi refuses to sign with it from now on"
        + ("" if warning else " (the CRL was refreshed)")
    )
    data = revoked.to_json()
    data.pop("certificate", None)
    app.out.result(
        data,
        lambda: app.out.fields(
            [
                ("serial", revoked.serial),
                ("status", revoked.status),
                ("revoked", revoked.revoked_at),
                ("reason", revoked.revocation_reason),
            ]
        ),
    )


@cert_app.command("renew")
def cert_renew(
    ctx: typer.Context,
    serial: Annotated[
        str | None,
        typer.Option(
            "--serial", help="Certificate to renew (default: the one you logged in with)."
        ),
    ] = None,
    csr: Annotated[
        Path | None,
        typer.Option(
            "--csr", help="PKCS#10 request (DER or PEM) for a token key's new certificate."
        ),
    ] = None,
    early: Annotated[
        bool,
        typer.Option(
            "--early",
            help="Renew before the renewal window (30 days before expiry); the fee is debited now.",
        ),
    ] = False,
) -> None:
    """Ask the operator to renew a certificate (POST /certificates/renewal; the fee is debited).

    E-Cloud keys get a new certificate at once; token keys need an office visit unless a
    CSR made on the token is given. Changed requisites (clause 18.2) are refused. Before
    the renewal window (30 days before expiry, as `cert status` and `cert list` say) it
    refuses without --early: nothing is renewed, nothing debited.
    """
    from sochi_cli.commands._operator import connect
    from sochi_cli.errors import UsageError
    from sochi_cli.services.account import som
    from sochi_cli.services.account_certificates import (
        default_serial,
        list_certificates,
        normal_serial,
        renew_certificate,
    )
    from sochi_cli.services.certificates import RENEWAL_WINDOW_DAYS, renewal_path

    app = app_context(ctx)
    csr_der = _read_csr(csr) if csr is not None else None
    with connect(app) as client:
        chosen = default_serial(client, serial or _session_serial(app))
        listed = next(
            (
                c
                for c in list_certificates(client)
                if normal_serial(c.serial) == normal_serial(chosen)
            ),
            None,
        )
        kind = listed.key_kind if listed is not None else None
        decision = _renewal(listed) if listed is not None else None
        if decision is not None and not decision.due and not early:
            raise UsageError(
                f"certificate {chosen}: renewal is not due before {decision.opens} "
                f"({RENEWAL_WINDOW_DAYS} days before expiry, clause 18); nothing was debited",
                hint="`sochi cert status` says what to do when; pass --early to renew now "
                "(the fee is debited)",
                code="renewal_not_due",
            )
        renewal = renew_certificate(client, chosen, csr_der)
    path = renewal_path(kind)
    data = {**renewal.to_json(), "path": path}
    if renewal.certificate is not None:
        data["certificate"].pop("certificate", None)

    def render() -> None:
        new = renewal.certificate
        pairs: list[tuple[str, Any]] = [
            ("renewal", renewal.id),
            ("serial", renewal.serial),
            ("path", path),
            ("state", renewal.state),
            ("fee", f"{som(renewal.fee)} KGS"),
        ]
        if new is not None:
            pairs += [("new serial", new.serial), ("valid until", new.not_after)]
        if renewal.state == "office_visit_required":
            pairs.append(
                ("action", "visit the operator's office with the key to renew (clause 18.2), "
                 "or pass --csr FILE made with the key")
            )  # fmt: skip
        app.out.fields(pairs)

    app.out.result(data, render)


def _session_serial(app: AppContext) -> str | None:
    from sochi_cli.errors import SochiError
    from sochi_cli.services.session import session_info

    try:
        subscriber = session_info(app.config).subscriber or {}
    except SochiError:
        return None
    value = subscriber.get("certificate_serial")
    return str(value) if value else None


def _read_csr(path: Path) -> bytes:
    from sochi_cli.errors import UsageError
    from sochi_cli.store.files import read_input

    data = read_input(path, "CSR file")
    if b"-----BEGIN" in data:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        try:
            return x509.load_pem_x509_csr(data).public_bytes(Encoding.DER)
        except ValueError:
            raise UsageError(f"--csr {path}: not a PEM certificate request") from None
    return data
