"""Certificates, CRLs and trust anchors: the pre-sign gate (clause 1.5), CRL cache, renewal status.

Nothing here prints: functions return values and raise typed errors.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import AuthError, SochiError, UsageError
from sochi_cli.names import name_text
from sochi_cli.store import paths
from sochi_cli.store.files import own_file, read_input
from sochi_cli.timeutil import as_utc, format_local, iso_z, utcnow

if TYPE_CHECKING:
    from cryptography import x509

CRL_FILE = "operator.crl"  # the operator CA's CRL (GET /pki/crl)
CRL_DIR = "crls"  # the other CAs' CRLs, one file per issuer
CHAIN_FILE = "chain.pem"
# revocations the operator confirmed to this profile (`sochi cert revoke`), kept in the data
# dir so the gate refuses the certificate even before a CRL listing it was fetched
REVOCATIONS_FILE = "revocations.json"


# -- loading -----------------------------------------------------------------------------


def parse_certificates(data: bytes, *, source: str = "input") -> list[x509.Certificate]:
    """Certificates from a PEM bundle, one DER certificate or JSON {"certificates": [b64…]}."""
    from cryptography import x509

    try:
        stripped = data.lstrip()
        if stripped.startswith(b"{") or stripped.startswith(b"["):
            doc = json.loads(data)
            items = doc.get("certificates", doc.get("chain")) if isinstance(doc, dict) else doc
            certs = []
            for item in items or []:
                value = item
                if isinstance(item, dict):  # {"role": …, "certificate": b64 DER}
                    value = item.get("certificate") or item.get("der") or item.get("pem") or ""
                text = str(value).encode()
                certs.extend(
                    x509.load_pem_x509_certificates(text)
                    if b"-----BEGIN" in text
                    else [x509.load_der_x509_certificate(base64.b64decode(text))]
                )
            return certs
        if b"-----BEGIN CERTIFICATE" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except (ValueError, TypeError, AttributeError):
        raise UsageError(f"{source}: not an X.509 certificate (PEM, DER or JSON)") from None


def load_certificate_files(files: Iterable[Path]) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for path in files:
        data = read_input(path, "certificate file")
        certs.extend(parse_certificates(data, source=str(path)))
    return certs


def parse_crl(data: bytes, *, source: str = "input") -> x509.CertificateRevocationList:
    from cryptography import x509

    try:
        if b"-----BEGIN X509 CRL" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        raise UsageError(f"{source}: not a CRL (DER or PEM)") from None


def load_crl_files(files: Iterable[Path]) -> list[x509.CertificateRevocationList]:
    crls = []
    for path in files:
        data = read_input(path, "CRL file")
        crls.append(parse_crl(data, source=str(path)))
    return crls


# -- cache ---------------------------------------------------------------------------------


def pki_cache_dir(profile: str) -> Path:
    return paths.profile_cache_dir(profile) / "pki"


def _crl_cache_dir(profile: str) -> Path:
    return pki_cache_dir(profile) / CRL_DIR


def cached_crls(profile: str) -> list[x509.CertificateRevocationList]:
    """Every cached CRL (one per CA, `crl fetch`), the operator CA's first."""
    crls = []
    legacy = pki_cache_dir(profile) / CRL_FILE
    if legacy.is_file():
        crls.append(parse_crl(_read_cache(legacy, "CRL cache"), source=str(legacy)))
    directory = _crl_cache_dir(profile)
    with own_file(directory, "CRL cache", verb="read"):
        found = sorted(directory.glob("*.crl")) if directory.is_dir() else []
    for path in found:
        crls.append(parse_crl(_read_cache(path, "CRL cache"), source=str(path)))
    return crls


def cached_crl(profile: str) -> x509.CertificateRevocationList | None:
    """The operator CA's cached CRL (the first of `cached_crls`)."""
    crls = cached_crls(profile)
    return crls[0] if crls else None


