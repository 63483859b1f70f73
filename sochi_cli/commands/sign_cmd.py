"""`sochi sign FILE...` — detached CAdES-BES signatures (`FILE.p7s`): token, E-Cloud or key file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sochi_cli.commands._context import AppContext, app_context

if TYPE_CHECKING:
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
TrustOpt = Annotated[
    list[Path] | None,
    typer.Option("--trust", help="Trusted root/intermediate certificates (PEM/DER); repeatable."),
]
CrlOpt = Annotated[list[Path] | None, typer.Option("--crl", help="CRL file (DER/PEM); repeatable.")]


def register(app: typer.Typer) -> None:
    app.command(
        "sign",
        epilog="Examples:\n\n  sochi sign report.xml\n\n"
        "  sochi sign --signer pkcs11 --token MyToken --pin-file pin.txt *.xml\n\n"
        "  sochi sign --signer file --key-file dev.p12 --out-dir signed/ a.xml b.xml",
    )(sign)


def signer_options(
    app: AppContext,
    *,
    signer: str | None,
    key_file: Path | None,
    cert_file: Path | None,
    pin_file: Path | None,
    pkcs11_lib: str | None,
    token: str | None,
    key: str | None,
    credential: str | None = None,
    inn: str | None = None,
) -> SignerOptions:
    """Map command-line choices to SignerOptions; secrets are read only when needed."""
    from sochi_cli.commands._prompts import read_secret
    from sochi_cli.services.signers import SignerOptions

    def pin() -> str:
        return read_secret(what="PIN", env="SOCHI_PIN", file_flag="--pin-file", path=pin_file)

    def passphrase() -> str:
        return read_secret(
            what="key passphrase", env="SOCHI_KEY_PASSPHRASE", file_flag="SOCHI_KEY_PASSPHRASE"
        )

    def otp() -> str:
        return read_secret(what="one-time code (SMS)", env="SOCHI_OTP", file_flag="SOCHI_OTP")

    kind = signer or app.config.get("signer") or "file"
    needs_passphrase = kind == "file" and (
        bool(os.environ.get("SOCHI_KEY_PASSPHRASE")) or _encrypted_key(key_file, app)
    )
    return SignerOptions(
        kind=signer,
        key_file=key_file,
        cert_file=cert_file,
        pkcs11_lib=pkcs11_lib,
        token=token,
        key_id=key,
        credential=credential,
        user_id=inn,
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


def sign(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Files to sign.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="Write FILE.p7s here (default: beside FILE).")
    ] = None,
    signer: SignerOpt = None,
    key_file: KeyFileOpt = None,
    cert_file: CertFileOpt = None,
    pin_file: PinFileOpt = None,
    pkcs11_lib: LibOpt = None,
    token: TokenOpt = None,
    key: KeyOpt = None,
    credential: CredentialOpt = None,
    inn: InnOpt = None,
    trust: TrustOpt = None,
    crl: CrlOpt = None,
) -> None:
    """Sign each FILE into FILE.p7s (detached CMS, CAdES-BES), all in one token session.

    Refuses a certificate that is expired, not yet valid, revoked, not for signing or not
    chained to a trusted root (clause 1.5). A failure leaves no .p7s behind.
    """
    from sochi_cli.services.signers import build_signer
    from sochi_cli.services.signing import check_inputs, sign_files, trust_material

    app = app_context(ctx)
    check_inputs(files, out_dir)
    options = signer_options(
        app,
        signer=signer,
        key_file=key_file,
        cert_file=cert_file,
        pin_file=pin_file,
        pkcs11_lib=pkcs11_lib,
        token=token,
        key=key,
        credential=credential,
        inn=inn,
    )
    material = trust_material(
        app.profile,
        trust_files=trust or [],
        crl_files=crl or [],
        api_url=app.config.get("api_url"),
        fetch_missing=True,
    )
    key_signer = build_signer(options, app.config)
    if key_signer.kind == "file":
        app.out.warn("signing with a key file: development use only, not for real filings")
    result = sign_files(files, key_signer, trust=material, out_dir=out_dir, on_warning=app.out.warn)
    data = {
        "signer": result.signer_kind,
        "certificate": {
            "subject": result.certificate.subject.rfc4514_string(),
            "serial": format(result.certificate.serial_number, "x"),
        },
        "files": [
            {"file": str(f.source), "signature": str(f.signature), "bytes": f.bytes}
            for f in result.files
        ],
        "warnings": result.warnings,
    }

    def render() -> None:
        for f in result.files:
            app.out.line(str(f.signature))
        app.out.info(
            f"signed {len(result.files)} file(s) as {data['certificate']['subject']}"  # type: ignore[index]
        )

    app.out.result(data, render)
