"""`sochi doctor --bundle FILE.zip` and `--read FILE.zip`: what a subscriber sends to support.

The bundle holds the check results, versions, the config without secrets, the last batches
and audit records, the last refusals and the debug log's tail — every string masked
(`diagnostics_redact`). Never: a PIN, passphrase, one-time code, token, key, report file,
signature or receipt. Written 0600, never over an existing file unless forced.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sochi_cli.errors import StorageError, UsageError
from sochi_cli.services.diagnostics import DoctorReport, jsonable
from sochi_cli.services.diagnostics_redact import Masker

FORMAT = "sochi-doctor-bundle"
FORMAT_VERSION = 1
LOG_TAIL_LINES = 200
LOG_TAIL_BYTES = 256 * 1024
MAX_MEMBER_BYTES = 16 * 2**20  # reading: larger members are not a sochi bundle
LAST_BATCHES = 10
LAST_AUDIT = 50
LIBRARIES = (
    "typer",
    "rich",
    "textual",
    "httpx",
    "pydantic",
    "cryptography",
    "python-pkcs11",
    "asn1crypto",
    "pyhanko-certvalidator",
    "platformdirs",
    "stamina",
    "tomlkit",
)
SECRET_ENV = frozenset(
    {"SOCHI_PIN", "SOCHI_KEY_PASSPHRASE", "SOCHI_OTP", "SOCHI_ACCESS_TOKEN", "SOCHI_SO_PIN"}
)
FILES = {
    "README.txt": "this file: what the bundle holds and what it never holds",
    "manifest.json": "the bundle's format, version, creation time and file list",
    "report.json": "the doctor's checks (`sochi doctor --read BUNDLE.zip` shows them)",
    "environment.json": "sochi, Python and library versions, platform, SOCHI_* variables "
    "(secret ones only as set/unset), proxy variables without passwords, directories",
    "config.json": "the profile's effective settings and where each comes from (no secrets)",
    "journal.json": "the last batches with their state counts and the last audit records",
    "problems.json": "the last refusals and rejections from the operator or the agencies",
    "log-tail.txt": "the last lines of the debug log (SOCHI_LOG_FILE), redacted",
}


@dataclass
class BundleInfo:
    path: Path
    files: list[str]
    bytes: int
    masked: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "files": self.files,
            "bytes": self.bytes,
            "masked": self.masked,
        }


@dataclass
class BundleContents:
    """A bundle read back: its manifest, the report, and the summaries beside it."""

    path: Path
    manifest: dict[str, Any]
    report: DoctorReport
    environment: dict[str, Any] = field(default_factory=dict)
    journal: dict[str, Any] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": {"path": str(self.path), **self.manifest},
            "environment": self.environment,
            "report": self.report.to_json(),
            "journal": self.journal,
            "problems": self.problems,
        }


# -- gathering -----------------------------------------------------------------------------


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    found: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def environment() -> dict[str, Any]:
    from sochi_cli import __version__
    from sochi_cli.services.diagnostics_network import proxy_settings
    from sochi_cli.store import paths

    variables = {
        name: ("set" if name in SECRET_ENV or "TOKEN" in name or "PIN" in name else value)
        for name, value in sorted(os.environ.items())
        if name.startswith("SOCHI_")
    }
    return {
        "sochi": __version__,
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable_prefix": sys.prefix,
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "platform": platform.platform(),
        },
        "libraries": _versions(),
        "variables": variables,
        "proxy": proxy_settings(),
        "time_zone": os.environ.get("TZ"),
        "directories": {
            "config": str(paths.config_file()),
            "data": str(paths.data_dir()),
            "cache": str(paths.cache_dir()),
        },
        "stdin_is_terminal": _isatty(),
    }


def _isatty() -> bool:
    try:
        return bool(sys.stdin and sys.stdin.isatty())
    except (AttributeError, ValueError):
        return False


def config_facts(profile: str | None) -> dict[str, Any]:
    """The effective settings of the profile (values, source); never the file's text."""
    from sochi_cli.errors import SochiError
    from sochi_cli.store import config as config_store
    from sochi_cli.store import paths

    path = paths.config_file()
    try:
        config = config_store.load(profile)
    except SochiError as err:
        return {"path": str(path), "exists": path.exists(), "error": err.message}
    return {
        "path": str(path),
        "exists": path.exists(),
        "profile": config.profile,
        "profiles": config.profiles,
        "default_profile": config.data.get("default_profile"),
        "settings": [
            {"key": v.key, "value": v.value, "source": v.source} for v in config.effective()
        ],
        "warnings": config.warnings,
    }


