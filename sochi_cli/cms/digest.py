"""Streaming content digests: constant memory whatever the file size."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from sochi_cli.errors import SignatureError, UsageError

Content = bytes | bytearray | memoryview | Path | BinaryIO

CHUNK_SIZE = 1 << 20
_SUPPORTED = ("sha256", "sha384", "sha512", "sha224")
GOST_DIGESTS = ("gostr3411_94", "streebog256", "streebog512")  # OpenSSL's gost engine
_BYTES = (bytes, bytearray, memoryview)
_PATHS = (Path, str)


class Hasher(Protocol):
    """What hashlib objects and `cms.gost.Hasher` have in common."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...

    def digest(self) -> bytes: ...


def _hasher(name: str) -> Hasher:
    if name == "sha256":
        return hashlib.sha256()
    if name in GOST_DIGESTS:
        from sochi_cli.cms import gost

        return gost.new_hasher(name)
    if name not in _SUPPORTED:
        raise SignatureError(
            f"digest algorithm {name} is not supported",
            hint="sochi knows SHA-2 and the GOST digests (R 34.11-94, Streebog)",
            code="algorithm_unsupported",
        )
    return hashlib.new(name)


def hash_bytes(name: str, data: bytes) -> bytes:
    """One-shot digest of `data` with any digest sochi knows (SHA-2 or GOST)."""
    if name in _SUPPORTED:
        return hashlib.new(name, data).digest()
    h = _hasher(name)
    h.update(data)
    return h.digest()


def _feed(content: Content, hashers: list[Hasher]) -> None:
    if isinstance(content, _BYTES):
        for h in hashers:
            h.update(content)
        return
    if isinstance(content, _PATHS):
        try:
            fd = os.open(content, os.O_RDONLY)
        except OSError as exc:
            raise UsageError(f"{content}: cannot read: {exc.strerror}") from None
        try:
            size = os.fstat(fd).st_size
            if size < CHUNK_SIZE:  # small file: one read of exactly its size
                data = os.read(fd, size + 1)
                if len(data) <= size:
                    for h in hashers:
                        h.update(data)
                    return
                os.lseek(fd, 0, os.SEEK_SET)
            with os.fdopen(fd, "rb", closefd=False) as fh:
                _feed_stream(fh, hashers)
        except OSError as exc:
            raise UsageError(f"{content}: cannot read: {exc.strerror}") from None
        finally:
            os.close(fd)
        return
    _feed_stream(content, hashers)


def _feed_stream(stream: BinaryIO, hashers: list[Hasher]) -> None:
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            size = readinto(view)
            if not size:
                break
            chunk = view[:size]
        else:
            data = stream.read(CHUNK_SIZE)
            if not data:
                break
            chunk = memoryview(data)
        for h in hashers:
            h.update(chunk)


def digest_content(content: Content, algorithm: str = "sha256") -> bytes:
    """Digest of `content` (bytes, a path or a binary stream), read in 1 MiB chunks."""
    h = _hasher(algorithm)
    _feed(content, [h])
    return h.digest()


def digest_content_multi(content: Content, algorithms: Iterable[str]) -> dict[str, bytes]:
    """Several digests in one pass (a stream can only be read once)."""
    names = list(dict.fromkeys(algorithms))
    hashers = [_hasher(n) for n in names]
    _feed(content, hashers)
    return {n: h.digest() for n, h in zip(names, hashers, strict=True)}


__all__ = [
    "CHUNK_SIZE",
    "GOST_DIGESTS",
    "Content",
    "Hasher",
    "digest_content",
    "digest_content_multi",
    "hash_bytes",
]
