"""Private, atomic file writes and printable path names.

Everything sochi writes may hold client data (names, INNs, reports) or credentials, so files
are created owner-only (0600) and the directories it creates owner-only (0700) — a reader
never sees a half-written file. File names are carried as the OS gives them (bytes that are
not UTF-8 survive as surrogate escapes) and shown escaped (`b\\xe9.xml`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

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


def _only_escapes(value: str) -> bool:
    """Every surrogate in `value` is a PEP 383 escape of one byte (U+DC80..U+DCFF)."""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in value)


__all__ = [
    "PRIVATE_DIR",
    "PRIVATE_FILE",
    "atomic_write_bytes",
    "atomic_write_text",
    "make_private_dirs",
    "os_reason",
    "printable",
    "private_file",
]