def journal_facts(profile: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(journal summary, problems) from the profile's journal, read-only."""
    from sochi_cli.errors import SochiError
    from sochi_cli.services.diagnostics_trouble import item_facts
    from sochi_cli.store.audit import AuditLog
    from sochi_cli.store.journal import Journal, journal_path

    path = journal_path(profile)
    if not path.exists():
        return {"exists": False}, []
    try:
        with Journal(path, readonly=True, check=False) as journal:
            batches = []
            problems = []
            for batch in journal.batches(limit=LAST_BATCHES):
                batches.append(
                    {
                        "id": batch.id,
                        "created_at": batch.created_at,
                        "updated_at": batch.updated_at,
                        "status": batch.status,
                        "items": batch.item_count,
                        "counts": journal.state_counts(batch.id),
                        "command": batch.command,
                    }
                )
                for item in journal.batch_items(batch.id):
                    if item.error_code or item.in_flight:
                        problems.append(item_facts(item))
            audit = AuditLog(journal)
            records = [r.to_json() for r in audit.records()[-LAST_AUDIT:]]
            verdict = audit.verify().to_json()
    except (SochiError, OSError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        return {"exists": True, "error": message}, []
    problems.sort(key=lambda p: str(p["updated_at"]), reverse=True)
    return {
        "exists": True,
        "batches": batches,
        "audit": {"verification": verdict, "last": records},
    }, problems


def log_tail() -> str | None:
    raw = os.environ.get("SOCHI_LOG_FILE")
    if not raw:
        return None
    try:
        with open(raw, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - LOG_TAIL_BYTES))
            data = fh.read()
    except OSError:
        return None
    lines = data.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:]) + "\n"


def _session_secrets(profile: str) -> None:
    """Register the stored session's tokens, so no file of the bundle can carry them."""
    from sochi_cli.logs import register_secret
    from sochi_cli.services.session import session_path

    try:
        data = json.loads(session_path(profile).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(data, dict):
        for key in ("access_token", "refresh_token"):
            if isinstance(data.get(key), str):
                register_secret(data[key])
    for name in SECRET_ENV:
        register_secret(os.environ.get(name))


def _public_names(profile: str) -> set[str]:
    """Names of the CAs and receipt signers (operator, Main CA, agencies): not personal."""
    from sochi_cli.errors import SochiError
    from sochi_cli.services.certificates import cached_chain

    try:
        chain = cached_chain(profile)
    except SochiError:
        return set()
    names = set()
    for cert in chain:
        for attribute in cert.subject:
            names.add(str(attribute.value))
    return names


def _private_names(profile: str, names: Iterable[str]) -> set[str]:
    from sochi_cli.services.clients import cached_client_inns
    from sochi_cli.services.session import session_path

    found = set(names)
    found.update(name for _, name in cached_client_inns(profile) if name)
    try:
        data = json.loads(session_path(profile).read_text(encoding="utf-8"))
        subscriber = data.get("subscriber") or {}
        found.add(str(subscriber.get("name") or ""))
        found.add(str((subscriber.get("person") or {}).get("name") or ""))
    except (OSError, ValueError, AttributeError):
        pass
    return {n for n in found if n}


def _withheld(problems: list[dict[str, Any]]) -> set[str]:
    """Texts about the report's content (agency protocols, validation): never in a bundle."""
    return {
        str(p["error_message"])
        for p in problems
        if p.get("error_message")
        and (p["state"] in ("rejected", "invalid") or p.get("error_code") == "validation_failed")
    }


# -- writing -------------------------------------------------------------------------------


def _readme(report: DoctorReport, masked: bool, files: list[str], has_log: bool) -> str:
    from sochi_cli.timeutil import format_local

    lines = [
        "sochi doctor bundle",
        "===================",
        "",
        f"Created {format_local(report.checked_at)} by sochi {report.sochi_version} on "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}.",
        f"Profile: {report.profile}   Operator: {report.api_url}",
        f"Result: {report.worst.value} (exit code {report.exit_code}); "
        "to read it: sochi doctor --read THIS-FILE.zip",
        "",
        "Contents:",
        *(
            textwrap.fill(
                FILES[name], width=88, initial_indent=f"  {name:<17} ", subsequent_indent=" " * 20
            )
            for name in files
        ),
    ]
    if not has_log:
        lines.append("  (no log-tail.txt: SOCHI_LOG_FILE was not set — set it to keep a debug log)")
    lines += [
        "",
        "Never included: PINs, key passphrases, one-time codes, access or refresh tokens,",
        "private keys, report files or their contents, signatures, receipts. Texts of agency",
        "protocols and validation errors are withheld (they may quote a report's figures).",
        "",
        "INNs are masked to their last 4 digits; names, addresses and e-mail addresses are"
        if masked
        else "Made with --no-mask: INNs, names and e-mail addresses are shown in full.",
    ]
    if masked:
        lines.append("replaced by pseudonyms such as ‹name:1a2b› (the same within this bundle).")
    return "\n".join(lines) + "\n"