def store_crl(profile: str, data: bytes) -> x509.CertificateRevocationList:
    """Cache the operator CA's CRL (GET /pki/crl)."""
    crl = parse_crl(data, source="downloaded CRL")
    _write_cache(pki_cache_dir(profile) / CRL_FILE, data, "CRL cache")
    return crl


def store_ca_crl(profile: str, data: bytes, *, source: str) -> x509.CertificateRevocationList:
    """Cache the CRL of another CA of the chain, one file per issuer name."""
    import hashlib

    crl = parse_crl(data, source=source)
    name = hashlib.sha256(crl.issuer.public_bytes()).hexdigest()[:16]
    _write_cache(_crl_cache_dir(profile) / f"{name}.crl", data, "CRL cache")
    return crl


def cached_chain(profile: str) -> list[x509.Certificate]:
    path = pki_cache_dir(profile) / CHAIN_FILE
    if not path.is_file():
        return []
    return parse_certificates(_read_cache(path, "CA chain cache"), source=str(path))


def store_chain(profile: str, data: bytes) -> list[x509.Certificate]:
    from cryptography.hazmat.primitives.serialization import Encoding

    certs = parse_certificates(data, source="downloaded chain")
    pem = b"".join(c.public_bytes(Encoding.PEM) for c in certs)
    _write_cache(pki_cache_dir(profile) / CHAIN_FILE, pem, "CA chain cache")
    return certs


def _read_cache(path: Path, what: str) -> bytes:
    """A cached CRL or chain: unreadable is an error (exit 10), never taken as absent — a
    CRL skipped without a word would let a revoked certificate sign."""
    with own_file(
        path, what, verb="read", hint="check the cache's permissions or set SOCHI_CACHE_DIR"
    ):
        return path.read_bytes()


def _write_cache(path: Path, data: bytes, what: str) -> None:
    from sochi_cli.store.files import atomic_write_bytes

    with own_file(path, what, hint="make the cache directory writable or set SOCHI_CACHE_DIR"):
        atomic_write_bytes(path, data)


def _get(url: str, timeout: float) -> bytes:
    import httpx

    from sochi_cli.errors import Unavailable

    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise Unavailable(f"cannot reach {url} ({type(exc).__name__})") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise Unavailable(f"{url}: operator answered {response.status_code}")
    if response.status_code >= 400:
        from sochi_cli.errors import OperatorRefused

        raise OperatorRefused(f"{url}: operator answered {response.status_code}")
    return response.content


def fetch_crl(
    profile: str, api_url: str, *, timeout: float = 30.0
) -> x509.CertificateRevocationList:
    """GET {api_url}/pki/crl (DER, no auth): the operator CA's CRL, cached."""
    return store_crl(profile, _get(api_url.rstrip("/") + "/pki/crl", timeout))


def fetch_chain(profile: str, api_url: str, *, timeout: float = 30.0) -> list[x509.Certificate]:
    """GET {api_url}/pki/chain (operator CA + Main CA) and cache it."""
    return store_chain(profile, _get(api_url.rstrip("/") + "/pki/chain", timeout))


@dataclass
class FetchedPki:
    """What `crl fetch` brought: the chain and one CRL per CA that publishes one."""

    chain: list[x509.Certificate]
    crls: list[tuple[x509.CertificateRevocationList, str]]  # (CRL, where it came from)
    warnings: list[str] = field(default_factory=list)


def _crl_links(data: bytes) -> dict[str, str]:
    """CA subject (RFC 4514) → CRL path, from the `crl` fields of a JSON /pki/chain."""
    try:
        doc = json.loads(data)
    except ValueError:
        return {}
    entries = doc.get("certificates") if isinstance(doc, dict) else None
    links = {}
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("crl") and entry.get("certificate"):
            cert = parse_certificates(
                json.dumps({"certificates": [entry]}).encode(), source="chain entry"
            )[0]
            links[cert.subject.rfc4514_string()] = str(entry["crl"])
    return links


