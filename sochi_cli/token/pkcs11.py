"""PKCS#11 tokens (RuToken ECP, SoftHSM2): library discovery, token/key selection, batch signing.

The PIN comes from the caller (a callback that sees the token's PIN state first); a wrong
PIN is reported once and never retried, a locked PIN is reported before any attempt.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, Self, TypeVar

from sochi_cli.errors import AuthError, UsageError
from sochi_cli.logs import register_secret
from sochi_cli.names import name_text
from sochi_cli.token.base import (
    SignatureAlgorithm,
    algorithm_for_certificate,
    ecdsa_raw_to_der,
    sha256_digest_info,
)

if TYPE_CHECKING:
    from cryptography import x509

log = logging.getLogger(__name__)
LIBRARY_ENV = "SOCHI_PKCS11_LIB"
_lib_cache: dict[str, Any] = {}  # one loaded library per path: unloading finalises it
# python-pkcs11 initialises a library with C_Initialize(NULL): the library may then assume
# one thread at a time (SoftHSM turns its own locking off) and two TUI workers calling in
# at once crash the process. Every call into a library holds this lock (re-entrant: the
# functions here call one another); sessions live on across calls, their calls each hold it.
library_lock = threading.RLock()
P = ParamSpec("P")
R = TypeVar("R")


def exclusive(function: Callable[P, R]) -> Callable[P, R]:
    """`function` with `library_lock` held: one PKCS#11 call at a time in this process."""

    @functools.wraps(function)
    def locked(*args: P.args, **kwargs: P.kwargs) -> R:
        with library_lock:
            return function(*args, **kwargs)

    return locked


def candidate_libraries() -> list[Path]:
    """Where the RuToken ECP PKCS#11 library usually lives on this OS (clause 20.1.5)."""
    if sys.platform == "darwin":
        return [
            Path("/Library/Frameworks/rtpkcs11ecp.framework/rtpkcs11ecp"),
            Path("/Library/Frameworks/rtpkcs11ecp.framework/Versions/Current/rtpkcs11ecp"),
            Path("/usr/local/lib/librtpkcs11ecp.dylib"),
        ]
    if sys.platform.startswith("win"):
        system_root = Path(os.environ.get("SYSTEMROOT", r"C:\Windows"))
        return [system_root / "System32" / "rtPKCS11ECP.dll"]
    return [
        Path(d) / "librtpkcs11ecp.so"
        for d in (
            "/usr/lib",
            "/usr/lib64",
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/local/lib",
            "/opt/aktivco/rutokenecp/x86_64",
            "/opt/aktivco/rutokenecp/amd64",
        )
    ]


def find_library(explicit: str | Path | None = None, configured: str | None = None) -> Path:
    """`--pkcs11-lib`, then SOCHI_PKCS11_LIB, then profile `pkcs11_lib`, then the OS defaults."""
    for source, value in (
        ("--pkcs11-lib", explicit),
        (LIBRARY_ENV, os.environ.get(LIBRARY_ENV)),
        ("profile key pkcs11_lib", configured),
    ):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                what = "is a folder, not a library" if path.is_dir() else "does not exist"
                raise AuthError(
                    f"PKCS#11 library {path} (from {source}) {what}",
                    hint="install the RuToken driver or give the right path",
                    code="pkcs11_library_missing",
                )
            return path
    for path in candidate_libraries():
        if path.is_file():
            return path
    raise AuthError(
        "RuToken PKCS#11 library not found",
        hint=f"install the RuToken driver or pass --pkcs11-lib / set {LIBRARY_ENV}",
        code="pkcs11_library_missing",
    )


@exclusive
def load_library(path: Path) -> Any:
    """Load (once per process) a PKCS#11 library; anything else is a clear AuthError."""
    import pkcs11

    key = str(Path(path).resolve())
    if key not in _lib_cache:
        try:
            _lib_cache[key] = pkcs11.lib(key)
        except Exception as exc:
            raise AuthError(
                f"{path} is not a usable PKCS#11 library ({type(exc).__name__})",
                hint="give the path of the token vendor's PKCS#11 module",
                code="pkcs11_library_incompatible",
            ) from None
    return _lib_cache[key]


