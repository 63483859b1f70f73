"""Doctor checks of signing: the PKCS#11 library (clause 20.1.5), the token and its PIN state,
the key and certificate pair, E-Cloud, and the certificate itself — the clause-1.5 gate
(validity, key usage, chain to the Main CA, CRL), expiry, CRL freshness (8.2.7) and the
clause-18 renewal path. Never asks for a PIN; uses one only when given non-interactively.

What PKCS#11 can tell without a PIN is a token's flags: CKF_USER_PIN_COUNT_LOW (a wrong PIN
was entered), CKF_USER_PIN_FINAL_TRY and CKF_USER_PIN_LOCKED. The number of tries left is
not part of the standard: RuToken's library reports it through its own extension, read when
the library exports it (`token/rutoken.py`); otherwise the evidence says it is not reported.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import AuthError, ExitCode, SochiError
from sochi_cli.services.diagnostics import Check, Finding
from sochi_cli.services.diagnostics_context import (
    DOCTOR_TIMEOUT,
    DoctorContext,
    SkipCheck,
    cause_of,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cryptography import x509

    from sochi_cli.services.certificates import FetchedPki
    from sochi_cli.token.cloud import CredentialInfo
    from sochi_cli.token.pkcs11 import TokenInfo
    from sochi_cli.token.rutoken import PinCounter

EXPIRY_WARN_DAYS = 30  # clause 18: cancel or pay 30 days before expiry
_AUTH = int(ExitCode.AUTH)
RUTOKEN_DRIVER = "https://www.rutoken.ru/support/download/pkcs/"


def _only(ctx: DoctorContext, *kinds: str) -> str:
    kind = ctx.signer_kind
    if kind not in kinds:
        raise SkipCheck(f"the profile signs with signer = {kind}")
    return kind


# -- PKCS#11 ---------------------------------------------------------------------------------


def _library(ctx: DoctorContext) -> Path:
    from sochi_cli.token import pkcs11 as p11

    config = ctx.require_config()

    def load() -> Path:
        path = p11.find_library(None, config.get("pkcs11_lib"))
        p11.load_library(path)
        return path

    return ctx.memo("pkcs11:library", load)


def check_library(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.token import pkcs11 as p11

    _only(ctx, "pkcs11")
    searched = [str(p) for p in p11.candidate_libraries()]
    try:
        path = _library(ctx)
    except AuthError as err:
        return check.fail(
            err.message,
            evidence={"error": err.code, "searched": searched},
            fix=f"install the RuToken driver ({RUTOKEN_DRIVER}), or give its path: "
            "sochi config set pkcs11_lib /path/to/librtpkcs11ecp.so",
            exit_code=_AUTH,
        )
    return check.ok(f"{path} loads", evidence={"path": str(path), "searched": searched})


def _token(ctx: DoctorContext) -> TokenInfo:
    from sochi_cli.token import pkcs11 as p11

    try:
        library = _library(ctx)
    except SochiError:
        raise SkipCheck("no usable PKCS#11 library (see signing.library)") from None
    selector = ctx.require_config().get("token_label")
    return ctx.memo("pkcs11:token", lambda: p11.select_token(library, selector)[1])


def _pin_state(info: TokenInfo, counter: PinCounter) -> str:
    """The PIN state from the standard flags, made worse (never better) by the vendor count."""
    state = info.pin_state
    if state in ("locked", "not_initialized") or counter.left is None:
        return state
    if counter.left == 0:
        return "locked"
    if counter.left == 1:
        return "final_try"
    if state == "ok" and counter.maximum and counter.left < counter.maximum:
        return "count_low"
    return state


def check_token(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.token import pkcs11 as p11
    from sochi_cli.token.rutoken import user_pin_counter

    _only(ctx, "pkcs11")
    try:
        info = _token(ctx)
    except AuthError as err:
        fix = "insert the RuToken, then: sochi token list"
        if err.code == "token_ambiguous":
            fix = "choose one: sochi config set token_label LABEL   (see sochi token list)"
        return check.fail(err.message, evidence={"error": err.code}, fix=fix, exit_code=_AUTH)
    counter = user_pin_counter(_library(ctx), info.slot_id)
    state = _pin_state(info, counter)
    evidence = {
        "label": info.label,
        "serial": info.serial,
        "manufacturer": info.manufacturer,
        "model": info.model,
        "pin_state": state,
        "pin_flags": info.pin_state,  # what the standard CKF_USER_PIN_* flags say
        "attempts_left": counter.left,
        "attempts_max": counter.maximum,
        "attempts_source": counter.source,
    }
    who = f"token {info.describe()}"
    text = p11.PIN_STATE_TEXT.get(state, state)
    if counter.left is not None:
        text += f" ({counter.left} of {counter.maximum} tries left)"
    if state in ("locked", "not_initialized"):
        return check.fail(
            f"{who}: {text} — nothing can be signed",
            evidence=evidence,
            fix="unlock the PIN with the SO PIN (RuToken control panel) or at the operator's "
            "office, bringing the token",
            exit_code=_AUTH,
        )
    if state in ("final_try", "count_low"):
        return check.warn(
            f"{who}: {text}",
            evidence=evidence,
            fix="make sure of the PIN before the next attempt: sochi never retries a wrong "
            "PIN; a correct login clears the warning",
        )
    return check.ok(f"{who}: {text}", evidence=evidence)


def _public_key_ids(library: Path, selector: str | None) -> set[str]:
    """CKA_IDs of public-key objects (visible without a PIN on most tokens)."""
    from pkcs11 import Attribute, ObjectClass

    from sochi_cli.token import pkcs11 as p11

    token, _ = p11.select_token(library, selector)
    with p11.library_lock, token.open() as session:
        ids = set()
        for obj in session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY}):
            with contextlib.suppress(Exception):  # an object without CKA_ID is skipped
                ids.add(bytes(obj[Attribute.ID]).hex())
        return ids


def _key_pkcs11(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.services.signers import token_certificate
    from sochi_cli.token import pkcs11 as p11

    try:
        info = _token(ctx)
    except SochiError:
        raise SkipCheck("no token (see signing.token)") from None
    config = ctx.require_config()
    library, label, key_id = _library(ctx), config.get("token_label"), config.get("key_id")
    _, on_token = p11.token_certificates(library, label)
    try:
        cert = token_certificate(on_token, key_id)
    except AuthError as err:
        return check.fail(
            err.message,
            evidence={"error": err.code, "certificates": len(on_token)},
            fix="import the certificate with the key's CKA_ID, or pick one: "
            "sochi config set key_id ID   (see sochi token keys)",
            exit_code=_AUTH,
        )
    cert_id = next((cid.hex() for cid, c in on_token if c == cert), "")
    serial = format(cert.serial_number, "x")
    evidence: dict[str, Any] = {"certificate_serial": serial, "cka_id": cert_id}
    pin = ctx.options.pin() if ctx.options.pin else None
    if pin and info.pin_state == "ok":
        _, keys = p11.list_keys(library, label, pin)
        try:
            found, _ = p11.select_key([(k, None) for k in keys], key_id or serial)
        except AuthError as err:
            return check.fail(
                err.message, evidence=evidence, fix="sochi token keys", exit_code=_AUTH
            )
        evidence["key"] = {"id": found.key_id, "label": found.label, "type": found.key_type}
        return check.ok(
            f"private key {found.key_id} and its certificate {serial} (checked with the PIN)",
            evidence=evidence,
        )
    if cert_id and cert_id in _public_key_ids(library, label):
        return check.ok(
            f"certificate {serial} and its key pair (CKA_ID {cert_id}) on the token",
            evidence=evidence,
        )
    return check.ok(
        f"certificate {serial} (CKA_ID {cert_id or '-'}) on the token; the private key is "
        "visible only after login: pass --pin-file or SOCHI_PIN to check it",
        evidence=evidence,
    )


# -- key file and E-Cloud ------------------------------------------------------------------------


def _key_file(ctx: DoctorContext, check: Check) -> Finding:
    raw = ctx.require_config().get("key_file")
    if not raw:
        return check.fail(
            "the file signer has no key file",
            fix="sochi config set key_file /path/to/key.p12   (or SOCHI_KEY_FILE)",
            exit_code=int(ExitCode.CONFIG),
        )
    path = Path(str(raw)).expanduser()
    evidence: dict[str, Any] = {"path": str(path)}
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        with path.open("rb"):
            pass
    except OSError as exc:
        return check.fail(
            f"key file {path}: {exc.strerror}",
            evidence=evidence,
            fix="sochi config set key_file /path/to/key.p12",
            exit_code=int(ExitCode.USAGE),
        )
    evidence["mode"] = f"{mode:04o}"
    not_checked = None  # why the certificate could not be read, when it could not
    try:
        evidence["certificate_from"] = _certificate(ctx).source
    except SkipCheck as skip:
        not_checked = skip.reason
    except SochiError as err:
        deferred = ctx.defer(err)  # the operator's side (abroad, session…) is not the key's fault
        if deferred is not None:
            not_checked = deferred.reason
        elif cause_of(err) is not None:
            raise  # this check is the first to meet it: it reports the real cause
        else:
            return check.fail(err.message, evidence=evidence, fix=err.hint, exit_code=_AUTH)
    if not_checked is not None:
        evidence["certificate_from"] = None
        evidence["certificate_not_checked"] = not_checked
    if mode & 0o077:
        return check.warn(
            f"key file {path} is readable by other users (mode {mode:04o})",
            evidence=evidence,
            fix=f"chmod 600 {path}",
            clause="4.3.9",
        )
    if evidence["certificate_from"] == "key file":
        note = ""
    elif not_checked is None:
        note = f"; its certificate was read from the operator ({_locked_why(path)})"
    else:
        note = f"; its certificate is not checked: {not_checked}"
    return check.ok(f"key file {path} (development signer){note}", evidence=evidence)


def _locked_why(path: Path) -> str:
    """Why the doctor did not read the certificate from the key file itself — said as it is
    (it runs only when no passphrase was given: a wrong one fails the check instead)."""
    if path.suffix.lower() not in (".p12", ".pfx"):
        return "a PEM key file holds no certificate"
    return (
        "passphrase-protected, SOCHI_KEY_PASSPHRASE not set: signing asks for the passphrase "
        "at a prompt, a script sets the variable or --passphrase-file"
    )


def check_key(ctx: DoctorContext, check: Check) -> Finding:
    kind = _only(ctx, "pkcs11", "file")
    return _key_pkcs11(ctx, check) if kind == "pkcs11" else _key_file(ctx, check)


def _cloud_user(ctx: DoctorContext) -> str:
    from sochi_cli.services.session import session_info

    inn = os.environ.get("SOCHI_INN")
    if inn:
        return inn
    try:
        subscriber = session_info(ctx.require_config()).subscriber or {}
    except SochiError:
        subscriber = {}
    if subscriber.get("inn"):
        return str(subscriber["inn"])
    raise SkipCheck("the subscriber's INN is unknown: set SOCHI_INN or `sochi login`")


def _credential(ctx: DoctorContext) -> CredentialInfo:
    from sochi_cli.token.cloud import CloudSigner

    config = ctx.require_config()

    def never(_: Any) -> str:  # the doctor reads the credential; it never authorises
        raise AuthError("the doctor does not sign")

    def fetch() -> CredentialInfo:
        signer = CloudSigner(
            api_url=str(config.get("api_url")),
            user_id=_cloud_user(ctx),
            pin=never,
            otp=never,
            credential_id=config.get("cloud_credential"),
            timeout=min(float(config.get("timeout")), 15.0),
        )
        with signer:
            assert signer.info is not None
            return signer.info

    return ctx.memo("cloud:credential", fetch)


def check_ecloud(ctx: DoctorContext, check: Check) -> Finding:
    _only(ctx, "cloud")
    ctx.require_online()
    try:
        info = _credential(ctx)
    except SochiError as err:
        ctx.reraise_deferred(err)
        fix = err.hint or "sochi support   (the operator unlocks or reissues E-Cloud keys)"
        if err.code == "cloud_key_disabled":
            fix = "too many wrong PINs lock the key: the operator unlocks it — sochi support"
        return check.from_error(err, fix=fix)
    evidence = {
        "credential": info.credential_id,
        "key_status": info.key_status,
        "certificate_status": info.cert_status,
        "multisign": info.multisign,
    }
    if info.cert_status not in ("", "valid"):
        return check.fail(
            f"E-Cloud credential {info.credential_id}: the certificate is {info.cert_status}",
            evidence=evidence,
            fix="sochi cert status   (renewal path, clause 18)",
            exit_code=_AUTH,
        )
    return check.ok(
        f"E-Cloud credential {info.credential_id} reachable, key enabled", evidence=evidence
    )


# -- the certificate -----------------------------------------------------------------------------


@dataclass
class CertificateSource:
    certificate: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)
    source: str = ""  # "token", "E-Cloud", "key file", "operator (session certificate)"


def _from_operator(ctx: DoctorContext) -> CertificateSource:
    import base64

    from cryptography import x509

    from sochi_cli.services.account_certificates import list_certificates, normal_serial
    from sochi_cli.services.session import session_info

    offline = ctx.network_skip_reason()
    if offline is not None:
        raise SkipCheck(
            "without SOCHI_KEY_PASSPHRASE the key file's certificate comes from the operator: "
            f"{offline}"
        )
    try:
        subscriber = session_info(ctx.require_config()).subscriber or {}
    except SochiError:
        raise SkipCheck("the key file is locked: set SOCHI_KEY_PASSPHRASE or log in") from None
    serial = subscriber.get("certificate_serial")
    if not serial:
        raise SkipCheck("the key file is locked: set SOCHI_KEY_PASSPHRASE")
    for item in ctx.memo("certificates", lambda: list_certificates(ctx.client())):
        if normal_serial(item.serial) == normal_serial(str(serial)) and item.certificate:
            cert = x509.load_der_x509_certificate(base64.b64decode(item.certificate))
            return CertificateSource(cert, [], "operator (session certificate)")
    raise SkipCheck("the session's certificate is not among the account's certificates")


def _load_certificate(ctx: DoctorContext) -> CertificateSource:
    from sochi_cli.token.file import KeySigner

    kind = ctx.signer_kind
    config = ctx.require_config()
    if kind == "pkcs11":
        from sochi_cli.services.signers import token_certificate
        from sochi_cli.token import pkcs11 as p11

        _token(ctx)
        _, on_token = p11.token_certificates(_library(ctx), config.get("token_label"))
        cert = token_certificate(on_token, config.get("key_id"))
        return CertificateSource(cert, [c for _, c in on_token if c != cert], "token")
    if kind == "cloud":
        offline = ctx.network_skip_reason()
        if offline is not None:
            raise SkipCheck(f"the E-Cloud certificate comes from the operator: {offline}")
        info = _credential(ctx)
        return CertificateSource(info.certificate, list(info.certificates[1:]), "E-Cloud")
    raw = config.get("key_file")
    if not raw:
        raise SkipCheck("no key file configured (see signing.key)")
    path = Path(str(raw)).expanduser()
    passphrase = ctx.options.passphrase() if ctx.options.passphrase else None
    if path.suffix.lower() in (".p12", ".pfx"):
        try:
            signer = KeySigner.from_pkcs12(path, passphrase.encode() if passphrase else None)
        except AuthError:
            if passphrase:
                raise
            return _from_operator(ctx)
        return CertificateSource(signer.certificate, list(signer.chain), "key file")
    return _from_operator(ctx)


def _certificate(ctx: DoctorContext) -> CertificateSource:
    from cryptography.x509.oid import NameOID

    source = ctx.memo("certificate", lambda: _load_certificate(ctx))
    personal = (
        NameOID.COMMON_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.GIVEN_NAME,
        NameOID.SURNAME,
        NameOID.EMAIL_ADDRESS,
        NameOID.STREET_ADDRESS,
    )
    for oid in personal:
        for attribute in source.certificate.subject.get_attributes_for_oid(oid):
            ctx.note_names(str(attribute.value))
    return source


def _subject_certificate(ctx: DoctorContext) -> CertificateSource:
    try:
        return _certificate(ctx)
    except SochiError as err:
        ctx.reraise_deferred(err)
        raise SkipCheck(f"no certificate to check: {err.message}") from None


_GATE_FIX = {
    "certificate_expired": "renew it: sochi cert status   (clause 18: renewal path)",
    "certificate_not_yet_valid": "check this machine's clock (sochi doctor --only network)",
    "certificate_revoked": "a revoked certificate cannot sign: apply for a new one at the "
    "operator (sochi cert list shows the account's certificates)",
    "certificate_key_usage": "this certificate is not for signing: use your signing "
    "certificate (sochi cert list)",
    "certificate_untrusted": "sochi crl fetch   (downloads the operator CA and Main CA chain)",
    "trust_anchor_missing": "sochi crl fetch",
}


def _current_pki(ctx: DoctorContext) -> FetchedPki | None:
    """The CA chain and the CRL of every CA in it as the operator publishes them now (read,
    not cached: the cache is `sochi crl fetch`'s); None offline or when they cannot be read."""
    from sochi_cli.services import certificates as certs

    if not ctx.online:
        return None
    api_url = str(ctx.require_config().get("api_url"))
    try:
        return ctx.memo(
            "pki:current",
            lambda: certs.fetch_pki(ctx.profile, api_url, timeout=DOCTOR_TIMEOUT, store=False),
        )
    except SochiError:
        return None


def _lists(crls: Sequence[x509.CertificateRevocationList], cert: x509.Certificate) -> bool:
    """Whether a CRL of `cert`'s issuer lists it."""
    return any(
        crl.issuer == cert.issuer
        and crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
        for crl in crls
    )


def check_certificate(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.services import certificates as certs
    from sochi_cli.services.signing import trust_material

    source = _subject_certificate(ctx)
    cert = source.certificate
    config = ctx.require_config()
    api_url = str(config.get("api_url"))
    try:
        material = trust_material(ctx.profile, api_url=api_url, fetch_missing=ctx.online)
    except OSError:  # fetched, but the cache cannot keep it (see setup.cache_dir)
        material = trust_material(ctx.profile, api_url=api_url, fetch_missing=False)
    current = _current_pki(ctx)
    # the gate of `sochi sign` on the cached CRLs, and on the operator's current ones too:
    # a revocation the cache does not know yet is still a revocation
    crls = [*material.crls, *(crl for crl, _ in current.crls)] if current else material.crls
    summary = certs.certificate_summary(cert)
    evidence: dict[str, Any] = {
        "from": source.source,
        "certificate": summary,
        "trust": material.sources,
        "crls": len(material.crls),
        "current_crls": len(current.crls) if current else None,
    }
    operator_status = _operator_status(ctx, summary["serial"])
    if operator_status is not None:
        evidence["operator_status"] = operator_status
    try:
        gate = certs.check_can_sign(
            cert,
            chain=[*source.chain, *material.intermediates],
            trust_roots=material.roots,
            crls=crls,
            at=ctx.options.clock(),
            revoked=material.revoked,
        )
    except AuthError as err:
        if err.code == "trust_anchor_missing":  # nothing wrong is known of the certificate
            why = ctx.network_skip_reason() or "the operator's could not be downloaded"
            return check.warn(
                f"the chain to the Main CA is not checked: no CA certificates cached ({why})",
                evidence={**evidence, "error": err.code},
                fix="sochi crl fetch   (caches the operator CA, the Main CA and the CRLs)",
            )
        text = err.message.removeprefix("refusing to sign: ")
        if err.code == "certificate_revoked" and not _lists(material.crls, cert):
            text += (
                " — the operator's current CRL says so, the cached one does not (see signing.crl)"
            )
        return check.fail(
            text,
            evidence={**evidence, "error": err.code},
            fix=_GATE_FIX.get(err.code, err.hint or "sochi cert show"),
            exit_code=_AUTH,
        )
    if operator_status and operator_status.get("status") == "revoked":
        stale = (
            ""
            if _lists(material.crls, cert)
            else "; the cached CRL does not list it yet (see signing.crl)"
        )
        return check.fail(
            f"the operator lists certificate {summary['serial']} as revoked "
            f"({operator_status.get('revocation_reason') or 'no reason given'}){stale}",
            evidence=evidence,
            fix=_GATE_FIX["certificate_revoked"],
            exit_code=_AUTH,
        )
    evidence["warnings"] = gate.warnings
    evidence["path"] = [certs.name_text(c.subject) for c in gate.path]
    return check.ok(
        f"{_holder(cert)} (serial {summary['serial']}) may sign: valid, "
        f"{' + '.join(summary['key_usage'])}, chains to the Main CA"
        + (", not revoked" if crls else "; revocation not checked: no CRL"),
        evidence=evidence,
    )


def _holder(cert: x509.Certificate) -> str:
    return _cn(cert.subject)


def _cn(name: x509.Name) -> str:
    """A name's common name (how people call a holder or a CA), else the whole name."""
    from cryptography.x509.oid import NameOID

    from sochi_cli.services.certificates import name_text

    names = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else name_text(name)


def _operator_status(ctx: DoctorContext, serial: str) -> dict[str, Any] | None:
    """The operator's word on the certificate (GET /certificates), when it can be asked."""
    from sochi_cli.services.account_certificates import list_certificates, normal_serial

    if not ctx.online:
        return None
    try:
        items = ctx.memo("certificates", lambda: list_certificates(ctx.client()))
    except SochiError:
        return None
    for item in items:
        if normal_serial(item.serial) == normal_serial(serial):
            return {
                "status": item.status,
                "revoked_at": item.revoked_at,
                "revocation_reason": item.revocation_reason,
                "key_kind": item.key_kind,
            }
    return None


def _renewal_hint(kind: str) -> str:
    if kind == "cloud":
        return "E-Cloud renews automatically if the next year is paid: sochi cert status"
    if kind == "pkcs11":
        return "book an office visit with the token before expiry (clause 18.2): sochi support"
    return "sochi cert renew"


def check_expiry(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.timeutil import format_local

    source = _subject_certificate(ctx)
    expires = source.certificate.not_valid_after_utc
    days = (expires - ctx.options.clock()).days
    evidence = {"not_after": expires, "days_left": days}
    kind = ctx.signer_kind
    if days < 0:
        return check.fail(
            f"the certificate expired {-days} days ago ({format_local(expires)})",
            evidence=evidence,
            fix=_renewal_hint(kind),
            exit_code=_AUTH,
        )
    if days <= EXPIRY_WARN_DAYS:
        return check.warn(
            f"the certificate expires in {days} days ({format_local(expires)})",
            evidence=evidence,
            fix=_renewal_hint(kind),
        )
    return check.ok(f"valid until {format_local(expires)} ({days} days)", evidence=evidence)


def _newest_by_issuer(
    crls: Sequence[x509.CertificateRevocationList],
) -> dict[x509.Name, x509.CertificateRevocationList]:
    newest: dict[x509.Name, x509.CertificateRevocationList] = {}
    for crl in crls:
        known = newest.get(crl.issuer)
        if known is None or crl.last_update_utc > known.last_update_utc:
            newest[crl.issuer] = crl
    return newest


def _revoked_serials(crl: x509.CertificateRevocationList) -> set[int]:
    return {entry.serial_number for entry in crl}


def _crl_disagreements(
    ctx: DoctorContext,
    cached: dict[x509.Name, x509.CertificateRevocationList],
    current: FetchedPki | None,
) -> list[str]:
    """Where the operator's current CRLs (every CA of the chain) or its word on the signing
    certificate (GET /certificates) contradict the cached CRLs, one sentence each."""
    from sochi_cli.timeutil import format_local

    problems = []
    subject = _known_certificate(ctx)
    told = False  # a sentence already says the signing certificate is revoked
    for crl, _ in current.crls if current else []:
        mine = cached.get(crl.issuer)
        if mine is None:
            problems.append(
                f"no CRL of CA {_cn(crl.issuer)} is cached, though the operator publishes one"
            )
            continue
        new = _revoked_serials(crl) - _revoked_serials(mine)
        dropped = _revoked_serials(mine) - _revoked_serials(crl)
        if crl.last_update_utc < mine.last_update_utc or not (new or dropped):
            continue  # the cache is the newer one, or says the same
        yours = (
            subject is not None and subject.issuer == crl.issuer and subject.serial_number in new
        )
        told = told or yours
        problems.append(
            f"the cached CRL of {_cn(crl.issuer)} is out of date: the operator's current one "
            f"(issued {format_local(crl.last_update_utc)}) "
            + (f"lists {len(new)} more revoked certificate(s)" if new else "differs")
            + (", your signing certificate among them" if yours else "")
        )
    if subject is None or told:
        return problems
    status = _operator_status(ctx, format(subject.serial_number, "x"))
    mine = cached.get(subject.issuer)
    if not status or status.get("status") != "revoked" or mine is None or _lists([mine], subject):
        return problems
    serial = format(subject.serial_number, "x")
    if current is not None and any(crl.issuer == subject.issuer for crl, _ in current.crls):
        problems.append(
            f"the operator lists your signing certificate {serial} as revoked, but neither "
            f"the cached CRL of {_cn(subject.issuer)} nor the one it publishes now does yet: "
            "a check against the CRL alone misses it"
        )
    else:
        problems.append(
            f"the cached CRL of {_cn(subject.issuer)} (issued "
            f"{format_local(mine.last_update_utc)}) is out of date: the operator lists your "
            f"signing certificate {serial} as revoked"
        )
    return problems


def _known_certificate(ctx: DoctorContext) -> x509.Certificate | None:
    """The signing certificate when it could be read (signing.key reports why not)."""
    try:
        return _certificate(ctx).certificate
    except (SochiError, SkipCheck):
        return None


def check_crl(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.services import certificates as certs
    from sochi_cli.timeutil import format_local

    try:
        crls = certs.cached_crls(ctx.profile)
    except SochiError as err:
        return check.warn(err.message, fix="sochi crl fetch")
    current = _current_pki(ctx)
    if not crls:
        return check.warn(
            "no CRL cached: revocation is checked only when the operator is reachable",
            evidence={"crls_published_by_the_operator": len(current.crls) if current else None},
            fix="sochi crl fetch",
        )
    now = ctx.options.clock()
    facts = [certs.crl_summary(crl, now=now) for crl in crls]
    evidence: dict[str, Any] = {
        "crls": [
            {k: f[k] for k in ("issuer", "this_update", "next_update", "stale")}
            | {"revoked": len(f["revoked"])}
            for f in facts
        ],
        "compared_with_operator": current is not None,
    }
    problems = []
    for crl in crls:
        if crl.next_update_utc and crl.next_update_utc < now:
            problems.append(
                f"the cached CRL of {_cn(crl.issuer)} is stale (its next update "
                f"was {format_local(crl.next_update_utc)})"
            )
    problems += _crl_disagreements(ctx, _newest_by_issuer(crls), current)
    if problems:
        evidence["problems"] = problems
        more = f" (and {len(problems) - 1} more: see the evidence)" if len(problems) > 1 else ""
        return check.warn(problems[0] + more, evidence=evidence, fix="sochi crl fetch")
    updates = [crl.next_update_utc for crl in crls if crl.next_update_utc is not None]
    until = f"fresh until {format_local(min(updates))}" if updates else "no next update given"
    revoked = sum(len(f["revoked"]) for f in facts)
    agrees = ", as the operator publishes them" if current is not None else ""
    return check.ok(
        f"{len(crls)} CRL(s), {until}, {revoked} certificate(s) revoked{agrees}",
        evidence=evidence,
    )


def check_renewal(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.services.account import som
    from sochi_cli.services.account_certificates import (
        renewal_facts,
        signer_kind_of,
        unpaid_renewal,
    )
    from sochi_cli.services.certificates import renewal_status

    source = _subject_certificate(ctx)
    ctx.require_online()
    serial = format(source.certificate.serial_number, "x")
    try:
        facts = ctx.memo(f"renewal:{serial}", lambda: renewal_facts(ctx.client(), serial))
    except SochiError as err:
        ctx.reraise_deferred(err)
        raise SkipCheck(f"the operator's side is unknown: {err.message}") from None
    kind = signer_kind_of(facts.key_kind, ctx.signer_kind)
    status = renewal_status(
        source.certificate,
        kind,
        at=ctx.options.clock(),
        account_requisites=facts.account_requisites,
    )
    evidence = {
        "path": status.path,
        "days_left": status.days_left,
        "requisites_drift": status.requisites_drift,
        **(status.decision.to_json() if status.decision else {}),
        **facts.to_json(),
    }
    if status.requisites_drift:
        return check.warn(
            "requisites differ between the certificate and the account ("
            + ", ".join(status.requisites_drift)
            + "): no automatic renewal (clause 18.2)",
            evidence=evidence,
            fix="sochi cert status   (then update the account or apply for a new certificate)",
        )
    # the one rule `cert status` and the TUI apply: money is asked for inside the renewal
    # window (30 days before expiry), not before
    if unpaid_renewal(facts, status.decision) is not None:
        return check.warn(
            f"the next year is not paid: balance {som(facts.balance)} KGS, renewal fee "
            f"{som(facts.renewal_fee or 0)} KGS, renewal due since "
            f"{status.decision.opens if status.decision else '?'} (clause 18.3)",
            evidence=evidence,
            fix="top up the personal account before expiry, then: sochi cert status",
        )
    return check.ok(status.summary, evidence=evidence)


CHECKS = [
    Check("signing.library", "PKCS#11 library (RuToken driver)", check_library, "20.1.5"),
    Check("signing.token", "Token and PIN state", check_token, "4.3.9"),
    Check("signing.key", "Key and certificate pair", check_key, "1.4"),
    Check("signing.ecloud", "E-Cloud credential", check_ecloud, "1.4"),
    Check("signing.certificate", "Certificate may sign", check_certificate, "1.5, 8.2"),
    Check("signing.expiry", "Certificate expiry", check_expiry, "18.1"),
    Check("signing.crl", "CRL freshness", check_crl, "8.2.7, 8.3"),
    Check("signing.renewal", "Renewal path and requisites", check_renewal, "18"),
]

__all__ = ["CHECKS", "CertificateSource"]