def _is_ca(cert: x509.Certificate) -> bool:
    from cryptography import x509 as cx

    try:
        return bool(cert.extensions.get_extension_for_class(cx.BasicConstraints).value.ca)
    except cx.ExtensionNotFound:
        return False


def fetch_pki(
    profile: str, api_url: str, *, timeout: float = 30.0, store: bool = True
) -> FetchedPki:
    """`crl fetch`: the CA chain and the CRL of every CA in it, all cached.

    The operator CA's CRL is GET /pki/crl; every CA entry of GET /pki/chain may name its
    CRL (`"crl": "pki/crl?ca=root"`, relative to the API URL). A CA without one is a warning.
    `store=False` only reads what the operator publishes now (`sochi doctor` compares it
    with the cache and changes nothing).
    """
    base = api_url.rstrip("/")
    data = _get(base + "/pki/crl", timeout)
    crl = store_crl(profile, data) if store else parse_crl(data, source="downloaded CRL")
    result = FetchedPki(chain=[], crls=[(crl, base + "/pki/crl")])
    try:
        data = _get(base + "/pki/chain", timeout)
        result.chain = (
            store_chain(profile, data)
            if store
            else parse_certificates(data, source="downloaded chain")
        )
    except SochiError as exc:
        result.warnings.append(f"CA chain not refreshed: {exc.one_line()}")
        result.chain = cached_chain(profile)
        data = b""
    links = _crl_links(data)
    have = {crl.issuer}
    for ca in (c for c in result.chain if _is_ca(c)):
        if ca.subject in have:
            continue
        link = links.get(ca.subject.rfc4514_string())
        if link is None:
            result.warnings.append(
                f"the operator publishes no CRL for CA {name_text(ca.subject)}: "
                "certificates it issued cannot be checked for revocation"
            )
            continue
        url = link if "://" in link else f"{base}/{link.lstrip('/')}"
        try:
            der = _get(url, timeout)
            fetched = (
                store_ca_crl(profile, der, source=url) if store else parse_crl(der, source=url)
            )
        except SochiError as exc:
            result.warnings.append(f"CRL of {name_text(ca.subject)}: {exc.one_line()}")
            continue
        have.add(fetched.issuer)
        result.crls.append((fetched, url))
    return result


def self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


# -- descriptions ------------------------------------------------------------------------


KEY_USAGE_WORDS = {
    "digital_signature": "digital signature",
    "non_repudiation": "non-repudiation",
    "key_encipherment": "key encipherment",
    "key_cert_sign": "certificate signing",
    "crl_sign": "CRL signing",
}


def certificate_summary(cert: x509.Certificate) -> dict[str, Any]:
    """Plain JSON-able facts about a certificate (for `cert show` and reports)."""
    from cryptography import x509 as cx
    from cryptography.hazmat.primitives import hashes

    usages: list[str] = []
    try:
        ku = cert.extensions.get_extension_for_class(cx.KeyUsage).value
        for name in (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "key_cert_sign",
            "crl_sign",
        ):
            if getattr(ku, name):
                usages.append("non_repudiation" if name == "content_commitment" else name)
    except cx.ExtensionNotFound:
        pass
    return {
        "subject": name_text(cert.subject),
        "issuer": name_text(cert.issuer),
        "serial": format(cert.serial_number, "x"),
        "not_before": iso_z(cert.not_valid_before_utc),
        "not_after": iso_z(cert.not_valid_after_utc),
        "key_usage": usages,
        "public_key": _key_name(cert),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }


def _key_name(cert: x509.Certificate) -> str:
    from sochi_cli.cms import gost

    oid = cert.public_key_algorithm_oid.dotted_string
    if oid in gost.KEYS:
        return gost.KEYS[oid][0] + (
            f" ({gost.KYRGYZ_NAMES[oid]})" if oid in gost.KYRGYZ_NAMES else ""
        )
    return str(cert.public_key_algorithm_oid._name)