def pin_state(flags: int) -> str:
    """ "locked" | "final_try" | "count_low" | "not_initialized" | "ok" from CKF_* flags."""
    from pkcs11 import TokenFlag

    if flags & TokenFlag.USER_PIN_LOCKED:
        return "locked"
    if flags & TokenFlag.USER_PIN_FINAL_TRY:
        return "final_try"
    if flags & TokenFlag.USER_PIN_COUNT_LOW:
        return "count_low"
    if not flags & TokenFlag.USER_PIN_INITIALIZED:
        return "not_initialized"
    return "ok"


PIN_STATE_TEXT = {
    "ok": "PIN ok",
    "count_low": "a wrong PIN was entered before: few tries left",
    "final_try": "FINAL TRY: one more wrong PIN locks the token",
    "locked": "PIN locked",
    "not_initialized": "user PIN not initialised",
}


@dataclass(frozen=True)
class TokenInfo:
    """What `sochi token list` shows about one token."""

    label: str
    serial: str
    manufacturer: str
    model: str
    slot_id: int
    pin_state: str
    library: str

    def describe(self) -> str:
        return f"{self.label!r} (serial {self.serial})"


def _token_info(token: Any, library: Path) -> TokenInfo:
    serial = token.serial
    return TokenInfo(
        label=token.label.strip(),
        serial=(
            serial.decode("ascii", "replace") if isinstance(serial, bytes) else str(serial)
        ).strip(),
        manufacturer=token.manufacturer_id.strip(),
        model=token.model.strip(),
        slot_id=int(token.slot.slot_id),
        pin_state=pin_state(int(token.flags)),
        library=str(library),
    )


def _initialised_tokens(lib: Any) -> list[Any]:
    from pkcs11 import TokenFlag

    tokens = []
    try:
        for slot in lib.get_slots(token_present=True):
            token = slot.get_token()
            if token.flags & TokenFlag.TOKEN_INITIALIZED:
                tokens.append(token)
    except Exception as exc:
        raise AuthError(
            f"cannot enumerate tokens ({type(exc).__name__})", code="token_error"
        ) from None
    return tokens


@exclusive
def list_tokens(library: Path) -> list[TokenInfo]:
    """All initialised tokens the library sees."""
    lib = load_library(library)
    return [_token_info(t, library) for t in _initialised_tokens(lib)]


@exclusive
def select_token(library: Path, selector: str | None) -> tuple[Any, TokenInfo]:
    """The token whose label or serial is `selector`, or the only one; else a clear AuthError."""
    lib = load_library(library)
    tokens = [(t, _token_info(t, library)) for t in _initialised_tokens(lib)]
    if not tokens:
        raise AuthError(
            f"no token found (library {library})",
            hint="insert the RuToken and check its driver",
            code="token_missing",
        )
    if selector:
        matches = [(t, i) for t, i in tokens if selector in (i.label, i.serial)]
        if not matches:
            raise AuthError(
                f"no token with label or serial {selector!r}; connected: "
                + ", ".join(i.describe() for _, i in tokens),
                code="token_missing",
            )
        if len(matches) > 1:
            raise AuthError(
                f"several tokens match {selector!r}; select by serial: "
                + ", ".join(i.describe() for _, i in matches),
                code="token_ambiguous",
            )
        return matches[0]
    if len(tokens) > 1:
        raise AuthError(
            "several tokens connected: " + ", ".join(i.describe() for _, i in tokens),
            hint="choose one with --token LABEL|SERIAL",
            code="token_ambiguous",
        )
    return tokens[0]