def _dump(data: Any) -> str:
    return json.dumps(jsonable(data), ensure_ascii=False, indent=2) + "\n"


def build_members(report: DoctorReport, *, mask: bool = True) -> dict[str, str]:
    """Every file of the bundle, name → text, already masked."""
    profile = report.profile or "sandbox"
    _session_secrets(profile)
    journal, problems = journal_facts(profile)
    masker = Masker(
        mask=mask,
        names=_private_names(profile, report.names),
        public=_public_names(profile),
        withheld=_withheld(problems),
    )
    log = log_tail()
    members = {
        "report.json": _dump(masker.value(_json(report.to_json()))),
        "environment.json": _dump(masker.value(environment())),
        "config.json": _dump(masker.value(_json(config_facts(report.profile)))),
        "journal.json": _dump(masker.value(_json(journal))),
        "problems.json": _dump(masker.value(_json(problems))),
    }
    if log is not None:
        members["log-tail.txt"] = masker.text(log)
    files = ["README.txt", "manifest.json", *members]
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created_at": report.checked_at,
        "sochi_version": report.sochi_version,
        "profile": report.profile,
        "masked": mask,
        "files": files,
    }
    return {
        "README.txt": masker.text(_readme(report, mask, files, log is not None)),
        "manifest.json": _dump(masker.value(_json(manifest))),
        **members,
    }


def _json(data: Any) -> Any:
    """Plain JSON data, so instants and enums are strings before masking."""
    return jsonable(data)


def write_bundle(
    path: Path, report: DoctorReport, *, mask: bool = True, force: bool = False
) -> BundleInfo:
    """Write the bundle to `path` (0600) atomically; an existing file only with `force`."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a directory", hint="give a file name such as doctor.zip")
    if path.exists() and not force:
        raise UsageError(f"{path} exists", hint="choose another name or pass --force")
    members = build_members(report, mask=mask)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise StorageError(
            f"cannot write {path}: {exc.strerror}", hint="choose a writable directory"
        ) from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in members.items():
                info = zipfile.ZipInfo(name, date_time=report.checked_at.timetuple()[:6])
                info.external_attr = 0o600 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, text.encode("utf-8"))
        _place(Path(tmp), path, force=force)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return BundleInfo(path, list(members), path.stat().st_size, mask)


def _place(tmp: Path, path: Path, *, force: bool) -> None:
    """Rename into place; without `force` never over a file that appeared meanwhile."""
    if force:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if `path` exists: no clobbering, even in a race
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"{path} exists", hint="choose another name or pass --force") from None
    except OSError:  # a file system without hard links
        if path.exists():
            tmp.unlink(missing_ok=True)
            raise UsageError(f"{path} exists", hint="choose another name or pass --force") from None
        os.replace(tmp, path)
        return
    tmp.unlink(missing_ok=True)


# -- reading -------------------------------------------------------------------------------


def _member(zf: zipfile.ZipFile, name: str, where: Path) -> Any:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_MEMBER_BYTES:
        raise UsageError(f"{where}: {name} is too large for a doctor bundle")
    try:
        return json.loads(zf.read(info).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{where}: {name} is damaged ({type(exc).__name__})") from None


def read_bundle(path: Path) -> BundleContents:
    """A bundle read back; anything else is one UsageError line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: " + ("not a file" if path.exists() else "no such file"))
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = _member(zf, "manifest.json", path)
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise UsageError(
                    f"{path}: not a sochi doctor bundle (no {FORMAT} manifest.json)",
                    hint="make one with `sochi doctor --bundle FILE.zip`",
                )
            if int(manifest.get("version") or 0) > FORMAT_VERSION:
                raise UsageError(
                    f"{path}: bundle format {manifest.get('version')} is newer than this sochi",
                    hint="upgrade sochi",
                )
            data = _member(zf, "report.json", path)
            environment = _member(zf, "environment.json", path) or {}
            journal = _member(zf, "journal.json", path) or {}
            problems = _member(zf, "problems.json", path) or []
    except zipfile.BadZipFile:
        raise UsageError(
            f"{path}: not a zip file (a sochi doctor bundle is a .zip)",
            hint="make one with `sochi doctor --bundle FILE.zip`",
        ) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: report.json is missing")
    try:
        report = DoctorReport.from_json(data)
    except ValueError as exc:
        raise UsageError(f"{path}: report.json: {exc}") from None
    return BundleContents(
        path=path,
        manifest=manifest,
        report=report,
        environment=environment if isinstance(environment, dict) else {},
        journal=journal if isinstance(journal, dict) else {},
        problems=problems if isinstance(problems, list) else [],
    )


__all__ = [
    "FILES",
    "FORMAT",
    "BundleContents",
    "BundleInfo",
    "build_members",
    "read_bundle",
    "write_bundle",
]