def crl_summary(
    crl: x509.CertificateRevocationList, *, now: datetime | None = None
) -> dict[str, Any]:
    next_update = crl.next_update_utc
    return {
        "issuer": name_text(crl.issuer),
        "this_update": iso_z(crl.last_update_utc),
        "next_update": iso_z(next_update) if next_update else None,
        "stale": bool(next_update and next_update < as_utc(now or utcnow())),
        "revoked": [
            {
                "serial": format(r.serial_number, "x"),
                "revoked_at": iso_z(r.revocation_date_utc),
                "reason": _reason(r),
            }
            for r in crl
        ],
    }


def _reason(entry: x509.RevokedCertificate) -> str | None:
    from cryptography import x509 as cx

    try:
        return str(entry.extensions.get_extension_for_class(cx.CRLReason).value.reason.name)
    except cx.ExtensionNotFound:
        return None


# -- CRL lookup --------------------------------------------------------------------------


@dataclass(frozen=True)
class Revocation:
    revoked_at: datetime
    reason: str | None


def crl_for(
    cert: x509.Certificate,
    issuer: x509.Certificate | None,
    crls: Sequence[x509.CertificateRevocationList],
) -> x509.CertificateRevocationList | None:
    """The newest CRL issued by `cert`'s issuer whose signature verifies with the issuer key."""
    from sochi_cli.cms.certsig import crl_signed_by

    candidates = [
        crl
        for crl in crls
        if crl.issuer == cert.issuer and (issuer is None or crl_signed_by(crl, issuer))
    ]
    return max(candidates, key=lambda c: c.last_update_utc, default=None)


def revocation_of(cert: x509.Certificate, crl: x509.CertificateRevocationList) -> Revocation | None:
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is None:
        return None
    return Revocation(as_utc(entry.revocation_date_utc), _reason(entry))


@dataclass
class LevelRevocation:
    """One link of the path: `certificate` checked against the CRL of `issuer`."""

    certificate: x509.Certificate
    issuer: x509.Certificate
    crl: x509.CertificateRevocationList | None  # newest of the issuer's, signature verified
    revocation: Revocation | None
    rejected: int  # CRLs naming the issuer whose signature does not verify with its key
    stale: bool  # the CRL's next update has passed (at `now`)
    expired_before: bool  # the CRL's next update passed before the time being checked

    @property
    def who(self) -> str:
        return name_text(self.certificate.subject)


def chain_revocation(
    path: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    *,
    moment: datetime,
    now: datetime,
) -> list[LevelRevocation]:
    """Each certificate of `path` below the trust anchor against its issuer's CRL.

    A CRL counts only when its issuer name is the issuer's and its signature verifies with
    the issuer's key (`rejected` counts the others). `moment` is the time whose status is
    asked (the signing time); `now` decides staleness.
    """
    from sochi_cli.cms.certsig import crl_signed_by

    levels = []
    for cert, issuer in itertools.pairwise(path):
        named = [c for c in crls if c.issuer == issuer.subject]
        verified = [c for c in named if crl_signed_by(c, issuer)]
        crl = max(verified, key=lambda c: c.last_update_utc, default=None)
        next_update = crl.next_update_utc if crl is not None else None
        levels.append(
            LevelRevocation(
                certificate=cert,
                issuer=issuer,
                crl=crl,
                revocation=revocation_of(cert, crl) if crl is not None else None,
                rejected=len(named) - len(verified),
                stale=bool(next_update and next_update < now),
                expired_before=bool(
                    next_update
                    and next_update < moment
                    and crl is not None
                    and crl.last_update_utc < moment
                ),
            )
        )
    return levels


def unrelated_crls(
    path: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList]
) -> list[x509.CertificateRevocationList]:
    """CRLs whose issuer is no CA of the path (they prove nothing about it)."""
    issuers = {c.subject for c in path[1:]}
    return [c for c in crls if c.issuer not in issuers]


