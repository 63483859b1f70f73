"""Doctor checks of this machine's setup: config, profile, writable directories, the journal's
integrity and audit chain, disk space for the archive. None needs the network."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from sochi_cli.errors import ExitCode, SochiError
from sochi_cli.services.diagnostics import Check, Finding
from sochi_cli.services.diagnostics_context import DoctorContext, SkipCheck
from sochi_cli.store.journal import Journal, check_integrity

if TYPE_CHECKING:
    from collections.abc import Iterator

DISK_FAIL_BYTES = 50 * 2**20  # below this a batch may stop half-way: the journal needs room
DISK_WARN_BYTES = 500 * 2**20
_STORAGE = int(ExitCode.STORAGE)


# -- config and profile --------------------------------------------------------------------


def check_config(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.store import config as config_store
    from sochi_cli.store import paths

    path = paths.config_file()
    try:
        parsed = config_store.load(config_store.DEFAULT_PROFILE)
    except SochiError as err:
        return check.fail(
            err.message,
            evidence={"path": str(path)},
            fix=f"edit {path} (sochi never rewrites a broken file); `sochi config list` rechecks",
            exit_code=int(err.exit_code),
        )
    evidence = {"path": str(path), "exists": path.exists(), "warnings": parsed.warnings}
    if parsed.warnings:
        return check.warn(
            "; ".join(parsed.warnings),
            evidence=evidence,
            fix=f"remove or correct the unknown keys in {path}",
        )
    if not path.exists():
        return check.ok(f"no config file ({path}): built-in profiles in use", evidence=evidence)
    return check.ok(f"{path} parses", evidence=evidence)


def check_profile(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.store import config as config_store

    if ctx.config is None:
        try:
            config_store.load(config_store.DEFAULT_PROFILE)
        except SochiError:
            raise SkipCheck("the config must be fixed first (see setup.config)") from None
        err = ctx.config_error  # the file is fine: the chosen profile is not in it
        assert err is not None
        return check.fail(
            err.message,
            evidence={"profile": ctx.profile},
            fix=err.hint,
            exit_code=int(err.exit_code),
        )
    config = ctx.config
    evidence = {
        "profile": config.profile,
        "api_url": config.get("api_url"),
        "signer": config.get("signer"),
        "sources": {v.key: v.source for v in config.effective() if v.source != "default"},
    }
    return check.ok(
        f"profile {config.profile}: {config.get('api_url')}, signer {config.get('signer')}",
        evidence=evidence,
    )


# -- directories -----------------------------------------------------------------------------


def _existing_ancestor(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _try_write(directory: Path) -> str | None:
    """None when a file can be created (and removed) in `directory`, else why not.

    A real write, not os.access: root passes os.access on a read-only file system.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=".sochi-doctor-", dir=directory)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.close(fd)
    try:
        os.unlink(name)
    except OSError as exc:
        return f"created a file but cannot remove it: {exc.strerror}"
    return None


def _check_dir(check: Check, path: Path, what: str, env: str) -> Finding:
    target = path if path.exists() else _existing_ancestor(path)
    evidence = {"path": str(path), "exists": path.exists()}
    if target.exists() and not target.is_dir():
        return check.fail(
            f"{target} is not a directory",
            evidence=evidence,
            fix=f"move {target} away, or set {env} to a directory",
            exit_code=_STORAGE,
        )
    problem = _try_write(target)
    if problem is not None:
        where = str(path) if path.exists() else f"{target} (to create {path})"
        return check.fail(
            f"{what} {where} is not writable: {problem}",
            evidence={**evidence, "checked": str(target)},
            fix=f"chmod u+rwx {target}, or set {env} to a writable directory",
            exit_code=_STORAGE,
        )
    if not path.exists():
        return check.ok(f"{path} will be created (its parent is writable)", evidence=evidence)
    mode = path.stat().st_mode & 0o777
    evidence["mode"] = f"{mode:04o}"
    if mode & 0o077 and what == "data directory":
        return check.warn(
            f"{path} is readable by other users (mode {mode:04o}): it holds your session "
            "and clients' data",
            evidence=evidence,
            fix=f"chmod 700 {path}",
        )
    return check.ok(f"{path} is writable", evidence=evidence)


