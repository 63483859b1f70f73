"""Private, atomic file writes, printable path names, and what a failed file operation says.

Everything sochi writes may hold client data (names, INNs, reports) or credentials, so files
are created owner-only (0600) and the directories it creates owner-only (0700) — a reader
never sees a half-written file. File names are carried as the OS gives them (bytes that are
not UTF-8 survive as surrogate escapes) and shown escaped (`b\\xe9.xml`).

An `OSError` on a file is turned into a user's one-line error here, once: `input_file(path)`
for an input the user named (exit 2, docs/cli.md), `own_file(path)` for sochi's own files
and `--out` (exit 10), `os_failure` for whatever reaches the CLI unmapped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sochi_cli.errors import StorageError, UsageError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def make_private_dirs(path: Path) -> Path:
    """Create `path` and every missing parent owner-only (0700); existing ones are kept.

    `Path.mkdir(parents=True, mode=…)` gives the mode to the last directory only; the parents
    it creates get the umask's default (usually 0755), which would expose a profile's folder.
    """
    path = Path(path)
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            if not folder.is_dir():
                raise
        else:
            os.chmod(folder, PRIVATE_DIR)  # the umask may have cleared bits: exactly 0700
    _tighten_own(path)
    return path


def _tighten_own(path: Path) -> None:
    """Folders of sochi's own trees (data, cache, config) made by an older sochi with the
    umask's 0755 become 0700; folders of the user's own choosing are left alone."""
    from sochi_cli.store import paths

    for root in (paths.data_dir(), paths.cache_dir(), paths.config_dir()):
        try:
            relative = path.absolute().relative_to(root.absolute())
        except ValueError:
            continue
        folder = root.absolute()
        for part in ("", *relative.parts):
            folder = folder / part if part else folder
            if not _tighten(folder, PRIVATE_DIR):
                return
        return


def _tighten(path: Path, mode: int) -> bool:
    """Give `path` `mode` if it is ours and open to others; False when it cannot be seen."""
    try:
        info = path.lstat()
        if info.st_mode & 0o077 and info.st_uid == os.geteuid():
            os.chmod(path, mode)
    except OSError:
        return False
    return True


def private_file(path: Path) -> Path:
    """Create `path` empty and owner-only (0600) if missing, for a library that opens it by
    name (SQLite gives its -wal/-shm files the database's mode); an existing file of ours
    that an older sochi left readable by others is tightened, its companions too."""
    path = Path(path)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
    for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        _tighten(companion, PRIVATE_FILE)
    return path


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = PRIVATE_FILE) -> None:
    """Write `data` to `path` via a temporary file in the same directory and `os.replace`.

    The temporary file is created with `mode` from the start (never wider), fsynced, then
    renamed over the target, so a crash leaves either the old file or the new one. Missing
    parent directories are created owner-only.
    """
    path = Path(path)
    make_private_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str, *, mode: int = PRIVATE_FILE) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def printable(text: str | os.PathLike[str]) -> str:
    """`text` safe to print, store as UTF-8 or put in JSON: undecodable bytes as `\\xNN`.

    A file name that is not UTF-8 reaches Python as lone surrogates (PEP 383); writing those
    to a UTF-8 stream or SQLite raises. Valid text is returned unchanged.
    """
    value = os.fspath(text)
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "surrogateescape") if _only_escapes(value) else None
        if raw is None:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return raw.decode("utf-8", "backslashreplace")


def os_reason(exc: OSError) -> str:
    """`permission denied`, `no such file or directory`…: an OSError's reason, lower case."""
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def input_error(exc: OSError, path: str | os.PathLike[str], what: str = "file") -> UsageError:
    """An input the user named (a report, key, PIN file, certificate…) cannot be read (exit 2)."""
    shown = printable(path)
    if isinstance(exc, IsADirectoryError):
        return UsageError(f"{shown}: is a folder, not a {what}", code="not_a_file")
    if isinstance(exc, FileNotFoundError):
        return UsageError(f"{shown}: no such {what}", code="no_such_file")
    return UsageError(f"{shown}: cannot read the {what}: {os_reason(exc)}", code="unreadable")


def storage_error(
    exc: BaseException, path: str | os.PathLike[str], what: str = "file", *, verb: str = "write"
) -> StorageError:
    """A one-line StorageError (exit 10) for an OS or SQLite failure on one of sochi's own
    files or an `--out` target: the reason in words and what to do."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    code = getattr(exc, "errno", None)
    text = str(exc).lower()
    hint = "nothing was lost"
    if (
        name.startswith("SQLITE_FULL")
        or code in (errno.ENOSPC, errno.EDQUOT)
        or "disk is full" in text
    ):
        reason, hint = "disk full", "free space and rerun; nothing was lost"
    elif code == errno.EFBIG or "file too large" in text:
        reason, hint = "file size limit reached", "raise the limit or free space; nothing was lost"
    elif name.startswith("SQLITE_READONLY") or code == errno.EROFS or "read-only" in text:
        folder, variable = _home_of(path)
        reason = "read-only"
        hint = f"make {folder} writable" + (f" or set {variable}" if variable else "")
    elif name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED"):
        reason, hint = "locked by another sochi process", "wait for it to finish and rerun"
    elif name.startswith("SQLITE_IOERR"):
        reason, hint = "disk I/O error (disk full?)", "free space and rerun; nothing was lost"
    elif name.startswith("SQLITE_CANTOPEN") or code in _CANNOT_OPEN:
        detail = getattr(exc, "strerror", None) or "cannot open"
        if verb == "write":
            folder, variable = _home_of(path)
            reason = f"{detail.lower()} (is {folder} writable?)"
            hint = f"set {variable} to a writable directory" if variable else "choose another place"
        else:
            reason, hint = detail.lower(), "check the file's permissions"
    else:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return StorageError(f"cannot {verb} the {what} at {printable(path)}: {reason}", hint=hint)


def _home_of(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """Which of sochi's folders `path` is in, and the variable that moves it; else its folder."""
    from sochi_cli.store import paths

    where = Path(path).absolute()
    for folder, root, variable in (
        ("the data directory", paths.data_dir, "SOCHI_DATA_DIR"),
        ("the cache directory", paths.cache_dir, "SOCHI_CACHE_DIR"),
        ("the config directory", paths.config_dir, "SOCHI_CONFIG_DIR"),
    ):
        if where.is_relative_to(root().absolute()):
            return folder, variable
    return "its folder", None


_CANNOT_OPEN = (errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR)


@contextlib.contextmanager
def input_file(path: str | os.PathLike[str], what: str = "file") -> Iterator[None]:
    """Around reading an input the user named: an OSError becomes `input_error` (exit 2)."""
    try:
        yield
    except OSError as exc:
        raise input_error(exc, path, what) from None


@contextlib.contextmanager
def own_file(
    path: str | os.PathLike[str],
    what: str = "file",
    *,
    verb: str = "write",
    hint: str | None = None,
) -> Iterator[None]:
    """Around writing (or with `verb`, reading or removing) one of sochi's own files or an
    `--out` target: an OSError becomes `storage_error` (exit 10); `hint` replaces the
    generic advice, to say what was and was not done."""
    try:
        yield
    except OSError as exc:
        error = storage_error(exc, path, what, verb=verb)
        if hint:
            error.hint = hint
        raise error from None


def read_input(path: str | os.PathLike[str], what: str = "file") -> bytes:
    """The bytes of an input the user named; unreadable is `input_error` (exit 2)."""
    with input_file(path, what):
        return Path(path).read_bytes()


def write_cache(path: Path, data: bytes, what: str) -> bool:
    """Write a cache file (atomic, 0600). A cache only saves a later network call, so one
    that cannot be written is a warning (`warning: …` on stderr, through the log), not a
    failure of the command that already has the data; False then."""
    try:
        atomic_write_bytes(path, data)
        return True
    except OSError as exc:
        import logging

        logging.getLogger(__name__).warning(
            "the %s was not cached (%s at %s); it is fetched again next time",
            what,
            os_reason(exc),
            printable(path),
        )
        return False


def write_probe(folder: Path) -> None:
    """Create `folder` (0700) and write a scratch file in it, or raise the OSError: before a
    step that cannot be undone (ending a session, spending a signature), check that its
    result can be kept. A real write of a page of data, not `os.access`, which answers for
    the real uid and ignores read-only mounts and full disks."""
    make_private_dirs(folder)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".sochi-", suffix=".probe") as probe:
        probe.write(b"\0" * 4096)  # a full disk refuses data, not always the inode
        probe.flush()
        os.fsync(probe.fileno())


def probe_writable(target: Path, what: str = "file") -> None:
    """`write_probe` in `target`'s folder; a failure is `storage_error` for `target`."""
    try:
        write_probe(target.parent)
    except OSError as exc:
        raise storage_error(exc, target, what) from None


def os_failure(exc: OSError) -> StorageError:
    """The last resort for a file error no layer mapped: still one line naming the file
    (exit 10), never an internal error."""
    shown = printable(exc.filename) if exc.filename is not None else "a file"
    return StorageError(
        f"cannot use {shown}: {os_reason(exc)}",
        hint="check the file and its folder (permissions, free space); rerun with --verbose "
        "for details",
        code="file_error",
    )


def _only_escapes(value: str) -> bool:
    """Every surrogate in `value` is a PEP 383 escape of one byte (U+DC80..U+DCFF)."""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in value)


__all__ = [
    "PRIVATE_DIR",
    "PRIVATE_FILE",
    "atomic_write_bytes",
    "atomic_write_text",
    "input_error",
    "input_file",
    "make_private_dirs",
    "os_failure",
    "os_reason",
    "own_file",
    "printable",
    "private_file",
    "probe_writable",
    "read_input",
    "storage_error",
    "write_cache",
    "write_probe",
]