@dataclass(frozen=True)
class KnownRevocation:
    """A revocation the operator confirmed to this profile (its answer to `cert revoke`)."""

    serial: str  # lowercase hex, no leading zeros
    issuer: str | None  # RFC 4514 name of the issuer, when known
    revoked_at: datetime
    reason: str | None

    def matches(self, cert: x509.Certificate) -> bool:
        return format(cert.serial_number, "x") == self.serial and (
            self.issuer is None or self.issuer == cert.issuer.rfc4514_string()
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "issuer": self.issuer,
            "revoked_at": iso_z(self.revoked_at),
            "reason": self.reason,
        }


def _revocations_path(profile: str) -> Path:
    return paths.profile_data_dir(profile) / REVOCATIONS_FILE


def recorded_revocations(profile: str) -> list[KnownRevocation]:
    """Revocations recorded by `record_revocation` (an unreadable file records none)."""
    from sochi_cli.timeutil import parse_instant

    try:
        items = json.loads(_revocations_path(profile).read_text(encoding="utf-8"))
        return [
            KnownRevocation(
                str(i["serial"]), i.get("issuer"), parse_instant(i["revoked_at"]), i.get("reason")
            )
            for i in items
        ]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []


def record_revocation(
    profile: str,
    serial: str,
    *,
    revoked_at: datetime,
    reason: str | None,
    certificate: x509.Certificate | None = None,
) -> KnownRevocation:
    """Remember that the operator revoked `serial`: the gate refuses it from now on."""
    from sochi_cli.store.files import atomic_write_text

    known = KnownRevocation(
        serial.lower().lstrip("0") or "0",
        certificate.issuer.rfc4514_string() if certificate is not None else None,
        as_utc(revoked_at),
        reason,
    )
    kept = [r for r in recorded_revocations(profile) if r.serial != known.serial]
    path = _revocations_path(profile)
    paths.ensure_private_dir(path.parent)
    atomic_write_text(path, json.dumps([r.to_json() for r in [*kept, known]], indent=2))
    return known


def known_revocation(profile: str, cert: x509.Certificate) -> KnownRevocation | Revocation | None:
    """What this profile knows about `cert` being revoked, without the network: a recorded
    revocation, or an entry on a cached CRL of its issuer (signature checked when the
    issuer is in the cached chain)."""
    recorded = next((r for r in recorded_revocations(profile) if r.matches(cert)), None)
    if recorded is not None:
        return recorded
    issuer = next((c for c in cached_chain(profile) if c.subject == cert.issuer), None)
    crl = crl_for(cert, issuer, cached_crls(profile))
    return revocation_of(cert, crl) if crl is not None else None


# -- the clause 1.5 gate -----------------------------------------------------------------


@dataclass
class GateResult:
    """The certificate may sign; warnings say what could not be checked."""

    certificate: x509.Certificate
    path: list[x509.Certificate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


REVOKED_HINT = "a revoked certificate cannot sign: sign with another key (`sochi cert list`)"


def _refuse(reason: str, code: str, hint: str | None = None) -> AuthError:
    return AuthError(f"refusing to sign: {reason}", hint=hint, code=code)


def has_signing_usage(cert: x509.Certificate) -> bool:
    from cryptography import x509 as cx

    try:
        ku = cert.extensions.get_extension_for_class(cx.KeyUsage).value
    except cx.ExtensionNotFound:
        return False
    return bool(ku.digital_signature or ku.content_commitment)


def build_path(
    cert: x509.Certificate,
    roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate],
) -> list[x509.Certificate] | None:
    """Issuer-by-issuer path from `cert` to one of `roots`, each signature checked; None if none."""
    path = [cert]
    current = cert
    pool = [c for c in intermediates if not self_signed(c)]
    for _ in range(10):
        for root in roots:
            if current.issuer == root.subject and _issued_by(current, root):
                if current != root:
                    path.append(root)
                return path
        if self_signed(current):
            return None
        issuer = next(
            (
                c
                for c in pool
                if c.subject == current.issuer and c not in path and _issued_by(current, c)
            ),
            None,
        )
        if issuer is None:
            return None
        path.append(issuer)
        current = issuer
    return None


