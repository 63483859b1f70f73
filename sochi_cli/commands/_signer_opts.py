"""The signer options shared by every signing command (`--signer --key-file ... --inn`).

`@signer_parameters` expands one `SignerChoice` parameter into those Typer options.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from sochi_cli.commands._context import AppContext
    from sochi_cli.services.signers import SignerOptions

SignerOpt = Annotated[
    str | None, typer.Option("--signer", help="file, pkcs11 or cloud (default: profile).")
]
KeyFileOpt = Annotated[
    Path | None, typer.Option("--key-file", help="PKCS#12/PEM key (file signer, dev only).")
]
CertFileOpt = Annotated[
    Path | None, typer.Option("--cert-file", help="Certificate for a PEM --key-file.")
]
PinFileOpt = Annotated[
    Path | None, typer.Option("--pin-file", help="File holding the PIN (else SOCHI_PIN/prompt).")
]
LibOpt = Annotated[
    str | None, typer.Option("--pkcs11-lib", help="PKCS#11 library (RuToken driver) path.")
]
TokenOpt = Annotated[str | None, typer.Option("--token", help="Token label or serial.")]
KeyOpt = Annotated[
    str | None, typer.Option("--key", help="Key: CKA_ID hex, label or certificate serial.")
]
CredentialOpt = Annotated[str | None, typer.Option("--credential", help="E-Cloud credential id.")]
InnOpt = Annotated[
    str | None, typer.Option("--inn", envvar="SOCHI_INN", help="Subscriber INN (E-Cloud).")
]
RsaPssOpt = Annotated[
    bool | None,
    typer.Option(
        "--rsa-pss/--rsa-pkcs1",
        help="RSA keys: RSASSA-PSS (SHA-256, MGF1, salt 32) or PKCS#1 v1.5 (default: profile "
        "rsa_padding, else PKCS#1 v1.5). A token must offer CKM_RSA_PKCS_PSS.",
        show_default=False,
    ),
]

# The options in the order `--help` lists them.
_OPTIONS: dict[str, Any] = {
    "signer": SignerOpt,
    "key_file": KeyFileOpt,
    "cert_file": CertFileOpt,
    "pin_file": PinFileOpt,
    "pkcs11_lib": LibOpt,
    "token": TokenOpt,
    "key": KeyOpt,
    "credential": CredentialOpt,
    "inn": InnOpt,
    "rsa_pss": RsaPssOpt,
}


@dataclass(frozen=True)
class SignerChoice:
    """The signer options as typed on the command line (None = take it from the profile)."""

    signer: str | None = None
    key_file: Path | None = None
    cert_file: Path | None = None
    pin_file: Path | None = None
    pkcs11_lib: str | None = None
    token: str | None = None
    key: str | None = None
    credential: str | None = None
    inn: str | None = None
    rsa_pss: bool | None = None

    def options(self, app: AppContext, *, kind: str | None = None) -> SignerOptions:
        """Map the choice to SignerOptions; secrets are read only when the key needs them."""
        from sochi_cli.commands._prompts import read_secret
        from sochi_cli.services.signers import SignerOptions

        def pin() -> str:
            return read_secret(
                what="PIN", env="SOCHI_PIN", file_flag="--pin-file", path=self.pin_file
            )

        def passphrase() -> str:
            return read_secret(
                what="key passphrase", env="SOCHI_KEY_PASSPHRASE", file_flag="SOCHI_KEY_PASSPHRASE"
            )

        def otp() -> str:
            return read_secret(what="one-time code (SMS)", env="SOCHI_OTP", file_flag="SOCHI_OTP")

        chosen = kind or self.signer
        resolved = chosen or app.config.get("signer") or "file"
        needs_passphrase = resolved == "file" and (
            bool(os.environ.get("SOCHI_KEY_PASSPHRASE")) or _encrypted_key(self.key_file, app)
        )
        return SignerOptions(
            kind=chosen,
            key_file=self.key_file,
            cert_file=self.cert_file,
            pkcs11_lib=self.pkcs11_lib,
            token=self.token,
            key_id=self.key,
            credential=self.credential,
            user_id=self.inn,
            rsa_pss=self.rsa_pss,
            passphrase=passphrase if needs_passphrase else None,
            pin=pin,
            otp=otp,
        )


def _encrypted_key(key_file: Path | None, app: AppContext) -> bool:
    """Whether the key file needs a passphrase (PKCS#12 with a MAC password, encrypted PEM)."""
    raw = key_file or app.config.get("key_file")
    if not raw:
        return False
    path = Path(raw).expanduser()
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if path.suffix.lower() in (".p12", ".pfx"):
        from cryptography.hazmat.primitives.serialization import pkcs12

        try:
            pkcs12.load_key_and_certificates(data, None)
        except ValueError:
            return True
        return False
    return b"ENCRYPTED" in data


P = ParamSpec("P")
R = TypeVar("R")


def signer_parameters(func: Callable[P, R]) -> Callable[P, R]:
    """Replace func's one `SignerChoice` parameter by the signer options, in its place.

    Typer reads the wrapper's `__signature__`; the call gets the options back as one
    `SignerChoice` under the original parameter's name.
    """
    signature = inspect.signature(func, eval_str=True)
    names = [n for n, p in signature.parameters.items() if p.annotation is SignerChoice]
    if len(names) != 1:
        raise TypeError(f"{func.__qualname__}: needs exactly one SignerChoice parameter")
    target = names[0]
    expanded: list[inspect.Parameter] = []
    for name, param in signature.parameters.items():
        if name != target:
            expanded.append(param)
            continue
        expanded += [
            inspect.Parameter(option, param.kind, default=None, annotation=annotation)
            for option, annotation in _OPTIONS.items()
        ]
    option_names = [f.name for f in fields(SignerChoice)]

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        values: dict[str, Any] = {name: kwargs.pop(name, None) for name in option_names}
        kwargs[target] = SignerChoice(**values)
        return func(*args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=expanded)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in expanded} | {
        "return": signature.return_annotation
    }
    return wrapper


__all__ = [
    "CertFileOpt",
    "CredentialOpt",
    "InnOpt",
    "KeyFileOpt",
    "KeyOpt",
    "LibOpt",
    "PinFileOpt",
    "RsaPssOpt",
    "SignerChoice",
    "SignerOpt",
    "TokenOpt",
    "signer_parameters",
]
