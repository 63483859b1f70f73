"""`sochi login|logout|whoami` — the operator session (signed challenge, tokens 0600)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sochi_cli.commands._context import app_context

if TYPE_CHECKING:
    from sochi_cli.commands._context import AppContext
    from sochi_cli.services.signers import SignerOptions

EXIT_CODES = (
    "Exit codes: 0 ok; 2 bad options or a secret needed without a terminal; "
    "5 key, PIN, certificate or signature refused; 7 operator unreachable or in maintenance."
)


def register(app: typer.Typer) -> None:
    app.command(
        "login",
        epilog="Examples:\n\n  sochi login --key-file demo/representative.p12  "
        "(passphrase from SOCHI_KEY_PASSPHRASE)\n\n"
        "  SOCHI_PIN=... sochi --profile production login --signer pkcs11\n\n" + EXIT_CODES,
    )(login)
    app.command("logout", epilog="Example:\n\n  sochi logout\n\nExit codes: 0 ok.")(logout)
    app.command(
        "whoami",
        epilog="Example:\n\n  sochi whoami --json\n\n"
        "Exit codes: 0 ok; 5 not logged in or session expired; 7 operator unreachable.",
    )(whoami)


def login(
    ctx: typer.Context,
    signer: Annotated[
        str | None,
        typer.Option("--signer", help="file, pkcs11 or cloud (default: the profile's signer)."),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="file signer: .p12/.pfx or PEM key (SOCHI_KEY_FILE)."),
    ] = None,
    cert_file: Annotated[
        Path | None, typer.Option("--cert-file", help="file signer: certificate of a PEM key.")
    ] = None,
    passphrase_file: Annotated[
        Path | None,
        typer.Option("--passphrase-file", help="key passphrase file (or SOCHI_KEY_PASSPHRASE)."),
    ] = None,
    pin_file: Annotated[
        Path | None, typer.Option("--pin-file", help="token/E-Cloud PIN file (or SOCHI_PIN).")
    ] = None,
    otp_file: Annotated[
        Path | None, typer.Option("--otp-file", help="E-Cloud one-time code file (or SOCHI_OTP).")
    ] = None,
    pkcs11_lib: Annotated[
        str | None, typer.Option("--pkcs11-lib", help="PKCS#11 library (RuToken driver).")
    ] = None,
    token: Annotated[str | None, typer.Option("--token", help="token label or serial.")] = None,
    key_id: Annotated[str | None, typer.Option("--key-id", help="key on the token.")] = None,
    credential: Annotated[
        str | None, typer.Option("--credential", help="E-Cloud credential id.")
    ] = None,
    inn: Annotated[
        str | None, typer.Option("--inn", envvar="SOCHI_INN", help="E-Cloud: your INN.")
    ] = None,
) -> None:
    """Log in to the operator by signing a challenge with your key; keeps the session."""
    from sochi_cli.services import session
    from sochi_cli.services.signers import build_signer

    app = app_context(ctx)
    options = _signer_options(
        signer,
        key_file,
        cert_file,
        passphrase_file,
        pin_file,
        otp_file,
        pkcs11_lib,
        token,
        key_id,
        credential,
        inn,
    )
    subscriber = session.login(app.config, build_signer(options, app.config))
    data = {
        "profile": app.profile,
        "api_url": app.config.get("api_url"),
        "subscriber": subscriber.to_json(),
        "session_file": str(session.session_path(app.profile)),
    }
    app.out.result(
        data,
        lambda: app.out.info(
            f"logged in as {subscriber.name} ({subscriber.inn}, {subscriber.kind}) "
            f"on profile {app.profile}"
        ),
    )


def _signer_options(
    kind: str | None,
    key_file: Path | None,
    cert_file: Path | None,
    passphrase_file: Path | None,
    pin_file: Path | None,
    otp_file: Path | None,
    pkcs11_lib: str | None,
    token: str | None,
    key_id: str | None,
    credential: str | None,
    inn: str | None,
) -> SignerOptions:
    from sochi_cli.commands._prompts import read_secret
    from sochi_cli.services.signers import SignerOptions

    def passphrase() -> str:
        return read_secret(
            what="key passphrase",
            env="SOCHI_KEY_PASSPHRASE",
            file_flag="--passphrase-file",
            path=passphrase_file,
        )

    def pin() -> str:
        return read_secret(what="PIN", env="SOCHI_PIN", file_flag="--pin-file", path=pin_file)

    def otp() -> str:
        return read_secret(
            what="one-time code", env="SOCHI_OTP", file_flag="--otp-file", path=otp_file
        )

    return SignerOptions(
        kind=kind,
        key_file=key_file,
        cert_file=cert_file,
        pkcs11_lib=pkcs11_lib,
        token=token,
        key_id=key_id,
        credential=credential,
        user_id=inn,
        passphrase=passphrase,
        pin=pin,
        otp=otp,
    )


def logout(ctx: typer.Context) -> None:
    """End the session at the operator and delete the stored tokens of this profile."""
    from sochi_cli.services import session

    app = app_context(ctx)
    had = session.logout(app.config)
    app.out.result(
        {"profile": app.profile, "logged_out": had},
        lambda: app.out.info(
            f"logged out of profile {app.profile}" if had else f"no session on {app.profile}"
        ),
    )


def whoami(ctx: typer.Context) -> None:
    """Who the session belongs to, confirmed by the operator (refreshes if needed)."""
    from sochi_cli.api import resources
    from sochi_cli.commands._operator import connect
    from sochi_cli.services import session

    app = app_context(ctx)
    info = session.session_info(app.config)
    with connect(app) as client:
        account = client.call(resources.account.get())
    info = session.session_info(app.config)  # the tokens may have been refreshed
    data = {
        **info.to_json(),
        "inn": account.inn,
        "name": account.name,
        "kind": account.kind,
        "registration": account.registration.state,
    }
    _render_whoami(app, data)


def _local(value: object) -> object:
    from sochi_cli.timeutil import parse_instant

    return parse_instant(value) if isinstance(value, str) else value


def _render_whoami(app: AppContext, data: dict[str, object]) -> None:
    subscriber = data.get("subscriber")
    person = subscriber.get("person") if isinstance(subscriber, dict) else None
    pairs = [
        ("inn", data["inn"]),
        ("name", data["name"]),
        ("kind", data["kind"]),
        ("registration", data["registration"]),
        ("person", person.get("name") if isinstance(person, dict) else None),
        ("profile", data["profile"]),
        ("api_url", data["api_url"]),
        ("session", data["source"]),
        ("access expires", _local(data["access_expires_at"])),
    ]
    app.out.result(data, lambda: app.out.fields(pairs))


__all__ = ["register"]