def trusted_path(
    cert: x509.Certificate,
    roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate],
) -> list[x509.Certificate]:
    """`build_path`, or AuthError (certificate_untrusted) when no trusted root is reached."""
    path = build_path(cert, roots, intermediates)
    if path is None:
        raise AuthError(
            f"the certificate does not chain to a trusted root (issuer {name_text(cert.issuer)})",
            hint="pass --trust main-ca.pem or run `sochi crl fetch`",
            code="certificate_untrusted",
        )
    return path


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    from sochi_cli.cms.certsig import issued_by

    return issued_by(cert, issuer)


def check_can_sign(
    certificate: x509.Certificate,
    *,
    chain: Sequence[x509.Certificate] = (),
    trust_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
    at: datetime | None = None,
    revoked: Sequence[KnownRevocation] = (),
) -> GateResult:
    """Clause 1.5: refuse (AuthError, with the reason) an unusable signing certificate.

    Refused: expired, not yet valid, revoked (a revocation the operator confirmed to this
    profile, `revoked`, or an entry on a CRL the caller supplied — fresh or not: a listed
    revocation stays a revocation), no digitalSignature/nonRepudiation, or no chain to a
    trusted root. There is no override.

    Signing now (`at` not given), any listed revocation refuses, whatever its date: the
    issuer had revoked the certificate when it issued the CRL, and that was before now —
    a revocation time ahead of this machine's clock says the clock is behind, not that the
    key may still sign. With `at` (a status at a given time) the revocation time decides.
    """
    moment = as_utc(at or utcnow())
    result = GateResult(certificate)
    recorded = next((r for r in revoked if r.matches(certificate)), None)
    if recorded is not None:
        raise _refuse(
            f"the certificate was revoked on {format_local(recorded.revoked_at)}"
            + (f" ({recorded.reason})" if recorded.reason else ""),
            "certificate_revoked",
            hint=REVOKED_HINT,
        )
    if moment < certificate.not_valid_before_utc:
        raise _refuse(
            "the certificate is not valid until "
            f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
            "certificate_not_yet_valid",
        )
    if moment > certificate.not_valid_after_utc:
        raise _refuse(
            f"the certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
            "certificate_expired",
            hint="renew it (sochi cert status)",
        )
    if not has_signing_usage(certificate):
        raise _refuse(
            "the certificate's key usage allows neither digitalSignature nor nonRepudiation",
            "certificate_key_usage",
        )
    if not trust_roots:
        raise _refuse(
            "no trusted root (Main CA) is known to check the chain",
            "trust_anchor_missing",
            hint="run `sochi crl fetch` or pass --trust FILE",
        )
    path = build_path(certificate, trust_roots, chain)
    if path is None:
        raise _refuse(
            "the certificate does not chain to a trusted root "
            f"(issuer {name_text(certificate.issuer)})",
            "certificate_untrusted",
        )
    result.path = path
    for ca in path[1:]:
        if not ca.not_valid_before_utc <= moment <= ca.not_valid_after_utc:
            raise _refuse(
                f"CA certificate {name_text(ca.subject)} is outside its validity period",
                "certificate_untrusted",
            )
    if not crls:
        result.warnings.append("no CRL available: revocation not checked (sochi crl fetch)")
        return result
    for level in chain_revocation(path, crls, moment=moment, now=moment):
        cert = level.certificate
        who = "the certificate" if cert is certificate else f"CA {level.who}"
        if level.rejected:
            result.warnings.append(
                f"a CRL naming {name_text(level.issuer.subject)} does not verify with its "
                "key: ignored"
            )
        if level.crl is None:
            result.warnings.append(
                f"no CRL from {name_text(cert.issuer)}: revocation of {who} not checked"
            )
            continue
        listed = level.revocation
        if listed is not None and (
            at is None or listed.revoked_at <= moment + timedelta(seconds=1)
        ):
            raise _refuse(
                f"{who} was revoked on {format_local(listed.revoked_at)}"
                + (f" ({listed.reason})" if listed.reason else ""),
                "certificate_revoked",
                hint=REVOKED_HINT if cert is certificate else None,
            )
        next_update = level.crl.next_update_utc
        if level.stale and next_update is not None:
            result.warnings.append(
                f"the CRL of {name_text(cert.issuer)} is stale (next update "
                f"{format_local(next_update)}): sochi crl fetch"
            )
    return result