def check_pin_state(info: TokenInfo) -> None:
    """Refuse before any login attempt when the PIN is locked (or was never set)."""
    if info.pin_state == "locked":
        raise AuthError(
            f"the user PIN of token {info.describe()} is locked",
            hint="unlock it with the SO PIN (RuToken control panel) or at the operator's office",
            code="pin_locked",
        )
    if info.pin_state == "not_initialized":
        raise AuthError(f"token {info.describe()} has no user PIN set", code="pin_not_initialized")


# -- keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyInfo:
    """A private key on a token and the certificate with the same CKA_ID (if any)."""

    key_id: str  # hex of CKA_ID
    label: str
    key_type: str  # "rsa" | "ec" | "gost" | other
    certificate: x509.Certificate | None = field(repr=False)

    @property
    def cert_serial(self) -> str | None:
        return format(self.certificate.serial_number, "x") if self.certificate else None

    @property
    def subject(self) -> str | None:
        return name_text(self.certificate.subject) if self.certificate else None

    def describe(self) -> str:
        text = f"id {self.key_id}"
        if self.label:
            text += f" label {self.label!r}"
        if self.cert_serial:
            text += f" cert {self.cert_serial}"
        return text


def _attr(obj: Any, attribute: Any, default: Any = None) -> Any:
    try:
        return obj[attribute]
    except Exception:
        return default


def _key_type_name(value: Any) -> str:
    from pkcs11 import KeyType

    names = {KeyType.RSA: "rsa", KeyType.EC: "ec"}
    if value in names:
        return names[value]
    text = str(getattr(value, "name", value)).lower()
    return "gost" if "gost" in text else text


@exclusive
def certificates_on_token(session: Any) -> list[tuple[bytes, x509.Certificate]]:
    """(CKA_ID, certificate) of every X.509 certificate object visible in the session."""
    from cryptography import x509
    from pkcs11 import Attribute, ObjectClass

    found = []
    for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
        value = _attr(obj, Attribute.VALUE)
        if not value:
            continue
        try:
            cert = x509.load_der_x509_certificate(bytes(value))
        except ValueError:
            continue
        found.append((bytes(_attr(obj, Attribute.ID, b"") or b""), cert))
    return found


@exclusive
def keys_in_session(
    session: Any, certs: Sequence[tuple[bytes, x509.Certificate]] | None = None
) -> list[tuple[KeyInfo, Any]]:
    """Private keys (needs a logged-in session) paired with certificates by CKA_ID.

    `certs` is `certificates_on_token(session)` when the caller has it already.
    """
    from pkcs11 import Attribute, ObjectClass

    if certs is None:
        certs = certificates_on_token(session)
    by_id = {cid: c for cid, c in certs if cid}
    result = []
    for key in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}):
        key_id = bytes(_attr(key, Attribute.ID, b"") or b"")
        info = KeyInfo(
            key_id=key_id.hex(),
            label=str(_attr(key, Attribute.LABEL, "") or ""),
            key_type=_key_type_name(_attr(key, Attribute.KEY_TYPE)),
            certificate=by_id.get(key_id) if key_id else None,
        )
        result.append((info, key))
    return result