def check_data_dir(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.store import paths

    return _check_dir(
        check, paths.profile_data_dir(ctx.profile), "data directory", "SOCHI_DATA_DIR"
    )


def check_cache_dir(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.store import paths

    return _check_dir(
        check, paths.profile_cache_dir(ctx.profile), "cache directory", "SOCHI_CACHE_DIR"
    )


# -- the journal ---------------------------------------------------------------------------


def journal_file(ctx: DoctorContext) -> Path:
    from sochi_cli.store.journal import journal_path

    return journal_path(ctx.profile)


def open_journal(ctx: DoctorContext) -> Journal | None:
    """The profile's journal read-only (no create, no migration: diagnosis works on a
    read-only or damaged data directory), None when there is none yet."""
    path = journal_file(ctx)
    if not path.exists():
        return None
    return Journal(path, readonly=True, check=False)


def _damaged(check: Check, path: Path, why: str) -> Finding:
    aside = f"{path}.damaged"
    return check.fail(
        f"the journal {path} is damaged: {why}",
        evidence={"path": str(path), "problem": why},
        fix=f"mv {path} {aside} && sochi archive reconcile   "
        "(rebuilds it from the operator and the archive; keep the damaged copy: it is "
        "evidence of what was filed)",
        exit_code=_STORAGE,
    )


def check_journal(ctx: DoctorContext, check: Check) -> Finding:
    path = journal_file(ctx)
    if not path.exists():
        return check.ok("no journal yet (nothing filed with this profile)", evidence={})
    size = path.stat().st_size
    try:
        with path.open("rb"):  # unreadable is not damaged: say which it is
            pass
        report = check_integrity(path)  # the check every command runs (store/journal.py)
    except OSError as exc:
        return check.fail(
            f"cannot read the journal {path}: {exc.strerror}",
            evidence={"path": str(path)},
            fix=f"chmod u+rw {path}",
            exit_code=_STORAGE,
        )
    if report.state == "damaged":
        return _damaged(check, path, "; ".join(report.problems[:3]))
    return check.ok(
        f"{path} passes PRAGMA quick_check",
        evidence={"path": str(path), "bytes": size},
    )


def check_audit(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.store.audit import AuditLog

    bad = ctx.findings.get("setup.journal")
    if bad is not None and bad.result.value == "fail":
        raise SkipCheck("the journal is damaged (see setup.journal)")
    try:
        journal = open_journal(ctx)
    except SochiError as err:
        raise SkipCheck(f"the journal cannot be opened: {err.message}") from None
    if journal is None:
        return check.ok("no audit records yet", evidence={"records": 0})
    with journal:
        verdict = AuditLog(journal).verify()
    evidence = verdict.to_json()
    if not verdict.ok:
        return check.fail(
            f"the audit chain is broken at record {verdict.broken_seq}: {verdict.reason}",
            evidence=evidence,
            fix="sochi audit verify   (keep the journal as it is: it is your evidence; "
            "tell support the head hash)",
            exit_code=int(ExitCode.VALIDATION),
        )
    return check.ok(
        f"{verdict.records} records, chain intact (head {verdict.head_hash[:12]}…)",
        evidence=evidence,
    )


# -- disk space ----------------------------------------------------------------------------


def _archive_bytes(root: Path) -> Iterator[int]:
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                yield (Path(directory) / name).stat().st_size
            except OSError:
                continue


def check_disk(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.store import paths

    data = paths.profile_data_dir(ctx.profile)
    where = _existing_ancestor(data)
    usage = shutil.disk_usage(where)
    archive = data / "archive"
    used = sum(_archive_bytes(archive)) if archive.is_dir() else 0
    evidence = {"path": str(where), "free_bytes": usage.free, "archive_bytes": used}
    free = _size(usage.free)
    if usage.free < DISK_FAIL_BYTES:
        return check.fail(
            f"only {free} free at {where}: the journal and archive cannot grow",
            evidence=evidence,
            fix=f"free space on that disk (df -h {where}), or set SOCHI_DATA_DIR elsewhere",
            exit_code=_STORAGE,
        )
    if usage.free < DISK_WARN_BYTES:
        return check.warn(
            f"{free} free at {where}; the archive holds {_size(used)}",
            evidence=evidence,
            fix=f"free space on that disk (df -h {where})",
        )
    return check.ok(f"{free} free; the archive holds {_size(used)}", evidence=evidence)


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


CHECKS = [
    Check("setup.config", "Config file", check_config),
    Check("setup.profile", "Profile", check_profile, clause="14.1"),
    Check("setup.data_dir", "Data directory writable", check_data_dir, clause="16.5"),
    Check("setup.cache_dir", "Cache directory writable", check_cache_dir),
    Check("setup.journal", "Journal integrity", check_journal, clause="6.5"),
    Check("setup.audit", "Audit chain", check_audit, clause="6.5"),
    Check("setup.disk", "Disk space for the archive", check_disk, clause="16.5"),
]

__all__ = ["CHECKS", "open_journal"]