# -- clause 18: renewal ------------------------------------------------------------------

RENEWAL_REQUISITES = (
    "inn",
    "company_name",
    "locality",
    "owner_name",
    "position",
    "passport_series",
    "email",
)


def renewal_path(key_kind: str | None) -> str:
    """How a certificate is renewed (clause 18), from its key's kind: the one decision
    `cert status`, `cert list` and `cert renew` all show.

    E-Cloud keys ("cloud") renew automatically after the year ("e-cloud-auto"); a key the
    subscriber holds — RuToken ("token"/"pkcs11") or a development key file ("file") —
    needs a new certificate requested at the operator's office ("office-visit"), where a
    CSR made with the key stands in for the visit.
    """
    return "e-cloud-auto" if key_kind == "cloud" else "office-visit"


# Clause 18: an E-Cloud renewal is cancelled, and the next year paid, 30 days before expiry;
# that is when renewing is due for every kind of key. Before it sochi suggests nothing.
RENEWAL_WINDOW_DAYS = 30


@dataclass(frozen=True)
class RenewalDecision:
    """When and how a certificate is renewed: the one decision `cert status`, `cert list`
    and `cert renew` share (renewal suggested and done only inside the window)."""

    path: str  # renewal_path(): "e-cloud-auto" | "office-visit"
    opens: date  # the first day of the renewal window (Bishkek), 30 days before expiry
    due: bool  # inside the window, or expired

    def text(self) -> str:
        return f"{self.path}, due now" if self.due else f"{self.path}, from {self.opens}"

    def to_json(self) -> dict[str, Any]:
        return {
            "renewal": self.path,
            "renewal_from": self.opens.isoformat(),
            "renewal_due": self.due,
        }


def renewal_decision(
    key_kind: str | None, not_after: datetime, *, at: datetime | None = None
) -> RenewalDecision:
    """The renewal path of `key_kind` and whether renewing is due at `at` (default: now)."""
    from sochi_cli.timeutil import to_bishkek

    opens_at = as_utc(not_after) - timedelta(days=RENEWAL_WINDOW_DAYS)
    return RenewalDecision(
        renewal_path(key_kind), to_bishkek(opens_at).date(), as_utc(at or utcnow()) >= opens_at
    )


@dataclass(frozen=True)
class RenewalStatus:
    days_left: int
    expires: datetime
    signer_kind: str
    path: str  # renewal_path(): "e-cloud-auto" | "office-visit"
    summary: str
    actions: list[str]  # only inside the renewal window (and a requisites drift, any time)
    requisites_drift: list[str]
    decision: RenewalDecision | None = None


def requisites_drift(
    certificate_requisites: dict[str, str | None], account_requisites: dict[str, str | None]
) -> list[str]:
    """Names of clause-18 requisites that differ between certificate and account.

    The account side comes from the operator API (`GET /account`); the caller wires it.
    """
    drift = []
    for name in RENEWAL_REQUISITES:
        a = (certificate_requisites.get(name) or "").strip().casefold()
        b = (account_requisites.get(name) or "").strip().casefold()
        if a and b and a != b:
            drift.append(name)
    return drift


def certificate_requisites(cert: x509.Certificate) -> dict[str, str | None]:
    """Clause-18 requisites as far as the certificate subject carries them."""
    from cryptography.x509.oid import NameOID

    def first(oid: Any) -> str | None:
        values = cert.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else None

    return {
        "inn": first(NameOID.SERIAL_NUMBER) or first(NameOID.USER_ID),
        "company_name": first(NameOID.ORGANIZATION_NAME),
        "locality": first(NameOID.LOCALITY_NAME),
        "owner_name": first(NameOID.COMMON_NAME),
        "position": first(NameOID.TITLE),
        "passport_series": None,
        "email": first(NameOID.EMAIL_ADDRESS),
    }


