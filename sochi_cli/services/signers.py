"""Build a Signer (file, pkcs11 or cloud) from command options and the active profile.

Secrets are not read here: the front-end passes callables that fetch the PIN, passphrase
or one-time code (from a file, the environment or a prompt) only when the key needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import UsageError
from sochi_cli.names import name_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cryptography import x509

    from sochi_cli.store.config import Config
    from sochi_cli.token.base import Signer

SecretSource = Callable[[], str]

# Said (and put in the JSON `warnings`) whenever a key file signs: it is not a qualified key.
KEY_FILE_WARNING = "signing with a key file: development use only, not for real filings"


@dataclass
class SignerOptions:
    """What the user chose on the command line (None = take it from the profile)."""

    kind: str | None = None  # "file" | "pkcs11" | "cloud"
    key_file: Path | None = None  # file: .p12/.pfx or PEM key
    cert_file: Path | None = None  # file: certificate when key_file is PEM
    pkcs11_lib: str | None = None
    token: str | None = None
    key_id: str | None = None
    credential: str | None = None  # cloud credential id
    user_id: str | None = None  # cloud: the subscriber's INN
    passphrase: SecretSource | None = None
    pin: SecretSource | None = None
    otp: SecretSource | None = None
    rsa_pss: bool | None = None  # RSA keys: RSASSA-PSS instead of PKCS#1 v1.5
    # where the passphrase comes from, named by a wrong-passphrase error ("check …")
    passphrase_source: str = "SOCHI_KEY_PASSPHRASE"  # noqa: S105 - a variable's name
    warn: Callable[[str], None] | None = None  # the front-end's `warning:` (PIN tries left)


def rsa_pss_chosen(options: SignerOptions, config: Config) -> bool:
    """`--rsa-pss`, else profile key `rsa_padding = "pss"`."""
    if options.rsa_pss is not None:
        return options.rsa_pss
    return bool(config.get("rsa_padding") == "pss")


def signer_kind(options: SignerOptions, config: Config) -> str:
    kind = options.kind or config.get("signer") or "file"
    if kind not in ("file", "pkcs11", "cloud"):
        raise UsageError(f"unknown signer '{kind}'", hint="use file, pkcs11 or cloud")
    return str(kind)


def build_signer(options: SignerOptions, config: Config) -> Signer:
    """The Signer the options and profile describe; not opened yet (use `with signer:`)."""
    kind = signer_kind(options, config)
    if kind == "file":
        return _file_signer(options, config)
    if kind == "pkcs11":
        from sochi_cli.token.pkcs11 import PKCS11Signer

        if options.pin is None:
            raise UsageError("the PKCS#11 signer needs a PIN source")
        pin_source = options.pin
        return PKCS11Signer(
            rsa_pss=rsa_pss_chosen(options, config),
            pin=lambda _info: pin_source(),
            library=options.pkcs11_lib,
            configured_library=config.get("pkcs11_lib"),
            token=options.token or config.get("token_label"),
            key=options.key_id or config.get("key_id"),
            on_warning=options.warn,
        )
    from sochi_cli.token.cloud import CloudSigner

    user_id = options.user_id or config.get("inn")
    if not user_id:
        raise UsageError(
            "the cloud signer needs the subscriber's INN",
            hint="pass --inn INN or set SOCHI_INN (`sochi login` remembers it)",
        )
    if options.pin is None or options.otp is None:
        raise UsageError("the cloud signer needs a PIN and a one-time code source")
    pin_source, otp_source = options.pin, options.otp
    cloud_kwargs: dict[str, Any] = {
        "api_url": config.get("api_url"),
        "user_id": user_id,
        "pin": lambda _info: pin_source(),
        "otp": lambda _info: otp_source(),
        "credential_id": options.credential or config.get("cloud_credential"),
        "timeout": float(config.get("timeout")),
        "rsa_pss": rsa_pss_chosen(options, config),
    }
    return CloudSigner(**cloud_kwargs)


def _file_signer(options: SignerOptions, config: Config) -> Signer:
    from sochi_cli.store.files import read_input
    from sochi_cli.token.file import KeySigner

    raw = options.key_file or config.get("key_file")
    if not raw:
        raise UsageError(
            "the file signer needs a key file",
            hint="pass --key-file FILE (`sochi login --key-file FILE` remembers it)",
        )
    path = Path(raw).expanduser()

    def passphrase() -> bytes | None:
        return options.passphrase().encode() if options.passphrase else None

    pss = rsa_pss_chosen(options, config)
    source = options.passphrase_source
    cert = options.cert_file or (Path(config.get("cert_file")) if config.get("cert_file") else None)
    # with a certificate the file is meant as its key (from_pem says what is wrong with it);
    # alone it is a PKCS#12 file, or a key that needs the certificate
    alone = cert is None or path.suffix.lower() in (".p12", ".pfx")
    if alone and key_file_kind(path, read_input(path, "key file")) == "pkcs12":
        return KeySigner.from_pkcs12(path, passphrase(), rsa_pss=pss, passphrase_source=source)
    if cert is None:
        raise UsageError(f"{path}: a PEM key needs its certificate", hint="pass --cert-file")
    return KeySigner.from_pem(path, cert, passphrase(), rsa_pss=pss, passphrase_source=source)


def key_file_kind(path: Path, data: bytes) -> str:
    """`pkcs12` or `key` (a PEM or DER private key) by what the file holds, so that a report
    or a certificate given as the key is refused as what it is, not as a key without its
    certificate. A `.p12`/`.pfx` name is taken at its word."""
    if path.suffix.lower() in (".p12", ".pfx"):
        return "pkcs12"
    if b"-----BEGIN" in data:
        if b"PRIVATE KEY-----" in data:
            return "key"
    elif data[:1] == b"\x30":  # DER
        kind = _der_kind(data)
        if kind is not None:
            return kind
    raise UsageError(
        f"{path}: not a key file",
        hint="expected a PKCS#12 file (.p12/.pfx) or a PEM private key with --cert-file",
        code="not_a_key",
    )


def _der_kind(data: bytes) -> str | None:
    """A DER PKCS#12 (PFX), a DER private key in any of its forms (PKCS#8, encrypted PKCS#8,
    PKCS#1/SEC1, a GOST PKCS#8 `cryptography` cannot load), or None."""
    from asn1crypto import keys, pkcs12
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        pfx = pkcs12.Pfx.load(data)
        if pfx["version"].native == "v3" and pfx["auth_safe"]["content_type"].native:
            return "pkcs12"
    except (ValueError, TypeError, KeyError):
        pass
    try:
        load_der_private_key(data, None)
        return "key"
    except TypeError:  # encrypted: a key all the same
        return "key"
    except (ValueError, UnsupportedAlgorithm):
        pass  # not a key `cryptography` reads (a GOST one?): asn1crypto has a look
    for spec, field in (
        (keys.PrivateKeyInfo, "private_key_algorithm"),
        (keys.EncryptedPrivateKeyInfo, "encryption_algorithm"),
    ):
        try:
            if spec.load(data)[field]["algorithm"].dotted:
                return "key"
        except (ValueError, TypeError, KeyError):
            continue
    return None


