"""`sochi token list|keys|import` — PKCS#11 tokens (RuToken ECP; SoftHSM2 for development)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._signer_opts import LibOpt, PinFileOpt, TokenOpt

token_app = typer.Typer(
    help="PKCS#11 tokens: list them, their keys and certificates; import a dev PKCS#12.",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi token list\n\n  sochi token keys --token MyToken\n\n"
    "  sochi token import --p12 dev.p12 --token-label dev --pkcs11-lib "
    "/usr/lib/softhsm/libsofthsm2.so",
)


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")


def _read_pin(pin_file: Path | None) -> str:
    from sochi_cli.commands._prompts import read_secret

    return read_secret(what="PIN", env="SOCHI_PIN", file_flag="--pin-file", path=pin_file)


@token_app.command("list")
def token_list(ctx: typer.Context, pkcs11_lib: LibOpt = None) -> None:
    """Tokens the PKCS#11 library sees, with their PIN state (no PIN needed)."""
    from sochi_cli.token import pkcs11 as p11

    app = app_context(ctx)
    library = p11.find_library(pkcs11_lib, app.config.get("pkcs11_lib"))
    tokens = p11.list_tokens(library)
    data = {
        "library": str(library),
        "tokens": [
            {
                "label": t.label,
                "serial": t.serial,
                "manufacturer": t.manufacturer,
                "model": t.model,
                "slot": t.slot_id,
                "pin_state": t.pin_state,
            }
            for t in tokens
        ],
    }

    def render() -> None:
        if not tokens:
            app.out.info(f"no token found (library {library})")
            return
        app.out.table(
            [
                (t.label, t.serial, t.model, p11.PIN_STATE_TEXT.get(t.pin_state, t.pin_state))
                for t in tokens
            ],
            ["LABEL", "SERIAL", "MODEL", "PIN"],
        )

    app.out.result(data, render)


@token_app.command("keys")
def token_keys(
    ctx: typer.Context,
    pkcs11_lib: LibOpt = None,
    token: TokenOpt = None,
    pin_file: PinFileOpt = None,
) -> None:
    """Private keys on a token and their certificates (matched by CKA_ID); asks for the PIN."""
    from sochi_cli.token import pkcs11 as p11

    app = app_context(ctx)
    info, keys = p11.list_keys(
        pkcs11_lib,
        token or app.config.get("token_label"),
        lambda _info: _read_pin(pin_file),
        app.config.get("pkcs11_lib"),
        on_warning=app.out.warn,
    )
    data = {
        "token": {"label": info.label, "serial": info.serial},
        "keys": [
            {
                "id": k.key_id,
                "label": k.label,
                "type": k.key_type,
                "certificate": None
                if k.certificate is None
                else {
                    "subject": k.subject,
                    "serial": k.cert_serial,
                    "not_after": k.certificate.not_valid_after_utc.isoformat(),
                },
            }
            for k in keys
        ],
    }

    def render() -> None:
        app.out.table(
            [
                (k.key_id, k.label, k.key_type, k.subject or "(no certificate)", k.cert_serial)
                for k in keys
            ],
            ["ID", "LABEL", "TYPE", "CERTIFICATE", "CERT SERIAL"],
        )

    app.out.result(data, render)


@token_app.command("import")
def token_import(
    ctx: typer.Context,
    p12: Annotated[Path, typer.Option("--p12", help="PKCS#12 file with key + certificate.")],
    token_label: Annotated[str, typer.Option("--token-label", help="Target token label.")],
    label: Annotated[str | None, typer.Option("--label", help="Key label.")] = None,
    key_id: Annotated[str | None, typer.Option("--id", help="CKA_ID in hex.")] = None,
    pkcs11_lib: LibOpt = None,
    pin_file: PinFileOpt = None,
) -> None:
    """Write a development PKCS#12 key + certificate (same CKA_ID) to a token such as SoftHSM2.

    The PKCS#12 passphrase comes from SOCHI_KEY_PASSPHRASE or a prompt.
    """
    from sochi_cli.commands._prompts import read_secret
    from sochi_cli.errors import AuthError, UsageError
    from sochi_cli.token import pkcs11 as p11
    from sochi_cli.token.file import KeySigner

    app = app_context(ctx)
    try:
        wanted_id = bytes.fromhex(key_id) if key_id else None
    except ValueError:
        raise UsageError(f"--id {key_id!r}: not hexadecimal") from None
    try:
        bundle = KeySigner.from_pkcs12(p12, None)
    except AuthError:
        secret = read_secret(
            what="PKCS#12 passphrase", env="SOCHI_KEY_PASSPHRASE", file_flag="SOCHI_KEY_PASSPHRASE"
        )
        bundle = KeySigner.from_pkcs12(p12, secret.encode())
    imported = p11.import_pkcs12(
        library=pkcs11_lib,
        token=token_label,
        pin=lambda _info: _read_pin(pin_file),
        private_key=bundle.private_key,
        certificate=bundle.certificate,
        chain=bundle.chain,
        label=label,
        key_id=wanted_id,
        configured=app.config.get("pkcs11_lib"),
    )
    data = {
        "token": token_label,
        "id": imported.key_id,
        "label": imported.label,
        "type": imported.key_type,
        "certificate": imported.subject,
        "chain": len(bundle.chain),
    }
    app.out.result(
        data,
        lambda: app.out.line(
            f"imported key id {imported.key_id} ({imported.key_type}) with certificate "
            f"{imported.subject} into token {token_label!r}"
        ),
    )
