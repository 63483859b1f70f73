"""A masked prompt for a PIN, passphrase or one-time code, with what the token says about it."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class SecretScreen(ModalScreen[str | None]):
    """Dismissed with the secret (never shown, never logged) or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, what: str, *, note: str | None = None, warning: bool = False) -> None:
        super().__init__()
        self.what = what
        self.note = note
        self.warning = warning

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"{self.what}:", classes="question")
            if self.note:
                yield Static(self.note, classes="warning" if self.warning else "note")
            yield Input(password=True, id="secret", placeholder=self.what)
            yield Static("Enter to continue · Esc to cancel (nothing is signed)", classes="note")

    def on_mount(self) -> None:
        self.query_one("#secret", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value:
            from sochi_cli.logs import register_secret

            register_secret(event.value)
            self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["SecretScreen"]
