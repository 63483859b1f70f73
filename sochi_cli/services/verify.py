"""The clause-8 dispute procedure: a step-by-step verdict on a detached signature, as evidence.

Steps 8.2.1–8.2.7, 8.3 and 8.4 of the offer agreement, each with a status and the facts it
rests on. Path validation with CRLs at the signing moment uses pyhanko-certvalidator.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.cms.digest import digest_content_multi
from sochi_cli.cms.parse import ParsedSigner, parse_signature
from sochi_cli.errors import SignatureError
from sochi_cli.names import name_text
from sochi_cli.services.certificates import (
    LevelRevocation,
    build_path,
    certificate_summary,
    chain_revocation,
    crl_summary,
    has_signing_usage,
    unrelated_crls,
)
from sochi_cli.timeutil import as_utc, format_local, iso_z, parse_instant, utcnow

if TYPE_CHECKING:
    from cryptography import x509

PASSED, FAILED, WARNING, INFO, INDETERMINATE, SKIPPED = (
    "passed",
    "failed",
    "warning",
    "info",
    "indeterminate",
    "skipped",
)
STANDING, NOT_STANDING, UNDETERMINED = "standing", "not_standing", "indeterminate"

FUTURE_SKEW_SECONDS = 300.0  # a signer's clock this far ahead of ours is tolerated
TITLES = {
    "8.2.1": "Identify the signer's certificate",
    "8.2.2": "Verify the signature with the certificate's public key",
    "8.2.3": "Determine the signing time",
    "8.2.4": "Build and verify the chain up to the Main CA",
    "8.2.5": "Certificate validity now",
    "8.2.6": "Certificate validity and permitted use at signing time",
    "8.2.7": "Check the certificate revocation lists (CRL) of the whole chain",
    "8.3": "Compare revocation time with signing time",
    "8.4": "Verdict",
}


@dataclass
class Step:
    step: str
    title: str
    status: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SignerReport:
    signer: str
    steps: list[Step]
    verdict: str
    reason: str


@dataclass
class DisputeReport:
    """Everything the commission reads; `to_json()` is the `--json` output."""

    document: dict[str, Any]
    signature: dict[str, Any]
    checked_at: str
    trust_roots: list[str]
    crls: list[dict[str, Any]]
    signers: list[SignerReport]
    verdict: str
    stands: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _step(step: str, status: str, summary: str, **details: Any) -> Step:
    return Step(step, TITLES[step], status, summary, details)


def _when(moment: datetime) -> str:
    return f"{as_utc(moment):%Y-%m-%d %H:%M:%S} UTC ({format_local(moment)})"


def _run_sync(coroutine: Any) -> Any:
    """Run a coroutine to completion, also when called from inside a running event loop."""
    import asyncio  # only the path validation needs it (pyhanko-certvalidator is async)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _validate_with_pyhanko(
    cert: x509.Certificate,
    others: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    crls: Sequence[bytes],
    moment: datetime,
) -> tuple[str, str, dict[str, Any]]:
    """RFC 5280 validation with CRLs at `moment` (hard-fail). Returns (status, summary, details)."""
    from asn1crypto import x509 as ax
    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko_certvalidator import CertificateValidator, ValidationContext, errors
    from pyhanko_certvalidator.policy_decl import (
        CertRevTrustPolicy,
        RevocationCheckingPolicy,
        RevocationCheckingRule,
    )

    from sochi_cli.cms import der
    from sochi_cli.cms.certsig import pyhanko_signature_validator

    def a(c: x509.Certificate) -> Any:  # pyhanko dumps and hashes them: keep them verbatim
        return der.load(ax.Certificate, c.public_bytes(Encoding.DER))

    # every certificate below the anchor needs its issuer's CRL, whether or not it names a
    # distribution point (pyhanko's "hard-fail" checks only the certificates that do)
    crl_required = RevocationCheckingRule.CRL_REQUIRED
    context = ValidationContext(
        trust_roots=[a(r) for r in roots],
        other_certs=[a(c) for c in others],
        crls=list(crls),
        moment=moment,
        allow_fetching=False,
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(
                ee_certificate_rule=crl_required, intermediate_ca_cert_rule=crl_required
            ),
            retroactive_revinfo=True,  # a CRL issued after the signing time speaks for it
        ),
        signature_validator=pyhanko_signature_validator(),
    )
    validator = CertificateValidator(a(cert), validation_context=context)
    try:
        _run_sync(validator.async_validate_path())
    except errors.RevokedError as exc:
        return FAILED, str(exc), {"revoked_at": as_utc(exc.revocation_dt).isoformat()}
    except errors.InsufficientRevinfoError as exc:
        return INDETERMINATE, f"no usable revocation information: {exc}", {}
    except (errors.PathValidationError, errors.PathBuildingError) as exc:
        return FAILED, str(exc), {}
    except errors.ValidationError as exc:
        return FAILED, str(exc), {}
    return PASSED, "path valid at the signing time with the supplied CRLs (RFC 5280)", {}


def _algorithm_text(signer: ParsedSigner, cert: x509.Certificate) -> str:
    if signer.signature_algorithm == "gost":
        from sochi_cli.cms import gost

        return gost.describe(cert.public_key_algorithm_oid.dotted_string, signer.digest_algorithm)
    return f"{signer.signature_algorithm}, {signer.digest_algorithm}"


def _dates_ok(path: Sequence[x509.Certificate], moment: datetime) -> list[str]:
    problems = []
    for cert in path:
        name = name_text(cert.subject)
        if moment < cert.not_valid_before_utc:
            problems.append(f"{name} not valid before {_when(cert.not_valid_before_utc)}")
        elif moment > cert.not_valid_after_utc:
            problems.append(f"{name} expired {_when(cert.not_valid_after_utc)}")
    return problems


def check_signer(
    signer: ParsedSigner,
    *,
    certificates: Sequence[x509.Certificate],
    content_digests: dict[str, bytes],
    trust_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    crl_der: Sequence[bytes],
    now: datetime,
    clock_skew: float = 0.0,
) -> SignerReport:
    """Run 8.2.1 … 8.4 for one SignerInfo at the moment `now`.

    A signature declared as made after `now` (beyond `clock_skew` seconds) did not exist
    then: it cannot stand at that moment.
    """
    from sochi_cli.cms.verify import verify_signer

    steps: list[Step] = []
    cert = signer.signer_certificate

    def finish(verdict: str, reason: str) -> SignerReport:
        status = {STANDING: PASSED, NOT_STANDING: FAILED}.get(verdict, INDETERMINATE)
        steps.append(_step("8.4", status, reason, verdict=verdict))
        who = name_text(cert.subject) if cert is not None else signer.signer_id
        return SignerReport(who, steps, verdict, reason)

    # 8.2.1
    if cert is None:
        steps.append(
            _step("8.2.1", FAILED, f"the certificate {signer.signer_id} is not in the signature")
        )
        return finish(UNDETERMINED, "the signer's certificate could not be identified")
    steps.append(
        _step(
            "8.2.1",
            PASSED,
            f"{name_text(cert.subject)}, serial {cert.serial_number:x}, "
            f"issued by {name_text(cert.issuer)}",
            certificate=certificate_summary(cert),
            embedded=[name_text(c.subject) for c in certificates],
        )
    )
    # 8.2.2
    try:
        verify_signer(signer, content_digests)
    except SignatureError as exc:
        if exc.code in ("algorithm_unsupported", "gost_engine_missing"):
            steps.append(_step("8.2.2", INDETERMINATE, exc.one_line(), code=exc.code))
            return finish(UNDETERMINED, "sochi cannot verify this algorithm: " + exc.message)
        steps.append(_step("8.2.2", FAILED, exc.one_line(), code=exc.code))
        return finish(NOT_STANDING, "the signature does not verify: " + exc.message)
    steps.append(
        _step(
            "8.2.2",
            PASSED,
            "the document's digest matches and the signature verifies "
            f"({_algorithm_text(signer, cert)})",
            digest_algorithm=signer.digest_algorithm,
            signature_algorithm=signer.signature_algorithm,
            message_digest=(signer.message_digest or b"").hex() or None,
        )
    )
    # 8.2.3
    signing_time = signer.signing_time
    if signing_time is None:
        moment = now
        steps.append(
            _step(
                "8.2.3",
                WARNING,
                "the signature carries no signingTime; the checks below use the time of "
                f"verification, {_when(now)}",
                signing_time=None,
            )
        )
    elif (signing_time - now).total_seconds() > clock_skew:
        steps.append(
            _step(
                "8.2.3",
                FAILED,
                f"signed at {_when(signing_time)} (signingTime), after the moment of the check, "
                f"{_when(now)}: the signature did not exist then",
                signing_time=iso_z(signing_time),
                checked_at=iso_z(now),
            )
        )
        return finish(NOT_STANDING, "the signature is dated after the moment it is checked at")
    else:
        moment = signing_time
        steps.append(
            _step(
                "8.2.3",
                PASSED,
                f"signed at {_when(signing_time)} (signingTime attribute, as declared by the "
                "signer's computer; not a trusted timestamp)",
                signing_time=signing_time.isoformat(),
            )
        )
    # 8.2.4
    if not trust_roots:
        steps.append(_step("8.2.4", INDETERMINATE, "no trusted root (Main CA) given", path=[]))
        return finish(UNDETERMINED, "the chain cannot be checked without the Main CA certificate")
    path = build_path(cert, trust_roots, certificates)
    if path is None:
        steps.append(
            _step(
                "8.2.4",
                FAILED,
                "no chain of verifying certificate signatures leads from the signer's "
                "certificate to a trusted root (unknown root, missing or forged intermediate)",
                trusted_roots=[name_text(r.subject) for r in trust_roots],
            )
        )
        return finish(NOT_STANDING, "the certificate does not chain to the Main CA")
    steps.append(
        _step(
            "8.2.4",
            PASSED,
            "chain verified: " + " → ".join(name_text(c.subject) for c in path),
            path=[certificate_summary(c) for c in path],
        )
    )
    # 8.2.5
    problems_now = _dates_ok(path, now)
    steps.append(
        _step(
            "8.2.5",
            INFO if problems_now else PASSED,
            ("not valid now: " + "; ".join(problems_now))
            if problems_now
            else f"all certificates in the chain are valid at {_when(now)}",
            at=now.isoformat(),
            note="validity now does not decide the dispute; validity at signing time does",
        )
    )
    # 8.2.6
    problems = _dates_ok(path, moment)
    if not has_signing_usage(cert):
        problems.append(
            "the certificate's key usage allows neither digitalSignature nor nonRepudiation"
        )
    if problems:
        steps.append(_step("8.2.6", FAILED, "; ".join(problems), at=moment.isoformat()))
        return finish(NOT_STANDING, "the certificate was not usable for signing at signing time")
    steps.append(
        _step(
            "8.2.6",
            PASSED,
            f"valid at {_when(moment)}; key usage permits signing",
            at=moment.isoformat(),
        )
    )
    # 8.2.7: every link of the path against its issuer's CRL
    levels = chain_revocation(path, crls, moment=moment, now=now)
    facts = [_level_facts(level, moment, now) for level in levels]
    unrelated = [name_text(c.issuer) for c in unrelated_crls(path, crls)]
    missing = [f for f, level in zip(facts, levels, strict=True) if level.crl is None]
    expired = [f for f, level in zip(facts, levels, strict=True) if level.expired_before]
    listed = [level for level in levels if level.revocation is not None]
    status_827 = (
        INDETERMINATE
        if missing or expired
        else WARNING
        if listed or any(level.stale or level.rejected for level in levels)
        else PASSED
    )
    summary_827 = (
        f"{len(levels)} certificate(s) below the Main CA checked against their issuer's CRL"
        if not missing and not expired
        else "revocation cannot be established for "
        + ", ".join(f["certificate"] for f in missing + expired)
    )
    step_827 = _step("8.2.7", status_827, summary_827, levels=facts, unrelated_crls=unrelated)
    steps.append(step_827)
    # 8.3: revocation time vs signing time, at every level (revoked after signing: stands)
    before = [lv for lv in listed if lv.revocation and lv.revocation.revoked_at <= moment]
    if listed and signing_time is None:
        steps.append(
            _step(
                "8.3",
                INDETERMINATE,
                "revoked, and the signing time is unknown",
                levels=[_compare(lv, None) for lv in listed],
            )
        )
        return finish(UNDETERMINED, "revoked certificate and no signing time to compare")
    if before:
        steps.append(
            _step(
                "8.3",
                FAILED,
                "revoked BEFORE signing: " + ", ".join(lv.who for lv in before),
                levels=[_compare(lv, moment) for lv in listed],
            )
        )
        first = before[0]
        whose = "the certificate" if first.certificate is cert else f"CA {first.who}"
        return finish(NOT_STANDING, f"{whose} was revoked before the signature was made")
    if listed:
        steps.append(
            _step(
                "8.3",
                PASSED,
                "revoked only AFTER signing: " + ", ".join(lv.who for lv in listed),
                levels=[_compare(lv, moment) for lv in listed],
            )
        )
    else:
        steps.append(
            _step("8.3", SKIPPED, "no certificate of the chain is revoked: nothing to compare")
        )
    if missing or expired:
        return finish(
            UNDETERMINED,
            "revocation cannot be checked without a current CRL of every CA in the chain",
        )
    status, summary, _details = _validate_with_pyhanko(cert, path[1:], trust_roots, crl_der, moment)
    step_827.details["path_validation"] = summary
    if status != PASSED:
        step_827.status = status
        step_827.summary += f"; RFC 5280 path validation: {summary}"
        return finish(NOT_STANDING if status == FAILED else UNDETERMINED, summary)
    if listed:
        return finish(
            STANDING,
            "the signature verifies, the chain verifies, and the revoked certificate(s) were "
            "revoked only after signing: the signature stands (8.3, 8.4)",
        )
    return finish(
        STANDING,
        "the signature verifies, the chain to the Main CA verifies and no certificate of it "
        "is revoked: the signature stands (8.4)",
    )


def _level_facts(level: LevelRevocation, moment: datetime, now: datetime) -> dict[str, Any]:
    """One line of 8.2.7 (and its facts): this certificate against its issuer's CRL."""
    crl = level.crl
    issuer = name_text(level.issuer.subject)
    facts: dict[str, Any] = {
        "certificate": level.who,
        "serial": format(level.certificate.serial_number, "x"),
        "issuer": issuer,
        "crl": None,
        "listed": False,
        "stale": level.stale,
        "rejected_crls": level.rejected,
    }
    rejected = (
        f"; {level.rejected} CRL(s) naming {issuer} do not verify with its key and prove nothing"
        if level.rejected
        else ""
    )
    if crl is None:
        facts["status"] = INDETERMINATE
        facts["line"] = (
            f"{level.who}: no CRL of {issuer} with a valid signature was given "
            f"(sochi crl fetch, or --crl FILE){rejected}"
        )
        return facts
    crl_facts = crl_summary(crl, now=now)
    crl_facts.pop("revoked")
    facts["crl"] = crl_facts
    of = f"the CRL of {issuer} of {_when(crl.last_update_utc)}"
    stale = (
        f"; STALE: its next update {_when(crl.next_update_utc)} has passed"
        if level.stale and crl.next_update_utc is not None
        else ""
    )
    if level.revocation is not None:
        facts["listed"] = True
        facts["revoked_at"] = level.revocation.revoked_at.isoformat()
        facts["reason"] = level.revocation.reason
        facts["status"] = WARNING
        facts["line"] = (
            f"{level.who}: LISTED on {of}: revoked at {_when(level.revocation.revoked_at)}"
            + (f", reason {level.revocation.reason}" if level.revocation.reason else "")
            + stale
            + rejected
        )
    elif level.expired_before and crl.next_update_utc is not None:
        facts["status"] = INDETERMINATE
        facts["line"] = (
            f"{level.who}: {of} expired ({_when(crl.next_update_utc)}) before "
            f"{_when(moment)}: it cannot tell the status then{rejected}"
        )
    else:
        facts["status"] = WARNING if stale or rejected else PASSED
        facts["line"] = f"{level.who}: not on {of}{stale}{rejected}"
    return facts