def select_key(keys: Sequence[tuple[KeyInfo, Any]], selector: str | None) -> tuple[KeyInfo, Any]:
    """By key id (hex), label or certificate serial (hex); the only usable key otherwise."""
    if not keys:
        raise AuthError("no private key on the token", code="key_missing")
    if selector:
        wanted = selector.lower().removeprefix("0x")
        matches = [
            (i, k)
            for i, k in keys
            if wanted in (i.key_id, (i.cert_serial or "").lower()) or selector == i.label
        ]
        if not matches:
            raise AuthError(
                f"no key with id, label or certificate serial {selector!r}; on the token: "
                + "; ".join(i.describe() for i, _ in keys),
                code="key_missing",
            )
        if len(matches) > 1:
            raise AuthError(
                f"several keys match {selector!r}: " + "; ".join(i.describe() for i, _ in matches),
                code="key_ambiguous",
            )
        info = matches[0][0]
        if info.certificate is None:
            raise AuthError(
                f"key {info.describe()} has no certificate on the token (no certificate with "
                "the same CKA_ID)",
                hint="import the certificate with the key's id",
                code="key_without_certificate",
            )
        return matches[0]
    usable = [(i, k) for i, k in keys if i.certificate is not None]
    if not usable:
        raise AuthError(
            "no key on the token has a certificate (keys: "
            + "; ".join(i.describe() for i, _ in keys)
            + ")",
            hint="import the certificate with the key's CKA_ID",
            code="key_without_certificate",
        )
    if len(usable) > 1:
        raise AuthError(
            "several keys with certificates on the token: "
            + "; ".join(i.describe() for i, _ in usable),
            hint="choose one with --key ID|LABEL|CERT-SERIAL",
            code="key_ambiguous",
        )
    return usable[0]


def _build_chain(
    certificate: x509.Certificate, pool: Sequence[x509.Certificate]
) -> list[x509.Certificate]:
    chain: list[x509.Certificate] = []
    current = certificate
    while current.issuer != current.subject and len(chain) < 8:
        issuer = next(
            (c for c in pool if c.subject == current.issuer and c not in chain and c != current),
            None,
        )
        if issuer is None:
            break
        chain.append(issuer)
        current = issuer
    return chain


PinProvider = Callable[[TokenInfo], str]


Warn = Callable[[str], None]


@exclusive
def login(
    token: Any, info: TokenInfo, pin: str | PinProvider, on_warning: Warn | None = None
) -> Any:
    """One login attempt: check state, ask for the PIN, map errors; never retried.

    A PIN state worth knowing before typing (few tries left) goes to `on_warning` — the
    front-end's `warning:` line — or, without one, to the log."""
    from pkcs11 import exceptions as p11err

    check_pin_state(info)
    if info.pin_state in ("count_low", "final_try"):
        message = f"token {info.describe()}: {PIN_STATE_TEXT[info.pin_state]}"
        if on_warning is not None:
            on_warning(message)
        else:
            log.warning("%s", message)
    value = pin(info) if callable(pin) else pin
    register_secret(value)
    try:
        return token.open(user_pin=value)
    except p11err.PinIncorrect:
        raise AuthError(
            f"wrong PIN for token {info.describe()}",
            hint="not retried automatically; a few more wrong PINs lock the token",
            code="pin_wrong",
        ) from None
    except p11err.PinLocked:
        raise AuthError(
            f"the user PIN of token {info.describe()} is locked", code="pin_locked"
        ) from None
    except (p11err.PinInvalid, p11err.PinLenRange):
        raise AuthError(
            f"the PIN has an invalid length or characters for token {info.describe()}",
            code="pin_wrong",
        ) from None
    except p11err.PKCS11Error as exc:
        raise AuthError(
            f"login to token {info.describe()} failed ({type(exc).__name__})",
            code="token_error",
        ) from None


# GOST mechanisms: CKM_GOSTR3410* are in PKCS#11 2.30; the 2012-512 and Streebog ones are the
# TC26 vendor extensions RuToken implements (NSSCK_VENDOR_PKCS11_RU_TEAM = 0xD4321000)
CKM_GOSTR3410 = 0x1201
CKM_GOSTR3410_WITH_GOSTR3411 = 0x1202
CKM_GOSTR3410_512 = 0xD4321006
CKM_GOSTR3410_WITH_GOSTR3411_12_256 = 0xD4321008
CKM_GOSTR3410_WITH_GOSTR3411_12_512 = 0xD4321009
_GOST_MECHANISMS = {  # digest -> (sign a digest made here, hash-and-sign on the token)
    "gostr3411_94": (CKM_GOSTR3410, CKM_GOSTR3410_WITH_GOSTR3411),
    "streebog256": (CKM_GOSTR3410, CKM_GOSTR3410_WITH_GOSTR3411_12_256),
    "streebog512": (CKM_GOSTR3410_512, CKM_GOSTR3410_WITH_GOSTR3411_12_512),
}


