"""Choose the key to sign with: a key file (development), a PKCS#11 token (RuToken) or the
E-Cloud key; prefilled from the profile. Secrets are asked later, only if needed."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from sochi_cli.tui.signing import SignerChoice

KINDS = (("file", "Key file (development only)"), ("pkcs11", "Token (RuToken, PKCS#11)"),
         ("cloud", "E-Cloud key (PIN + SMS code)"))  # fmt: skip
FIELDS = {"file": ("#key-file",), "pkcs11": ("#token", "#pkcs11-lib"),
          "cloud": ("#inn", "#credential")}  # fmt: skip
SHORT = 34  # rows below which the dialog's fields are drawn on one line each
REQUIRED = {"#key-file"}  # the others may stay empty (the only token, the usual driver…)


class SignerScreen(ModalScreen[SignerChoice | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, initial: SignerChoice, *, note: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.initial = initial
        self.note = note

    def compose(self) -> ComposeResult:
        initial = self.initial
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="question")
            if self.note:
                yield Static(self.note, classes="note")
            with RadioSet(id="kind"):
                for kind, label in KINDS:
                    yield RadioButton(label, value=kind == initial.kind, name=kind)
            yield Label("Key file (.p12/.pfx):", classes="for-file")
            yield Input(
                initial.key_file or "",
                id="key-file",
                classes="for-file",
                placeholder="path of the key file, e.g. ~/keys/representative.p12",
            )
            yield Label("Token label or serial (empty: the only token):", classes="for-pkcs11")
            yield Input(initial.token or "", id="token", classes="for-pkcs11")
            yield Label("Token driver, a PKCS#11 library (empty: the usual place):",
                        classes="for-pkcs11")  # fmt: skip
            yield Input(initial.pkcs11_lib or "", id="pkcs11-lib", classes="for-pkcs11",
                        placeholder="e.g. /usr/lib/librtpkcs11ecp.so")  # fmt: skip
            yield Static("", id="tokens", classes="for-pkcs11 note")
            yield Label("Subscriber INN and credential (empty: the only one):", classes="for-cloud")
            yield Input(initial.inn or "", id="inn", placeholder="INN", classes="for-cloud")
            yield Input(initial.credential or "", id="credential", classes="for-cloud",
                        placeholder="credential (empty: the only one)")  # fmt: skip
            yield Static("", id="signer-problem", classes="warning")
            with Horizontal(classes="buttons"):
                yield Button("Continue", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_resize(self) -> None:
        """At 24 rows everything fits in one-line fields; taller, the usual framed ones."""
        short = self.size.height < SHORT
        self.query_one(".dialog").set_class(short, "-short")
        for widget in self.query("Input, Button, RadioSet"):
            widget.compact = short  # type: ignore[attr-defined]

    def on_mount(self) -> None:
        self._show_kind(self.initial.kind)
        self.query_one("#signer-problem", Static).display = False
        self._focus_field(self.initial.kind)
        self._list_tokens(self.initial.pkcs11_lib)

    def _focus_field(self, kind: str) -> None:
        """The first empty field of `kind`, else its first (Enter there continues)."""
        fields = [self.query_one(selector, Input) for selector in FIELDS.get(kind, ())]
        empty = next((f for f in fields if not f.value.strip()), None)
        target = empty or (fields[0] if fields else self.query_one("#ok", Button))
        target.focus()

    @work(thread=True, exclusive=True, group="tokens", exit_on_error=False)
    def _list_tokens(self, driver: str | None) -> None:
        """The tokens the driver sees (PIN state included), shown under the token fields."""
        from sochi_cli.services.cert_overview import token_rows
        from sochi_cli.tui.app import SochiApp
        from sochi_cli.tui.faults import describe

        app = self.app
        if not isinstance(app, SochiApp):
            return
        if driver and not Path(driver).expanduser().is_file():
            text = f"no file at {driver}: give the path of the token's PKCS#11 library"
        else:
            try:
                library, rows = token_rows(app.ctx.config, driver or None)
                text = "tokens: " + (
                    ", ".join(f"{r.label} ({r.pin_text})" for r in rows) or f"none ({library})"
                )
            except Exception as exc:
                fault = describe(exc)
                text = fault.one_line()
                if fault.code.startswith("pkcs11_library"):
                    text = f"{fault.message} — install the RuToken driver, or type its path above"
        app.call_from_thread(self._show_tokens, text)

    def _show_tokens(self, text: str) -> None:
        if self.is_attached:  # the dialog may have been answered meanwhile
            self.query_one("#tokens", Static).update(text)

    def _kind(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        return str(pressed.name) if pressed is not None and pressed.name else self.initial.kind

    def _show_kind(self, kind: str) -> None:
        for other, _label in KINDS:
            for widget in self.query(f".for-{other}"):
                widget.display = other == kind

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self._show_kind(self._kind())
        self._problem(None)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "pkcs11-lib":
            self._list_tokens(event.value.strip() or None)

    def on_input_submitted(self) -> None:
        self._finish()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._finish()
        else:
            self.dismiss(None)

    def _problem(self, text: str | None, field: str | None = None) -> None:
        """Say what is missing under the fields and put the cursor where it goes."""
        problem = self.query_one("#signer-problem", Static)
        problem.update(text or "")
        problem.display = bool(text)
        if field is not None:
            self.query_one(field, Input).focus()

    def _finish(self) -> None:
        def value(selector: str) -> str | None:
            text = self.query_one(selector, Input).value.strip()
            return text or None

        kind = self._kind()
        for selector in FIELDS.get(kind, ()):
            given = value(selector)
            if given is None and selector in REQUIRED:
                self._problem("Type the path of your key file (.p12 or .pfx).", selector)
                return
            is_path = selector in ("#key-file", "#pkcs11-lib")
            if given is not None and is_path and not Path(given).expanduser().is_file():
                self._problem(f"No file at {given}: check the path.", selector)
                return
        self.dismiss(
            SignerChoice(
                kind=kind,
                key_file=value("#key-file"),
                token=value("#token"),
                credential=value("#credential"),
                inn=value("#inn"),
                pkcs11_lib=value("#pkcs11-lib"),
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["SignerScreen"]