def _compare(level: LevelRevocation, signing_time: datetime | None) -> dict[str, Any]:
    assert level.revocation is not None
    revoked_at = level.revocation.revoked_at
    if signing_time is None:
        line = f"{level.who}: revoked at {_when(revoked_at)}; signing time unknown"
    elif revoked_at <= signing_time:
        line = (
            f"{level.who}: revoked at {_when(revoked_at)}, BEFORE signing at {_when(signing_time)}"
        )
    else:
        line = (
            f"{level.who}: revoked at {_when(revoked_at)}, AFTER signing at {_when(signing_time)}"
        )
    return {
        "certificate": level.who,
        "revoked_at": revoked_at.isoformat(),
        "before_signing": None if signing_time is None else revoked_at <= signing_time,
        "line": line,
    }


def verify_dispute(
    content: Path | bytes,
    signature: bytes,
    *,
    trust_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
    extra_certificates: Sequence[x509.Certificate] = (),
    at: datetime | None = None,
    document_name: str | None = None,
    signature_name: str | None = None,
) -> DisputeReport:
    """Run the clause-8 procedure. Malformed signatures raise SignatureError; else a report."""
    from cryptography.hazmat.primitives.serialization import Encoding

    now = as_utc(at or utcnow())
    # Checked "now", a signature made a moment ago on a computer whose clock runs a little
    # ahead must not fail; checked at a given --at, the declared time is taken as it is.
    skew = 0.0 if at is not None else FUTURE_SKEW_SECONDS
    parsed = parse_signature(signature)
    algorithms = [s.digest_algorithm for s in parsed.signers] + ["sha256"]
    try:
        digests = digest_content_multi(content, algorithms)
    except SignatureError:
        digests = digest_content_multi(content, ["sha256"])
    crl_der = [c.public_bytes(Encoding.DER) for c in crls]
    certs = list(parsed.certificates) + list(extra_certificates)
    reports = []
    for signer in parsed.signers:
        reports.append(
            check_signer(
                signer,
                certificates=certs,
                content_digests=digests,
                trust_roots=trust_roots,
                crls=crls,
                crl_der=crl_der,
                now=now,
                clock_skew=skew,
            )
        )
    verdicts = {r.verdict for r in reports}
    if verdicts == {STANDING}:
        verdict = STANDING
    elif NOT_STANDING in verdicts:
        verdict = NOT_STANDING
    else:
        verdict = UNDETERMINED
    reason = next((r.reason for r in reports if r.verdict == verdict), "")
    return DisputeReport(
        document={
            "name": document_name,
            "sha256": digests["sha256"].hex(),
        },
        signature={
            "name": signature_name,
            "sha256": hashlib.sha256(signature).hexdigest(),
            "signers": len(parsed.signers),
        },
        checked_at=iso_z(now),
        trust_roots=[name_text(r.subject) for r in trust_roots],
        crls=[{k: v for k, v in crl_summary(c, now=now).items() if k != "revoked"} for c in crls],
        signers=reports,
        verdict=verdict,
        stands=verdict == STANDING,
        reason=reason,
    )