def gost_mechanism(algorithm: SignatureAlgorithm, have: frozenset[int]) -> tuple[int | None, bool]:
    """(mechanism, hashes on the token?) for a GOST key, from the token's mechanism list.

    The digest is made here (OpenSSL's gost engine, fast) and signed with CKM_GOSTR3410 /
    CKM_GOSTR3410_512 when the token offers them; else the token hashes the signed
    attributes itself with CKM_GOSTR3410_WITH_GOSTR3411(_12_256/_12_512).
    """
    raw, hashing = _GOST_MECHANISMS[algorithm.digest]
    if raw in have:
        return raw, False
    if hashing in have:
        return hashing, True
    return None, False


def pkcs11_mechanism(value: int) -> Any:
    """A pkcs11.Mechanism for `value`, vendor-defined ones included.

    python-pkcs11 accepts only members of its Mechanism enum, which lacks the TC26 vendor
    mechanisms; a pseudo-member carries their value to C_SignInit unchanged.
    """
    from pkcs11 import Mechanism

    try:
        return Mechanism(value)
    except ValueError:
        member = int.__new__(Mechanism, value)
        member._name_ = f"VENDOR_{value:#x}"
        member._value_ = value
        return member


@exclusive
def token_mechanisms(token: Any) -> frozenset[int]:
    """The mechanisms the token's slot offers (empty if the library will not say)."""
    try:
        return frozenset(int(m) for m in token.slot.get_mechanisms())
    except Exception:
        return frozenset()


