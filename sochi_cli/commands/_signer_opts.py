"""The signer options of every command that signs (or reads the signer's certificate).

One place for `--signer --key-file --cert-file --token --key-id --pkcs11-lib --pin-file
--passphrase-file --otp-file --otp-command --credential --inn`: `@signer_parameters`
expands a command's one `SignerChoice` parameter into these options (listed under
"SIGNER FLAGS" in its help). What is not given comes from the profile, where `sochi login`
records the signer it used (kind, key file, token and key, E-Cloud credential and INN;
never a secret).
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

PANEL = "Signer"
OTP_COMMAND_TIMEOUT = 600.0  # an SMS can take minutes; a stuck helper must not hang a batch


def _option(*names: str, metavar: str | None = None, help: str, hidden: bool = False) -> Any:
    return typer.Option(*names, metavar=metavar, help=help, rich_help_panel=PANEL, hidden=hidden)


# The options in the order `--help` lists them; each is a field of SignerChoice.
_OPTIONS: dict[str, Any] = {
    "signer": Annotated[
        str | None,
        _option(
            "--signer",
            metavar="file|pkcs11|cloud",
            help="Signer (default: the profile's, as `sochi login` recorded it).",
        ),
    ],
    "key_file": Annotated[
        Path | None,
        _option("--key-file", help="File signer: PKCS#12 (.p12/.pfx) or PEM key (dev only)."),
    ],
    "cert_file": Annotated[
        Path | None, _option("--cert-file", help="File signer: the certificate of a PEM key.")
    ],
    "token": Annotated[
        str | None, _option("--token", metavar="LABEL", help="PKCS#11: token label or serial.")
    ],
    "key_id": Annotated[
        str | None,
        _option(
            "--key-id",
            metavar="ID",
            help="PKCS#11: the key's CKA_ID (hex), label or certificate serial.",
        ),
    ],
    "key": Annotated[
        str | None, _option("--key", metavar="ID", help="Old name of --key-id.", hidden=True)
    ],
    "pkcs11_lib": Annotated[
        str | None,
        _option("--pkcs11-lib", metavar="FILE", help="PKCS#11 library (the RuToken driver)."),
    ],
    "pin_file": Annotated[
        Path | None,
        _option(
            "--pin-file",
            help="Token or E-Cloud PIN, first line of FILE (else SOCHI_PIN, else a prompt).",
        ),
    ],
    "passphrase_file": Annotated[
        Path | None,
        _option(
            "--passphrase-file",
            help="Key file passphrase (else SOCHI_KEY_PASSPHRASE, else a prompt).",
        ),
    ],
    "otp_file": Annotated[
        Path | None,
        _option(
            "--otp-file",
            help="E-Cloud one-time code, read from FILE when it is needed (a FIFO works).",
        ),
    ],
    "otp_command": Annotated[
        str | None,
        _option(
            "--otp-command",
            metavar="CMD",
            help="E-Cloud: run CMD when the one-time code is needed; its output is the code.",
        ),
    ],
    "credential": Annotated[
        str | None, _option("--credential", metavar="ID", help="E-Cloud credential id.")
    ],
    "inn": Annotated[str | None, _option("--inn", help="E-Cloud: your INN (also SOCHI_INN).")],
    "rsa_pss": Annotated[
        bool | None,
        typer.Option(
            "--rsa-pss/--rsa-pkcs1",
            help="RSA keys: RSASSA-PSS (SHA-256, MGF1, salt 32) or PKCS#1 v1.5 (default: "
            "profile rsa_padding, else PKCS#1 v1.5). A token must offer CKM_RSA_PKCS_PSS.",
            show_default=False,
            rich_help_panel=PANEL,
        ),
    ],
}


# The same options alone, for commands that only talk to a token (`sochi token …`).
LibOpt = Annotated[
    str | None,
    typer.Option("--pkcs11-lib", metavar="FILE", help="PKCS#11 library (the RuToken driver)."),
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", metavar="LABEL", help="Token label or serial.")
]
PinFileOpt = Annotated[
    Path | None,
    typer.Option("--pin-file", help="PIN, first line of FILE (else SOCHI_PIN, else a prompt)."),
]


@dataclass(frozen=True)
class SignerChoice:
    """The signer options as typed on the command line (None = take it from the profile)."""

    signer: str | None = None
    key_file: Path | None = None
    cert_file: Path | None = None
    token: str | None = None
    key_id: str | None = None
    key: str | None = None  # hidden alias of key_id
    pkcs11_lib: str | None = None
    pin_file: Path | None = None
    passphrase_file: Path | None = None
    otp_file: Path | None = None
    otp_command: str | None = None
    credential: str | None = None
    inn: str | None = None
    rsa_pss: bool | None = None

    def kind(self, app: AppContext) -> str:
        return str(self.signer or app.config.get("signer") or "file")

    def options(self, app: AppContext, *, kind: str | None = None) -> SignerOptions:
        """The choice, completed from the profile, with secrets read only when needed."""
        from sochi_cli.commands._prompts import read_secret
        from sochi_cli.services.signers import SignerOptions

        def pin() -> str:
            return read_secret(
                what="PIN",
                env="SOCHI_PIN",
                file_flag="--pin-file",
                path=self.pin_file,
                waiting=app.out.info,
            )

        def passphrase() -> str:
            return read_secret(
                what="key passphrase",
                env="SOCHI_KEY_PASSPHRASE",
                file_flag="--passphrase-file",
                path=self.passphrase_file,
                waiting=app.out.info,
            )

        def otp() -> str:
            return one_time_code(self.otp_file, self.otp_command, waiting=app.out.info)

        resolved = kind or self.kind(app)
        key_file = self.key_file or _path(app.config.get("key_file"))
        needs_passphrase = resolved == "file" and (
            self.passphrase_file is not None
            or bool(os.environ.get("SOCHI_KEY_PASSPHRASE"))
            or _encrypted_key(key_file)
        )
        return SignerOptions(
            kind=resolved,
            key_file=key_file,
            cert_file=self.cert_file or _path(app.config.get("cert_file")),
            pkcs11_lib=self.pkcs11_lib,
            token=self.token,
            key_id=self.key_id or self.key,
            credential=self.credential,
            user_id=self.inn or app.config.get("inn"),
            rsa_pss=self.rsa_pss,
            passphrase=passphrase if needs_passphrase else None,
            passphrase_source=passphrase_source(self.passphrase_file),
            pin=pin,
            otp=otp,
            warn=app.out.warn,
        )


def passphrase_source(path: Path | None) -> str:
    """Where the key passphrase comes from, as a wrong-passphrase error names it."""
    if path is not None:
        return f"the passphrase in {path} (--passphrase-file)"
    if os.environ.get("SOCHI_KEY_PASSPHRASE"):
        return "SOCHI_KEY_PASSPHRASE"
    return "the passphrase you typed"


def one_time_code(
    path: Path | None, command: str | None, *, waiting: Callable[[str], None] | None = None
) -> str:
    """The E-Cloud one-time code: from `--otp-command`, `--otp-file`, or a prompt.

    Read only when the code is needed, after the operator has sent it: the command or a
    FIFO writer may wait for the SMS. `SOCHI_OTP` cannot work (every run asks for a new
    code), so it is refused with the way that does.
    """
    from sochi_cli.commands._prompts import read_secret
    from sochi_cli.errors import UsageError

    if command is not None:
        return _run_otp_command(command)
    if path is None and os.environ.get("SOCHI_OTP"):
        raise UsageError(
            "SOCHI_OTP cannot work: every run has the operator send a new one-time code, "
            "so a code set before the run is never the right one",
            hint="pass --otp-file FILE (a FIFO works) or --otp-command CMD, read when the "
            "code has been sent",
        )
    return read_secret(
        what="one-time code (SMS)",
        env="",
        file_flag="--otp-file",
        path=path,
        alternatives="pass --otp-file FILE (a FIFO works) or --otp-command CMD",
        waiting=waiting,
    )


def _run_otp_command(command: str) -> str:
    import shlex
    import subprocess

    from sochi_cli.errors import AuthError, UsageError
    from sochi_cli.logs import register_secret

    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"--otp-command: {exc}") from None
    if not argv:
        raise UsageError("--otp-command is empty")
    try:
        done = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=OTP_COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError(f"--otp-command: {argv[0]}: command not found") from None
    except subprocess.TimeoutExpired:
        raise AuthError(
            f"--otp-command gave no code within {OTP_COMMAND_TIMEOUT:.0f} s",
            code="otp_missing",
        ) from None
    lines = (done.stdout or "").strip().splitlines()
    code = lines[0].strip() if lines else ""
    if done.returncode != 0 or not code:
        why = f"exit status {done.returncode}" if done.returncode else "no output"
        raise AuthError(f"--otp-command gave no one-time code ({why})", code="otp_missing")
    register_secret(code)
    return code


def _path(value: Any) -> Path | None:
    return Path(str(value)).expanduser() if value else None


def _encrypted_key(key_file: Path | None) -> bool:
    """Whether the key file needs a passphrase (PKCS#12 with a MAC password, encrypted PEM)."""
    if key_file is None:
        return False
    try:
        data = key_file.read_bytes()
    except OSError:
        return False
    if key_file.suffix.lower() in (".p12", ".pfx"):
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
    "PANEL",
    "LibOpt",
    "PinFileOpt",
    "SignerChoice",
    "TokenOpt",
    "one_time_code",
    "signer_parameters",
]