def token_certificate(
    certs: Sequence[tuple[bytes, x509.Certificate]], selector: str | None
) -> x509.Certificate:
    """The signing certificate among a token's (CKA_ID, certificate) pairs, read without a PIN.

    `selector` (CKA_ID hex or certificate serial) picks one; else the only non-CA one.
    """
    from cryptography import x509 as cx

    from sochi_cli.errors import AuthError

    def is_ca(c: x509.Certificate) -> bool:
        try:
            return bool(c.extensions.get_extension_for_class(cx.BasicConstraints).value.ca)
        except cx.ExtensionNotFound:
            return c.issuer == c.subject

    if selector:
        wanted = selector.lower().removeprefix("0x")
        found = [c for cid, c in certs if wanted in (cid.hex(), format(c.serial_number, "x"))]
    else:
        found = [c for _, c in certs if not is_ca(c)]
    if not found:
        raise AuthError("no signing certificate on the token", code="certificate_missing")
    if len(found) > 1:
        raise AuthError(
            "several certificates on the token: "
            + "; ".join(f"{name_text(c.subject)} ({c.serial_number:x})" for c in found),
            hint="choose one with --key-id ID|CERT-SERIAL",
            code="key_ambiguous",
        )
    return found[0]


# Profile settings that describe the remembered signer; a login with another key replaces
# them all, so nothing of the previous signer (a key file after a switch to a token) lingers.
SIGNER_SETTINGS = (
    "signer",
    "key_file",
    "cert_file",
    "token_label",
    "key_id",
    "pkcs11_lib",
    "cloud_credential",
    "inn",
    "rsa_padding",
)
_KEY_IDENTITY = ("signer", "key_file", "cert_file", "token_label", "key_id", "cloud_credential")


