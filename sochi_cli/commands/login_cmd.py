"""`sochi login|logout|whoami` — the operator session (signed challenge, tokens 0600)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._signer_opts import SignerChoice, signer_parameters

if TYPE_CHECKING:
    from sochi_cli.commands._context import AppContext

EXIT_CODES = (
    "Exit codes: 0 ok; 2 bad options or a secret needed without a terminal; "
    "5 key, PIN, certificate or signature refused; 7 operator unreachable or in maintenance."
)


def register(app: typer.Typer) -> None:
    app.command(
        "login",
        epilog="Examples:\n\n"
        "  sochi login --key-file demo/representative.p12 --passphrase-file pass.txt\n\n"
        "  SOCHI_PIN=... sochi --profile production login --signer pkcs11 --token 'Rutoken ECP'\n\n"
        "  sochi login --signer cloud --inn 00105201510033 --pin-file pin --otp-file otp.fifo\n\n"
        + EXIT_CODES,
    )(login)
    app.command("logout", epilog="Example:\n\n  sochi logout\n\nExit codes: 0 ok.")(logout)
    app.command(
        "whoami",
        epilog="Example:\n\n  sochi whoami --json\n\n"
        "Exit codes: 0 ok; 5 not logged in or session expired; 7 operator unreachable.",
    )(whoami)


@signer_parameters
def login(ctx: typer.Context, chosen: SignerChoice = SignerChoice()) -> None:
    """Log in to the operator by signing a challenge with your key; keeps the session.

    The signer used is recorded in the profile (kind, key file, token and key id, E-Cloud
    credential and INN; never a PIN, passphrase or code), so `submit`, `sign`, `cert` and
    every other signing command use it without repeating the options.
    """
    from sochi_cli.services import session
    from sochi_cli.services.signers import build_signer, remembered_settings

    app = app_context(ctx)
    options = chosen.options(app)
    signer = build_signer(options, app.config)
    subscriber = session.login(app.config, signer)
    in_profile = app.config.data.get("profiles", {}).get(app.profile, {})
    remembered = _remember(app, remembered_settings(signer, options, in_profile))
    data = {
        "profile": app.profile,
        "api_url": app.config.get("api_url"),
        "subscriber": subscriber.to_json(),
        "session_file": str(session.session_path(app.profile)),
        "signer": remembered,
    }

    def render() -> None:
        app.out.info(
            f"logged in as {subscriber.name} ({subscriber.inn}, {subscriber.kind}) "
            f"on profile {app.profile}"
        )
        if remembered:
            what = ", ".join(f"{k} {v}" for k, v in remembered.items() if k != "signer")
            app.out.info(
                f"signer remembered in profile {app.profile}: {remembered['signer']}"
                + (f" ({what})" if what else "")
            )

    app.out.result(data, render)


def _remember(app: AppContext, values: dict[str, str | None]) -> dict[str, str | None]:
    """Record the signer in the profile, replacing the previous one's settings; a config
    that cannot be written only warns. Returns what is remembered now."""
    from sochi_cli.errors import SochiError
    from sochi_cli.store.config import set_profile_values

    try:
        set_profile_values(app.config, values)  # None: a setting of the previous signer, gone
    except (SochiError, OSError) as exc:
        reason = exc.one_line() if isinstance(exc, SochiError) else str(exc)
        app.out.warn(f"the signer was not remembered in the profile: {reason}")
        return {}
    return {k: v for k, v in values.items() if v is not None}


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
