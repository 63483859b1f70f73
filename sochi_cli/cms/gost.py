"""GOST R 34.10 / 34.11 through OpenSSL's gost engine, reached with ctypes on the system libcrypto.

The kept implementation of the GOST algorithms is OpenSSL's gost engine (Debian
`libengine-gost-openssl`); `cryptography` and `hashlib` cannot load engines. This module
is the one bridge: streaming digests (GOST R 34.11-94, Streebog-256/512), raw signatures
over a digest (what a token's CKM_GOSTR3410 does) and their verification with a
SubjectPublicKeyInfo. Why ctypes and not the `openssl` binary: docs/signing.md
("The GOST bridge"), with the measured costs.

Signature values are the 64/128-byte `s || r` strings (big-endian halves) that OpenSSL
writes into CMS SignerInfos, certificates and CRLs and PKCS#11 tokens return.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from typing import Any

from sochi_cli.errors import SignatureError

# digest name (as sochi spells it) -> (OID, size)
DIGESTS: dict[str, tuple[str, int]] = {
    "gostr3411_94": ("1.2.643.2.2.9", 32),
    "streebog256": ("1.2.643.7.1.1.2.2", 32),
    "streebog512": ("1.2.643.7.1.1.2.3", 64),
}
DIGEST_BY_OID = {oid: name for name, (oid, _) in DIGESTS.items()}

# public key algorithm OID -> (name, the digest its signatures use, signature size)
KEYS: dict[str, tuple[str, str, int]] = {
    "1.2.643.2.2.19": ("GOST R 34.10-2001", "gostr3411_94", 64),
    "1.2.643.7.1.1.1.1": ("GOST R 34.10-2012 256", "streebog256", 64),
    "1.2.643.7.1.1.1.2": ("GOST R 34.10-2012 512", "streebog512", 128),
}
# "signature with digest" OIDs (certificates, CRLs; some CMS writers) -> (key OID, digest)
SIGNATURES: dict[str, tuple[str, str]] = {
    "1.2.643.2.2.3": ("1.2.643.2.2.19", "gostr3411_94"),
    "1.2.643.7.1.1.3.2": ("1.2.643.7.1.1.1.1", "streebog256"),
    "1.2.643.7.1.1.3.3": ("1.2.643.7.1.1.1.2", "streebog512"),
}
# the Kyrgyz standards' names for the 2001/94 pair (offer agreement, Main CA "Infocom")
KYRGYZ_NAMES = {"1.2.643.2.2.19": "GOST 34.310-2004", "gostr3411_94": "GOST 34.311-95"}

ENGINE_PACKAGE = "libengine-gost-openssl"
_ENGINE_METHOD_ALL = 0xFFFF


DIGEST_NAMES = {
    "gostr3411_94": "GOST R 34.11-94",
    "streebog256": "GOST R 34.11-2012 (Streebog-256)",
    "streebog512": "GOST R 34.11-2012 (Streebog-512)",
}


def describe(key_oid: str, digest_name: str) -> str:
    """People's name of a GOST signature, with the Kyrgyz standard's where it has one."""
    key = KEYS[key_oid][0] if key_oid in KEYS else key_oid
    if key_oid in KYRGYZ_NAMES:
        key += f" = {KYRGYZ_NAMES[key_oid]}"
    digest = DIGEST_NAMES.get(digest_name, digest_name)
    if digest_name in KYRGYZ_NAMES:
        digest += f" = {KYRGYZ_NAMES[digest_name]}"
    return f"{key} over {digest}"


def is_gost_oid(oid: str) -> bool:
    """A GOST key, signature or digest algorithm OID."""
    return oid in KEYS or oid in SIGNATURES or oid in DIGEST_BY_OID


def signature_digest(algorithm_oid: str, key_oid: str | None = None) -> str | None:
    """The digest a GOST signature algorithm (or, for a bare key OID, its key) implies."""
    if algorithm_oid in SIGNATURES:
        return SIGNATURES[algorithm_oid][1]
    if algorithm_oid in KEYS:
        return KEYS[algorithm_oid][1]
    if key_oid in KEYS:
        return KEYS[key_oid][1]
    return None


class GostUnavailable(SignatureError):
    """OpenSSL's gost engine cannot be loaded here."""

    code = "gost_engine_missing"


@dataclass(frozen=True)
class _Api:
    lib: Any
    engine: int


_lock = threading.Lock()
_state: dict[str, Any] = {}  # "api": the loaded _Api, or "failure": why it cannot load