class PKCS11Signer:
    """A key on a PKCS#11 token; `with signer:` logs in once, `sign_digests` signs a batch."""

    kind = "pkcs11"

    def __init__(
        self,
        *,
        pin: str | PinProvider,
        library: str | Path | None = None,
        configured_library: str | None = None,
        token: str | None = None,
        key: str | None = None,
        extra_chain: Sequence[x509.Certificate] = (),
        rsa_pss: bool = False,
        on_warning: Warn | None = None,
    ) -> None:
        self._pin = pin
        self._on_warning = on_warning
        self._rsa_pss = rsa_pss
        self._mechanisms: frozenset[int] = frozenset()
        self._mechanism: Any = None  # what sign_digests / sign_data call the token with
        self._mechanism_param: Any = None
        self.hashes_on_device = False  # the token hashes the signed attributes itself
        self._library_arg = library
        self._configured_library = configured_library
        self._token_selector = token
        self._key_selector = key
        self._extra_chain = list(extra_chain)
        self._session: Any = None
        self._key: Any = None
        self._certificate: x509.Certificate | None = None
        self._algorithm: SignatureAlgorithm | None = None
        self.chain: list[x509.Certificate] = []
        self.token_info: TokenInfo | None = None
        self.key_info: KeyInfo | None = None

    @property
    def certificate(self) -> x509.Certificate:
        if self._certificate is None:
            raise UsageError("the PKCS#11 signer is not open (use it in a `with` block)")
        return self._certificate

    def algorithm(self) -> SignatureAlgorithm:
        if self._algorithm is None:
            self._algorithm = algorithm_for_certificate(self.certificate, rsa_pss=self._rsa_pss)
        return self._algorithm

    @exclusive
    def open(self) -> None:
        library = find_library(self._library_arg, self._configured_library)
        token, info = select_token(library, self._token_selector)
        self.token_info = info
        session = login(token, info, self._pin, self._on_warning)
        try:
            on_token = certificates_on_token(session)
            key_info, key = select_key(keys_in_session(session, on_token), self._key_selector)
            assert key_info.certificate is not None
            pool = [c for _, c in on_token] + self._extra_chain
            self._certificate = key_info.certificate
            self.chain = _build_chain(key_info.certificate, pool)
            algorithm = self.algorithm()
            self._mechanisms = token_mechanisms(token)
            self._choose_mechanism(algorithm, info)
        except BaseException:
            session.close()
            raise
        self._session, self._key, self.key_info = session, key, key_info

    @exclusive
    def close(self) -> None:
        if self._session is not None:
            session, self._session, self._key = self._session, None, None
            try:
                session.close()
            except Exception:  # closing a session on a pulled token
                return

    def _choose_mechanism(self, algorithm: SignatureAlgorithm, info: TokenInfo) -> None:
        """The token mechanism for the key's algorithm; refused early if the token lacks it."""
        from pkcs11 import MGF, Mechanism

        have = self._mechanisms
        if algorithm.key_type == "rsa" and algorithm.pss:
            if int(Mechanism.RSA_PKCS_PSS) not in have:
                raise AuthError(
                    f"token {info.describe()} does not offer CKM_RSA_PKCS_PSS",
                    hint="sign with PKCS#1 v1.5 (drop --rsa-pss)",
                    code="mechanism_unsupported",
                )
            self._mechanism = Mechanism.RSA_PKCS_PSS
            self._mechanism_param = (Mechanism.SHA256, MGF.SHA256, algorithm.digest_size)
        elif algorithm.key_type == "rsa":
            self._mechanism = Mechanism.RSA_PKCS
        elif algorithm.key_type == "ec":
            self._mechanism = Mechanism.ECDSA
        else:
            mechanism, on_device = gost_mechanism(algorithm, have)
            if mechanism is None:
                raise AuthError(
                    f"token {info.describe()} offers no GOST R 34.10 signing mechanism for "
                    f"{algorithm.name}",
                    code="mechanism_unsupported",
                )
            self._mechanism = pkcs11_mechanism(mechanism)
            self.hashes_on_device = on_device

    @exclusive
    def sign_digests(self, digests: Sequence[bytes]) -> list[bytes]:
        from pkcs11 import exceptions as p11err

        if self._key is None:
            raise UsageError("the PKCS#11 signer is not open (use it in a `with` block)")
        algorithm = self.algorithm()
        sign = self._key.sign  # the same call per digest as a bare python-pkcs11 loop
        mechanism, param = self._mechanism, self._mechanism_param
        try:
            if algorithm.key_type == "rsa" and not algorithm.pss:
                return [bytes(sign(sha256_digest_info(d), mechanism=mechanism)) for d in digests]
            if algorithm.key_type == "ec":
                return [ecdsa_raw_to_der(sign(d, mechanism=mechanism)) for d in digests]
            if self.hashes_on_device:
                raise UsageError("this token hashes on the device: use sign_data")
            # PSS over the digest; GOST: CKM_GOSTR3410(_512) over the digest, s || r as CMS has it
            return [bytes(sign(d, mechanism=mechanism, mechanism_param=param)) for d in digests]
        except p11err.PKCS11Error as exc:
            raise AuthError(
                f"the token refused to sign ({type(exc).__name__})", code="token_error"
            ) from None

    @exclusive
    def sign_data(self, items: Sequence[bytes]) -> list[bytes]:
        """Sign whole signed attributes with a hash-and-sign mechanism (GOST on RuToken)."""
        from pkcs11 import exceptions as p11err

        if self._key is None:
            raise UsageError("the PKCS#11 signer is not open (use it in a `with` block)")
        sign, mechanism = self._key.sign, self._mechanism
        try:
            return [bytes(sign(item, mechanism=mechanism)) for item in items]
        except p11err.PKCS11Error as exc:
            raise AuthError(
                f"the token refused to sign ({type(exc).__name__})", code="token_error"
            ) from None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@exclusive