def renewal_status(
    cert: x509.Certificate,
    signer_kind: str,
    *,
    at: datetime | None = None,
    account_requisites: dict[str, str | None] | None = None,
) -> RenewalStatus:
    """Days to expiry, the clause-18 renewal path for this kind of key, and what to do —
    renewal actions only inside the renewal window (`renewal_decision`)."""
    moment = as_utc(at or utcnow())
    expires = as_utc(cert.not_valid_after_utc)
    days = (expires - moment).days
    decision = renewal_decision(signer_kind, expires, at=moment)
    drift = (
        requisites_drift(certificate_requisites(cert), account_requisites)
        if account_requisites
        else []
    )
    actions: list[str] = []
    if signer_kind == "cloud":
        path = renewal_path(signer_kind)
        cancel_by = expires - timedelta(days=30)
        summary = (
            "E-Cloud key: renews automatically after the year unless cancelled by "
            f"{cancel_by:%Y-%m-%d} (30 days before expiry), and only if the requisites "
            "(INN, company name, locality, owner's name, position, passport series, e-mail) "
            "are unchanged (clause 18.2)"
        )
        actions.append("keep the next year paid before expiry (clause 18.3)")
        if drift:
            actions.append(
                "requisites changed (" + ", ".join(drift) + "): automatic renewal will not "
                "happen; apply for a new certificate"
            )
    elif signer_kind == "pkcs11":
        path = renewal_path(signer_kind)
        summary = (
            "RuToken key: renewal only with a visit to the operator's office with the token "
            "(clause 18.2)"
        )
        actions.append("book an office visit before expiry and bring the token")
        actions.append("keep the next year paid before expiry (clause 18.3)")
    else:
        path = renewal_path(signer_kind)
        summary = (
            "key file (development only): renewed like a token key, with a certificate "
            "request (CSR) at the operator's office (clause 18.2)"
        )
        actions.append("renew with `sochi cert renew --csr FILE` (a CSR made with the key)")
    if not decision.due:
        # nothing to renew or pay yet; a requisites drift is worth knowing about any time
        actions = [a for a in actions if a.startswith("requisites changed")]
        summary += (
            f"; nothing to do before {decision.opens} ({RENEWAL_WINDOW_DAYS} days before expiry)"
        )
    if days < 0:
        summary = f"EXPIRED {-days} days ago. " + summary
    elif decision.due:
        actions.insert(0, f"expires in {days} days: act now")
    return RenewalStatus(days, expires, signer_kind, path, summary, actions, drift, decision)


__all__ = [
    "KEY_USAGE_WORDS",
    "RENEWAL_REQUISITES",
    "RENEWAL_WINDOW_DAYS",
    "FetchedPki",
    "GateResult",
    "KnownRevocation",
    "LevelRevocation",
    "RenewalDecision",
    "RenewalStatus",
    "Revocation",
    "build_path",
    "cached_chain",
    "cached_crl",
    "cached_crls",
    "certificate_requisites",
    "certificate_summary",
    "chain_revocation",
    "check_can_sign",
    "crl_for",
    "crl_summary",
    "fetch_chain",
    "fetch_crl",
    "fetch_pki",
    "has_signing_usage",
    "known_revocation",
    "load_certificate_files",
    "load_crl_files",
    "name_text",
    "parse_certificates",
    "parse_crl",
    "record_revocation",
    "recorded_revocations",
    "renewal_decision",
    "renewal_path",
    "renewal_status",
    "requisites_drift",
    "revocation_of",
    "self_signed",
    "store_ca_crl",
    "store_chain",
    "store_crl",
    "unrelated_crls",
]
