"""Answer an agency's request: the answer document and any attachments (paths typed with
completion, → accepts); they are signed and sent after this dialog (`sochi inbox reply`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, Static


class PathSuggester(Suggester):
    """Completes the last path of the line from the folder it names (`~` understood)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        last = value.rpartition(",")[2]
        typed = last.lstrip()
        if not typed:
            return None
        path = Path(os.path.expanduser(typed))
        folder, stem = (path, "") if typed.endswith("/") else (path.parent, path.name)
        try:
            names = sorted(e.name for e in os.scandir(folder) if not e.name.startswith("."))
        except OSError:
            return None
        match = next((n for n in names if n.startswith(stem) and n != stem), None)
        if match is None:
            return None
        return value + match[len(stem) :]


@dataclass(frozen=True)
class ReplyChoice:
    document: Path
    attachments: tuple[Path, ...]


class ReplyScreen(ModalScreen[ReplyChoice | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, item_id: str, subject: str) -> None:
        super().__init__()
        self.item_id = item_id
        self.subject = subject

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Answer {self.item_id}", classes="question")
            yield Static(self.subject, classes="note")
            yield Label("The answer (a file; it is signed and sent):")
            yield Input(
                id="document", placeholder="~/answers/answer.xml", suggester=PathSuggester()
            )
            yield Label("Attachments (optional; separate files with commas):")
            yield Input(
                id="attachments", placeholder="scan.pdf, table.xlsx", suggester=PathSuggester()
            )
            yield Static("", id="reply-problem", classes="warning")
            with Horizontal(classes="buttons"):
                yield Button("Sign and send", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#document", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "document":
            self.query_one("#attachments", Input).focus()
        else:
            self._finish()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._finish()
        else:
            self.dismiss(None)

    def _finish(self) -> None:
        def path(text: str) -> Path:
            return Path(os.path.expanduser(text.strip()))

        document = self.query_one("#document", Input).value.strip()
        attached = self.query_one("#attachments", Input).value
        problem = self.query_one("#reply-problem", Static)
        if not document:
            problem.update("name the file with your answer")
            self.query_one("#document", Input).focus()
            return
        paths = [path(document), *(path(p) for p in attached.split(",") if p.strip())]
        missing = next((p for p in paths if not p.is_file()), None)
        if missing is not None:
            problem.update(f"{missing}: no such file")
            return
        self.dismiss(ReplyChoice(paths[0], tuple(paths[1:])))

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["PathSuggester", "ReplyChoice", "ReplyScreen"]