def render_text(report: DisputeReport) -> list[str]:
    """The numbered step report, one line per fact, for people and for the file."""
    mark = {
        PASSED: "OK  ",
        FAILED: "FAIL",
        WARNING: "WARN",
        INFO: "INFO",
        INDETERMINATE: "??  ",
        SKIPPED: "--  ",
    }
    lines = [
        "Signature verification per clause 8 of the offer agreement",
        f"Document:  {report.document['name'] or '-'}  sha256 {report.document['sha256']}",
        f"Signature: {report.signature['name'] or '-'}  sha256 {report.signature['sha256']}",
        f"Checked:   {_when(parse_instant(report.checked_at))}",
    ]
    for index, signer in enumerate(report.signers, 1):
        lines.append("")
        if len(report.signers) > 1:
            lines.append(f"Signer {index}: {signer.signer}")
        for step in signer.steps:
            lines.append(f"{step.step:<6} [{mark.get(step.status, step.status)}] {step.title}")
            lines.append(f"{'':<14}{step.summary}")
            for level in step.details.get("levels", []):
                status = mark.get(level.get("status", ""), "    ")
                lines.append(
                    f"{'':<14}[{status}] {level['line']}"
                    if "status" in level
                    else f"{'':<14}- {level['line']}"
                )
    lines.append("")
    word = {
        STANDING: "SIGNATURE STANDS",
        NOT_STANDING: "SIGNATURE DOES NOT STAND",
        UNDETERMINED: "VERDICT UNDETERMINED",
    }[report.verdict]
    lines.append(f"Verdict: {word} — {report.reason}")
    return lines


__all__ = [
    "NOT_STANDING",
    "STANDING",
    "UNDETERMINED",
    "DisputeReport",
    "SignerReport",
    "Step",
    "check_signer",
    "render_text",
    "verify_dispute",
]