def remembered_settings(
    signer: Signer, options: SignerOptions, previous: Mapping[str, Any] | None = None
) -> dict[str, str | None]:
    """What `sochi login` records in the profile about the signer it used (no secret):
    its kind and what finds the same key again — the key file (absolute path), the token
    and key it opened, the E-Cloud credential and INN.

    Every other signer setting is None (the profile forgets it): the previous signer's
    key file, token or credential must not outlive a switch. Two are kept: `pkcs11_lib`
    when a token signer found its library without --pkcs11-lib (the profile's, maybe), and
    `rsa_padding` when neither --rsa-pss nor --rsa-pkcs1 was given and the key is the same
    one as before (`previous`: the profile's current settings).
    """
    values: dict[str, str | None] = {"signer": signer.kind}
    if signer.kind == "file":
        for key, path in (("key_file", options.key_file), ("cert_file", options.cert_file)):
            if path is not None:
                values[key] = str(Path(path).expanduser().resolve())
    elif signer.kind == "pkcs11":
        token_info = getattr(signer, "token_info", None)
        key_info = getattr(signer, "key_info", None)
        values["token_label"] = getattr(token_info, "label", None) or options.token
        values["key_id"] = getattr(key_info, "key_id", None) or options.key_id
        if options.pkcs11_lib:
            values["pkcs11_lib"] = str(options.pkcs11_lib)
    elif signer.kind == "cloud":
        info = getattr(signer, "info", None)
        values["cloud_credential"] = getattr(info, "credential_id", None) or options.credential
        values["inn"] = options.user_id
    if options.rsa_pss is not None:
        values["rsa_padding"] = "pss" if options.rsa_pss else "pkcs1v15"
    found = {k: v for k, v in values.items() if v}
    settings: dict[str, str | None] = {name: found.get(name) for name in SIGNER_SETTINGS}
    if signer.kind == "pkcs11" and "pkcs11_lib" not in found:
        del settings["pkcs11_lib"]
    before = previous or {}
    same_key = all(str(before.get(k) or "") == str(found.get(k) or "") for k in _KEY_IDENTITY)
    if "rsa_padding" not in found and same_key:
        del settings["rsa_padding"]
    return settings


def remember_signer(
    config: Config, signer: Signer, options: SignerOptions
) -> dict[str, str | None]:
    """Record `remembered_settings` in the active profile (one atomic write), as `sochi login`
    does; returns what was recorded. A config that cannot be written raises."""
    from sochi_cli.store.config import set_profile_values

    values = remembered_settings(signer, options)
    set_profile_values(config, values)
    return values


__all__ = [
    "KEY_FILE_WARNING",
    "SIGNER_SETTINGS",
    "SecretSource",
    "SignerOptions",
    "build_signer",
    "remember_signer",
    "remembered_settings",
    "rsa_pss_chosen",
    "signer_kind",
    "token_certificate",
]
