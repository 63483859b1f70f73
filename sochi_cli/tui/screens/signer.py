"""Choose the key to sign with: a key file (development), a PKCS#11 token (RuToken) or the
E-Cloud key; prefilled from the profile. Secrets are asked later, only if needed."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from sochi_cli.tui.signing import SignerChoice

KINDS = (("file", "Key file (development only)"), ("pkcs11", "Token (RuToken, PKCS#11)"),
         ("cloud", "E-Cloud key (PIN + SMS code)"))  # fmt: skip


class SignerScreen(ModalScreen[SignerChoice | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, initial: SignerChoice, *, note: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.initial = initial
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="question")
            if self.note:
                yield Static(self.note, classes="note")
            with RadioSet(id="kind"):
                for kind, label in KINDS:
                    yield RadioButton(label, value=kind == self.initial.kind, name=kind)
            yield Label("Key file (.p12/.pfx):", classes="for-file")
            yield Input(self.initial.key_file or "", id="key-file", classes="for-file")
            yield Label("Token label or serial (empty: the only token):", classes="for-pkcs11")
            yield Input(self.initial.token or "", id="token", classes="for-pkcs11")
            yield Static("", id="tokens", classes="for-pkcs11 note")
            yield Label("Subscriber INN and credential (empty: the only one):", classes="for-cloud")
            yield Input(self.initial.inn or "", id="inn", placeholder="INN", classes="for-cloud")
            yield Input(self.initial.credential or "", id="credential", classes="for-cloud")
            with Horizontal(classes="buttons"):
                yield Button("Continue", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self._show_kind(self.initial.kind)
        self.query_one("#ok", Button).focus()
        self.run_worker(self._list_tokens, thread=True)

    def _list_tokens(self) -> None:
        from sochi_cli.errors import SochiError
        from sochi_cli.services.cert_overview import token_rows
        from sochi_cli.tui.app import SochiApp

        app = self.app
        if not isinstance(app, SochiApp):
            return
        try:
            library, rows = token_rows(app.ctx.config)
            text = "tokens: " + (
                ", ".join(f"{r.label} ({r.pin_text})" for r in rows) or f"none ({library})"
            )
        except SochiError as err:
            text = err.one_line()
        self.app.call_from_thread(self.query_one("#tokens", Static).update, text)

    def _kind(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        return str(pressed.name) if pressed is not None and pressed.name else self.initial.kind

    def _show_kind(self, kind: str) -> None:
        for other, _label in KINDS:
            for widget in self.query(f".for-{other}"):
                widget.display = other == kind

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self._show_kind(self._kind())

    def on_input_submitted(self) -> None:
        self._finish()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._finish()
        else:
            self.dismiss(None)

    def _finish(self) -> None:
        def value(selector: str) -> str | None:
            text = self.query_one(selector, Input).value.strip()
            return text or None

        self.dismiss(
            SignerChoice(
                kind=self._kind(),
                key_file=value("#key-file"),
                token=value("#token"),
                credential=value("#credential"),
                inn=value("#inn"),
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["SignerScreen"]
