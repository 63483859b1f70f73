"""Sign files into detached `.p7s` signatures: trust material, the clause-1.5 gate, atomic write."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sochi_cli.errors import SochiError, UsageError
from sochi_cli.services import certificates as certs

if TYPE_CHECKING:
    from cryptography import x509

    from sochi_cli.cms.digest import Content
    from sochi_cli.services.progress import ProgressCallback
    from sochi_cli.token.base import Signer

SIGNATURE_SUFFIX = ".p7s"
REFRESH_TIMEOUT = 10.0  # seconds: a refresh before signing must not hang an offline run


@dataclass
class TrustMaterial:
    """Trusted roots, known intermediates and CRLs a check may use."""

    roots: list[x509.Certificate] = field(default_factory=list)
    intermediates: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    revoked: list[certs.KnownRevocation] = field(default_factory=list)  # `cert revoke` said so
    warnings: list[str] = field(default_factory=list)  # e.g. the CRL could not be refreshed


def trust_material(
    profile: str,
    *,
    trust_files: Sequence[Path] = (),
    crl_files: Sequence[Path] = (),
    api_url: str | None = None,
    fetch_missing: bool = False,
    refresh: bool = False,
) -> TrustMaterial:
    """`--trust`/`--crl` files first, then the profile's cache (`crl fetch`), optionally fetched.

    Self-signed certificates are trust anchors; the others serve as intermediates.
    `refresh` (what signing asks for): unless CRL files are given, the chain and CRLs are
    fetched again first (as `sochi crl fetch` does), so a certificate revoked since the last
    fetch is refused; when the operator cannot be reached the cache is used and a warning
    says so. Revocations the operator confirmed to `sochi cert revoke` come along too.
    """
    from sochi_cli.timeutil import format_local

    material = TrustMaterial(revoked=certs.recorded_revocations(profile))
    asked = bool(refresh and api_url and not crl_files)  # the operator is asked once at most
    if asked and api_url:
        try:
            certs.fetch_pki(profile, api_url, timeout=REFRESH_TIMEOUT)
            material.sources.append(f"{api_url}/pki/crl")
        except SochiError as exc:
            kept = certs.cached_crl(profile)
            material.warnings.append(
                f"the CRL could not be refreshed ({exc.one_line()}): revocation is checked "
                f"against the cached CRL of {format_local(kept.last_update_utc)}"
                if kept is not None
                else f"the CRL could not be fetched ({exc.one_line()})"
            )
    given = certs.load_certificate_files(trust_files)
    if given:
        material.sources.append("--trust")
    else:
        given = certs.cached_chain(profile)
        if not given and fetch_missing and api_url and not asked:
            try:
                given = certs.fetch_chain(profile, api_url)
                material.sources.append(f"{api_url}/pki/chain")
            except SochiError:
                given = []
        elif given:
            material.sources.append("cache")
    material.roots = [c for c in given if certs.self_signed(c)]
    material.intermediates = [c for c in given if not certs.self_signed(c)]
    material.crls = certs.load_crl_files(crl_files)
    if not crl_files:
        cached = certs.cached_crls(profile)
        if not cached and fetch_missing and api_url and not asked:
            try:
                cached = [crl for crl, _ in certs.fetch_pki(profile, api_url).crls]
            except SochiError:
                cached = []
        material.crls.extend(cached)
    return material


def signature_path(source: Path, out_dir: Path | None = None) -> Path:
    """`FILE.p7s` next to the file, or in `out_dir`."""
    target = (out_dir or source.parent) / (source.name + SIGNATURE_SUFFIX)
    return target


@dataclass
class SignedFile:
    source: Path
    signature: Path
    bytes: int


@dataclass
class SignResult:
    files: list[SignedFile]
    signer_kind: str
    certificate: x509.Certificate
    warnings: list[str]


def check_inputs(files: Sequence[Path], out_dir: Path | None) -> list[Path]:
    """Every input exists and is a regular file, before any token is touched."""
    if not files:
        raise UsageError("no file to sign")
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise UsageError(f"not a readable file: {', '.join(missing)}")
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: --out-dir is not a directory")
    targets = [signature_path(Path(f), out_dir) for f in files]
    if len(set(targets)) != len(targets):
        raise UsageError("two inputs would write the same .p7s (same file name in --out-dir)")
    return targets


def sign_with_gate(
    contents: Sequence[Content],
    signer: Signer,
    *,
    trust: TrustMaterial,
    signing_time: datetime | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> tuple[list[bytes], certs.GateResult]:
    """Open the signer once, pass the clause-1.5 gate, sign every content (one token session).

    For the batch engine and anything else that signs: never sign without this gate.
    """
    from sochi_cli.cms import sign_detached_many

    with signer:
        gate = certs.check_can_sign(
            signer.certificate,
            chain=[*signer.chain, *trust.intermediates],
            trust_roots=trust.roots,
            crls=trust.crls,
            at=signing_time,
            revoked=trust.revoked,
        )
        gate.warnings[:0] = trust.warnings
        for warning in gate.warnings:
            if on_warning:
                on_warning(warning)
        signatures = sign_detached_many(contents, signer, signing_time=signing_time)
    return signatures, gate


def sign_files(
    files: Sequence[Path],
    signer: Signer,
    *,
    trust: TrustMaterial,
    out_dir: Path | None = None,
    signing_time: datetime | None = None,
    on_warning: Callable[[str], None] | None = None,
    overwrite: bool = True,
    progress: ProgressCallback | None = None,
    profile: str | None = None,
) -> SignResult:
    """Sign all files (gate first), then write each `.p7s` atomically.

    Nothing is written unless every signature was produced: a failure leaves no `.p7s`.
    With `overwrite=False` an existing `.p7s` is refused before the key is touched.
    With `profile`, its journal is opened (so checked: a damaged one stops the command
    before the key is touched) and one audit record `document.sign` says what was signed
    (each document's and signature's SHA-256), by which certificate (clause 6.5).
    """
    from sochi_cli.services.progress import ProgressEvent
    from sochi_cli.store.files import atomic_write_bytes, own_file, probe_writable

    emit = progress or (lambda _event: None)
    paths = [Path(f) for f in files]
    targets = check_inputs(paths, out_dir)
    if not overwrite:
        existing = [str(t) for t in targets if t.exists()]
        if existing:
            raise UsageError(
                f"{existing[0]} already exists"
                + (f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""),
                hint="pass --force to replace it",
                code="file_exists",
            )
    if profile is not None:
        from sochi_cli.store.journal import Journal

        Journal.for_profile(profile).close()
    # every folder can take its .p7s: checked before a PIN, a token try or an SMS is spent
    for target in {t.parent: t for t in reversed(targets)}.values():
        probe_writable(target, "signature")
    emit(ProgressEvent("sign", len(paths), 0))
    signatures, gate = sign_with_gate(
        paths, signer, trust=trust, signing_time=signing_time, on_warning=on_warning
    )
    written = []
    for source, target, der in zip(paths, targets, signatures, strict=True):
        with own_file(target, "signature"):
            atomic_write_bytes(target, der)
        written.append(SignedFile(source, target, len(der)))
        emit(ProgressEvent("write", len(paths), len(written)))
    result = SignResult(written, signer.kind, gate.certificate, gate.warnings)
    if profile is not None:
        _audit_signed(profile, result)
    return result


def _audit_signed(profile: str, result: SignResult) -> None:
    import hashlib

    from sochi_cli.store.archive import file_sha256
    from sochi_cli.store.audit import Actor, AuditLog
    from sochi_cli.store.files import printable
    from sochi_cli.store.journal import Journal

    files = [
        {
            "file": printable(str(f.source.resolve())),
            "sha256": file_sha256(f.source)[0],
            "signature": printable(str(f.signature.resolve())),
            "signature_sha256": hashlib.sha256(f.signature.read_bytes()).hexdigest(),
        }
        for f in result.files
    ]
    with Journal.for_profile(profile) as journal:
        AuditLog(journal).append(
            "document.sign",
            {"signer": result.signer_kind, "count": len(files), "files": files},
            actor=Actor.from_certificate(result.certificate),
        )


__all__ = [
    "SIGNATURE_SUFFIX",
    "SignResult",
    "SignedFile",
    "TrustMaterial",
    "check_inputs",
    "sign_files",
    "sign_with_gate",
    "signature_path",
    "trust_material",
]