def token_certificates(
    library: str | Path | None, token: str | None, configured: str | None = None
) -> tuple[TokenInfo, list[tuple[bytes, x509.Certificate]]]:
    """Certificates on a token without logging in (they are public objects)."""
    path = find_library(library, configured)
    tok, info = select_token(path, token)
    with tok.open() as session:
        return info, certificates_on_token(session)


@exclusive
def list_keys(
    library: str | Path | None,
    token: str | None,
    pin: str | PinProvider,
    configured: str | None = None,
    on_warning: Warn | None = None,
) -> tuple[TokenInfo, list[KeyInfo]]:
    """Key/certificate pairs on a token (private keys are only visible after login)."""
    path = find_library(library, configured)
    tok, info = select_token(path, token)
    session = login(tok, info, pin, on_warning)
    try:
        return info, [i for i, _ in keys_in_session(session)]
    finally:
        session.close()


@exclusive
def import_pkcs12(
    *,
    library: str | Path | None,
    token: str,
    pin: str | PinProvider,
    private_key: Any,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    label: str | None = None,
    key_id: bytes | None = None,
    configured: str | None = None,
) -> KeyInfo:
    """Write a key + certificate (same CKA_ID) and CA certificates to a token (dev/demo)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from pkcs11 import Attribute, CertificateType, ObjectClass
    from pkcs11.util import ec as p11ec
    from pkcs11.util import rsa as p11rsa

    path = find_library(library, configured)
    tok, info = select_token(path, token)
    check_pin_state(info)
    value = pin(info) if callable(pin) else pin
    register_secret(value)
    if key_id is None:
        key_id = certificate.fingerprint(hashes.SHA256())[:8]
    label = label or certificate.subject.rfc4514_string()[:64]
    if isinstance(private_key, rsa.RSAPrivateKey):
        key_attrs = p11rsa.decode_rsa_private_key(
            private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        key_type = "rsa"
    elif isinstance(private_key, ec.EllipticCurvePrivateKey):
        key_attrs = p11ec.decode_ec_private_key(
            private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        key_type = "ec"
    else:
        raise UsageError(f"unsupported key type {type(private_key).__name__}")
    key_attrs.update(
        {
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.SENSITIVE: True,
            Attribute.SIGN: True,
            Attribute.ID: key_id,
            Attribute.LABEL: label,
        }
    )
    from pkcs11 import exceptions as p11err

    try:
        session = tok.open(rw=True, user_pin=value)
    except p11err.PinIncorrect:
        raise AuthError(f"wrong PIN for token {info.describe()}", code="pin_wrong") from None
    der = certificate.public_bytes(serialization.Encoding.DER)
    try:
        session.create_object(key_attrs)
        for cert, cid, clabel in [
            (certificate, key_id, label),
            *[(c, b"", c.subject.rfc4514_string()[:64]) for c in chain],
        ]:
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.ID: cid,
                    Attribute.LABEL: clabel,
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.ISSUER: cert.issuer.public_bytes(),
                    Attribute.SERIAL_NUMBER: _der_integer(cert.serial_number),
                    Attribute.VALUE: der
                    if cert is certificate
                    else cert.public_bytes(serialization.Encoding.DER),
                }
            )
    except p11err.PKCS11Error as exc:
        raise AuthError(
            f"the token refused the import ({type(exc).__name__})", code="token_error"
        ) from None
    finally:
        session.close()
    return KeyInfo(key_id=key_id.hex(), label=label, key_type=key_type, certificate=certificate)


def _der_integer(value: int) -> bytes:
    from asn1crypto.core import Integer

    result: bytes = Integer(value).dump()
    return result


__all__ = [
    "LIBRARY_ENV",
    "PIN_STATE_TEXT",
    "KeyInfo",
    "PKCS11Signer",
    "PinProvider",
    "TokenInfo",
    "candidate_libraries",
    "check_pin_state",
    "find_library",
    "import_pkcs12",
    "list_keys",
    "list_tokens",
    "load_library",
    "login",
    "pin_state",
    "select_key",
    "select_token",
    "token_certificates",
]
