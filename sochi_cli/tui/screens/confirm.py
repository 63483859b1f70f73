"""A yes/no question, or — for what cannot be undone — a question answered by typing a word."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    """Dismissed with True only by the confirm button (or by typing `typed` exactly)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, *, confirm_label: str = "Yes", typed: str | None = None):
        super().__init__()
        self.question = question
        self.confirm_label = confirm_label
        self.typed = typed

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question")
            if self.typed is not None:
                yield Label(f"Type {self.typed} to confirm:")
                yield Input(id="typed", placeholder=self.typed)
            with Horizontal(classes="buttons"):
                yield Button(
                    self.confirm_label,
                    id="confirm",
                    variant="error",
                    disabled=self.typed is not None,
                )
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        target = "#typed" if self.typed is not None else "#cancel"
        self.query_one(target).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value.strip() != self.typed

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.typed:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)


__all__ = ["ConfirmScreen"]
