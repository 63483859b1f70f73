"""The signer a TUI action uses: chosen in `SignerScreen`, secrets asked in a masked modal
only when the key needs them (or taken from SOCHI_PIN / SOCHI_KEY_PASSPHRASE, as the CLI
does), from the worker thread that signs. The E-Cloud one-time code is always asked: the
operator sends a new one for each authorisation, so no variable can hold it ahead of time."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sochi_cli.services.signers import SignerOptions
    from sochi_cli.tui.context import TuiContext


@dataclass(frozen=True)
class SignerChoice:
    """What the signer dialog returns: which key, never a secret."""

    kind: str  # file | pkcs11 | cloud
    key_file: str | None = None
    token: str | None = None
    credential: str | None = None
    inn: str | None = None
    pkcs11_lib: str | None = None  # the token's driver, when not where the profile says

    def describe(self) -> str:
        if self.kind == "file":
            return f"key file {self.key_file}"
        if self.kind == "pkcs11":
            return f"token {self.token or '(the only one)'}"
        return f"E-Cloud key of {self.inn}"


def _secret(
    app: Any, env: str | None, what: str, note: Callable[[], tuple[str | None, bool]]
) -> str:
    from sochi_cli.logs import register_secret
    from sochi_cli.tui.screens.base import ask_from_thread
    from sochi_cli.tui.screens.secret import SecretScreen

    value = os.environ.get(env) if env else None
    if value:
        register_secret(value)
        return value
    text, warning = note()
    answer: str = ask_from_thread(app, SecretScreen(what, note=text, warning=warning))
    return answer


def token_pin_note(
    ctx: TuiContext, token: str | None, driver: str | None = None
) -> tuple[str | None, bool]:
    """What the token says about its PIN (tries left), asked without the PIN."""
    from sochi_cli.errors import SochiError
    from sochi_cli.services.cert_overview import token_rows

    try:
        _library, rows = token_rows(ctx.config, driver)
    except SochiError as err:
        return err.one_line(), True
    row = next((r for r in rows if token in (None, r.label, r.serial)), None)
    if row is None:
        return None, False
    return f"token {row.label}: {row.pin_text}", row.pin_state != "ok"


def signer_options(app: Any, ctx: TuiContext, choice: SignerChoice) -> SignerOptions:
    from sochi_cli.services.signers import SignerOptions

    def pin() -> str:
        if choice.kind == "pkcs11":
            return _secret(
                app,
                "SOCHI_PIN",
                "Token PIN",
                lambda: token_pin_note(ctx, choice.token, choice.pkcs11_lib),
            )
        return _secret(app, "SOCHI_PIN", "E-Cloud PIN", lambda: (None, False))

    def passphrase() -> str:
        return _secret(
            app, "SOCHI_KEY_PASSPHRASE", "Key file passphrase", lambda: (choice.key_file, False)
        )

    def otp() -> str:
        return _secret(
            app,
            None,
            "One-time code",
            lambda: ("the code the operator has just sent by SMS", False),
        )

    return SignerOptions(
        kind=choice.kind,
        key_file=Path(choice.key_file).expanduser() if choice.key_file else None,
        pkcs11_lib=choice.pkcs11_lib,
        token=choice.token,
        credential=choice.credential,
        user_id=choice.inn,
        passphrase=passphrase,
        passphrase_source="SOCHI_KEY_PASSPHRASE"
        if os.environ.get("SOCHI_KEY_PASSPHRASE")
        else "the passphrase you typed",
        pin=pin,
        otp=otp,
    )


def signer_factory(app: Any, ctx: TuiContext, choice: SignerChoice) -> Callable[[], Any]:
    """A factory the batch engine calls (in the worker) only when something needs signing."""

    def build() -> Any:
        from sochi_cli.services.signers import build_signer

        return build_signer(signer_options(app, ctx, choice), ctx.config)

    return build


def default_choice(ctx: TuiContext) -> SignerChoice:
    config = ctx.config
    return SignerChoice(
        kind=str(config.get("signer") or "file"),
        key_file=config.get("key_file"),
        token=config.get("token_label"),
        credential=config.get("cloud_credential"),
        inn=config.get("inn"),
        pkcs11_lib=config.get("pkcs11_lib"),
    )


__all__ = ["SignerChoice", "default_choice", "signer_factory", "signer_options", "token_pin_note"]