def _bind(lib: Any) -> None:
    p, i, sz, b = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p
    sigs: dict[str, tuple[Any, list[Any]]] = {
        "OpenSSL_version_num": (ctypes.c_ulong, []),
        "ENGINE_by_id": (p, [b]),
        "ENGINE_init": (i, [p]),
        "ENGINE_set_default": (i, [p, ctypes.c_uint]),
        "ENGINE_get_digest": (p, [p, i]),
        "OBJ_txt2nid": (i, [b]),
        "ERR_get_error": (ctypes.c_ulong, []),
        "ERR_error_string_n": (None, [ctypes.c_ulong, b, sz]),
        "ERR_clear_error": (None, []),
        "EVP_MD_CTX_new": (p, []),
        "EVP_MD_CTX_free": (None, [p]),
        "EVP_MD_CTX_copy_ex": (i, [p, p]),
        "EVP_DigestInit_ex": (i, [p, p, p]),
        "EVP_DigestUpdate": (i, [p, p, sz]),
        "EVP_DigestFinal_ex": (i, [p, b, ctypes.POINTER(ctypes.c_uint)]),
        "d2i_PUBKEY": (p, [p, ctypes.POINTER(b), ctypes.c_long]),
        "i2d_PUBKEY": (i, [p, ctypes.POINTER(p)]),
        "EVP_PKEY_free": (None, [p]),
        "EVP_PKEY_get_base_id": (i, [p]),
        "EVP_PKEY_CTX_new": (p, [p, p]),
        "EVP_PKEY_CTX_free": (None, [p]),
        "EVP_PKEY_sign_init": (i, [p]),
        "EVP_PKEY_sign": (i, [p, b, ctypes.POINTER(sz), b, sz]),
        "EVP_PKEY_verify_init": (i, [p]),
        "EVP_PKEY_verify": (i, [p, b, sz, b, sz]),
        "BIO_new_mem_buf": (p, [b, i]),
        "BIO_free": (i, [p]),
        "PEM_read_bio_PrivateKey": (p, [p, p, p, b]),
        "CRYPTO_free": (None, [p, b, i]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def _errors(lib: Any) -> str:
    texts = []
    while code := lib.ERR_get_error():
        buffer = ctypes.create_string_buffer(256)
        lib.ERR_error_string_n(code, buffer, len(buffer))
        texts.append(buffer.value.decode("ascii", "replace"))
    return "; ".join(texts[-2:])


def _libcrypto() -> tuple[Any, str]:
    # the usual sonames first: ctypes.util.find_library runs ldconfig/gcc (~30 ms)
    for name in ("libcrypto.so.3", "libcrypto.3.dylib"):
        try:
            return ctypes.CDLL(name), name
        except OSError:
            continue
    from ctypes.util import find_library  # imported here: it pulls in shutil, subprocess

    name = find_library("crypto") or "libcrypto"
    return ctypes.CDLL(name), name


def _load() -> _Api:
    name = "libcrypto"
    try:
        lib, name = _libcrypto()
        _bind(lib)
    except (OSError, AttributeError) as exc:
        raise GostUnavailable(
            f"OpenSSL 3 libcrypto not usable for GOST ({name}: {exc})",
            hint=f"install OpenSSL 3 and {ENGINE_PACKAGE}",
        ) from None
    if lib.OpenSSL_version_num() < 0x30000000:
        raise GostUnavailable(
            "GOST needs OpenSSL 3 (libcrypto is older)", hint=f"install {ENGINE_PACKAGE}"
        )
    engine = lib.ENGINE_by_id(b"gost")
    if not engine or lib.ENGINE_init(engine) != 1:
        detail = _errors(lib)
        raise GostUnavailable(
            "OpenSSL's gost engine is not installed"
            + (f" ({detail})" if detail and engine else ""),
            hint=f"install it: sudo apt-get install {ENGINE_PACKAGE} (Debian/Ubuntu); "
            "or set OPENSSL_ENGINES to the directory holding gost.so",
        )
    # what `openssl … -engine gost` does: the engine serves its own algorithms (GOST NIDs
    # only; SHA-2, RSA and EC stay with OpenSSL's default provider)
    lib.ENGINE_set_default(engine, _ENGINE_METHOD_ALL)
    lib.ERR_clear_error()
    return _Api(lib, engine)


def api() -> _Api:
    """The loaded libcrypto + gost engine (once per process); GostUnavailable if missing."""
    loaded: _Api | None = _state.get("api")
    if loaded is not None:
        return loaded
    with _lock:
        if "failure" in _state:
            raise GostUnavailable(_state["failure"])
        if "api" not in _state:
            try:
                _state["api"] = _load()
            except GostUnavailable as exc:
                _state["failure"] = exc.one_line()
                raise
    result: _Api = _state["api"]
    return result


def available() -> bool:
    """Whether GOST algorithms can be used on this machine."""
    try:
        api()
    except GostUnavailable:
        return False
    return True


def _fail(what: str, code: str = "signature_invalid") -> SignatureError:
    detail = _errors(api().lib)
    return SignatureError(f"{what}" + (f" ({detail})" if detail else ""), code=code)


# -- digests -----------------------------------------------------------------------------

_md_cache: dict[str, int] = {}


def _md(name: str) -> int:
    md = _md_cache.get(name)
    if md is None:
        if name not in DIGESTS:
            raise SignatureError(
                f"digest algorithm {name} is not a GOST digest", code="algorithm_unsupported"
            )
        a = api()
        nid = a.lib.OBJ_txt2nid(DIGESTS[name][0].encode())
        md = a.lib.ENGINE_get_digest(a.engine, nid)
        if not md:
            raise _fail(f"the gost engine has no {name} digest", "algorithm_unsupported")
        _md_cache[name] = md
    return md


class Hasher:
    """A hashlib-style object (`update`, `digest`, `copy`) over an engine digest."""

    def __init__(self, name: str, _ctx: int | None = None) -> None:
        self.name = name
        self.digest_size = DIGESTS[name][1] if name in DIGESTS else 0
        lib = api().lib
        self._lib = lib
        if _ctx is not None:
            self._ctx = _ctx
            return
        md = _md(name)
        ctx = lib.EVP_MD_CTX_new()
        if not ctx or lib.EVP_DigestInit_ex(ctx, md, None) != 1:
            lib.EVP_MD_CTX_free(ctx)
            raise _fail(f"cannot start a {name} digest", "algorithm_unsupported")
        self._ctx = ctx

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        if isinstance(data, bytes):  # passed in place
            pointer: Any = data
            size = len(data)
        else:
            view = memoryview(data).cast("B")
            size = view.nbytes
            # a writable buffer (the streaming read buffer) is passed in place; else copied
            pointer = bytes(view) if view.readonly else (ctypes.c_char * size).from_buffer(view)
        if size and self._lib.EVP_DigestUpdate(self._ctx, pointer, size) != 1:
            raise _fail(f"{self.name} digest failed", "digest_invalid")

    def copy(self) -> Hasher:
        lib = self._lib
        ctx = lib.EVP_MD_CTX_new()
        if not ctx or lib.EVP_MD_CTX_copy_ex(ctx, self._ctx) != 1:
            lib.EVP_MD_CTX_free(ctx)
            raise _fail(f"cannot copy a {self.name} digest", "digest_invalid")
        return Hasher(self.name, ctx)

    def digest(self) -> bytes:
        clone = self.copy()  # hashlib semantics: digest() does not end the object
        out = ctypes.create_string_buffer(64)
        size = ctypes.c_uint(0)
        if self._lib.EVP_DigestFinal_ex(clone._ctx, out, ctypes.byref(size)) != 1:
            raise _fail(f"{self.name} digest failed", "digest_invalid")
        return out.raw[: size.value]

    def __del__(self) -> None:
        ctx, self._ctx = getattr(self, "_ctx", 0), 0
        if ctx:
            self._lib.EVP_MD_CTX_free(ctx)


def new_hasher(name: str) -> Hasher:
    return Hasher(name)


def digest(name: str, data: bytes) -> bytes:
    h = Hasher(name)
    h.update(data)
    return h.digest()


# -- keys and signatures -----------------------------------------------------------------


def _public_key(spki_der: bytes) -> int:
    lib = api().lib
    pointer = ctypes.c_char_p(spki_der)
    key = lib.d2i_PUBKEY(None, ctypes.byref(pointer), len(spki_der))
    if not key:
        raise _fail("not a GOST public key the gost engine can read", "algorithm_unsupported")
    return int(key)


def verify_digest(spki_der: bytes, signature: bytes, digest_value: bytes) -> bool:
    """Whether `signature` (s || r) over `digest_value` verifies with the public key."""
    lib = api().lib
    key = _public_key(spki_der)
    ctx = lib.EVP_PKEY_CTX_new(key, None)
    try:
        if not ctx or lib.EVP_PKEY_verify_init(ctx) != 1:
            raise _fail("cannot verify with this GOST key", "algorithm_unsupported")
        result = lib.EVP_PKEY_verify(
            ctx, signature, len(signature), digest_value, len(digest_value)
        )
        lib.ERR_clear_error()
        return bool(result == 1)
    finally:
        lib.EVP_PKEY_CTX_free(ctx)
        lib.EVP_PKEY_free(key)


def verify(spki_der: bytes, signature: bytes, data: bytes, digest_name: str) -> bool:
    """Whether `signature` over `data` (hashed with `digest_name`) verifies."""
    return verify_digest(spki_der, signature, digest(digest_name, data))


class PrivateKey:
    """A GOST private key held by the engine (a development key file)."""

    def __init__(self, handle: int) -> None:
        self._handle = handle
        self._lib = api().lib
        self.public_key_info = self._public_der()

    def _public_der(self) -> bytes:
        lib = self._lib
        size = lib.i2d_PUBKEY(self._handle, None)
        if size <= 0:
            raise _fail("cannot read the GOST public key", "key_invalid")
        buffer = ctypes.create_string_buffer(size)
        pointer = ctypes.c_void_p(ctypes.addressof(buffer))
        lib.i2d_PUBKEY(self._handle, ctypes.byref(pointer))
        return buffer.raw

    def sign_digest(self, digest_value: bytes) -> bytes:
        """The raw signature (s || r) over a digest: what CKM_GOSTR3410 returns."""
        lib = self._lib
        ctx = lib.EVP_PKEY_CTX_new(self._handle, None)
        try:
            if not ctx or lib.EVP_PKEY_sign_init(ctx) != 1:
                raise _fail("cannot sign with this GOST key", "signer_failed")
            size = ctypes.c_size_t(0)
            length = len(digest_value)
            if lib.EVP_PKEY_sign(ctx, None, ctypes.byref(size), digest_value, length) != 1:
                raise _fail("GOST signing failed", "signer_failed")
            out = ctypes.create_string_buffer(size.value)
            if lib.EVP_PKEY_sign(ctx, out, ctypes.byref(size), digest_value, length) != 1:
                raise _fail("GOST signing failed", "signer_failed")
            return out.raw[: size.value]
        finally:
            lib.EVP_PKEY_CTX_free(ctx)

    def sign(self, data: bytes, digest_name: str) -> bytes:
        return self.sign_digest(digest(digest_name, data))

    def __del__(self) -> None:
        handle, self._handle = getattr(self, "_handle", None), 0
        if handle:
            self._lib.EVP_PKEY_free(handle)


def _pem(der: bytes, label: str) -> bytes:
    import base64
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode()


def load_private_key(data: bytes, passphrase: bytes | None = None) -> PrivateKey:
    """A PKCS#8 GOST key (PEM or DER, encrypted or not). SignatureError when unreadable."""
    lib = api().lib
    if b"-----BEGIN" not in data:
        label = "ENCRYPTED PRIVATE KEY" if key_is_encrypted(data) else "PRIVATE KEY"
        data = _pem(data, label)
    bio = lib.BIO_new_mem_buf(data, len(data))
    try:
        # a NULL callback with a passphrase makes OpenSSL use it; with neither, an
        # encrypted key fails instead of prompting on the terminal
        secret = passphrase if passphrase is not None else b""
        key = lib.PEM_read_bio_PrivateKey(bio, None, None, secret)
    finally:
        lib.BIO_free(bio)
    if not key:
        detail = _errors(lib)
        if "bad decrypt" in detail or "decrypt" in detail or "password" in detail:
            raise SignatureError("wrong passphrase for the GOST key", code="passphrase_wrong")
        raise SignatureError(
            "not a GOST private key the gost engine can read" + (f" ({detail})" if detail else ""),
            code="key_invalid",
        )
    return PrivateKey(int(key))


def public_key_bits(spki_der: bytes) -> bytes:
    """The subjectPublicKey BIT STRING contents of a SubjectPublicKeyInfo (asn1crypto's
    PublicKeyInfo does not know the GOST key OIDs, so the structure is read generically)."""
    from asn1crypto import core

    value: bytes = core.load(spki_der)[1].contents
    return value


def key_is_encrypted(data: bytes) -> bool:
    """Whether a PKCS#8 key (PEM or DER) is an EncryptedPrivateKeyInfo."""
    from asn1crypto import keys, pem

    if pem.detect(data):
        return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data
    try:
        keys.EncryptedPrivateKeyInfo.load(data).native  # noqa: B018  (parses it all)
    except (ValueError, TypeError):
        return False
    return True


def private_key_oid(data: bytes) -> str | None:
    """The algorithm OID of an unencrypted PKCS#8 key (PEM or DER), None if unreadable."""
    from asn1crypto import keys, pem

    try:
        if pem.detect(data):
            _, _, data = pem.unarmor(data)
        info = keys.PrivateKeyInfo.load(data)
        return str(info["private_key_algorithm"]["algorithm"].dotted)
    except (ValueError, TypeError, KeyError):
        return None


__all__ = [
    "DIGESTS",
    "DIGEST_BY_OID",
    "DIGEST_NAMES",
    "ENGINE_PACKAGE",
    "KEYS",
    "KYRGYZ_NAMES",
    "SIGNATURES",
    "GostUnavailable",
    "Hasher",
    "PrivateKey",
    "available",
    "describe",
    "digest",
    "is_gost_oid",
    "key_is_encrypted",
    "load_private_key",
    "new_hasher",
    "private_key_oid",
    "public_key_bits",
    "signature_digest",
    "verify",
    "verify_digest",
]
