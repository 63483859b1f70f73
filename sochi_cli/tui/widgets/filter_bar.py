"""The filter-as-you-type line above a table: `/` focuses it, Esc goes back to the table."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input


class FilterBar(Input):
    """An Input that filters the table below it; Esc (or Enter) hands focus back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back to the table", show=False),
    ]

    def __init__(self, placeholder: str, *, id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id, compact=True)

    def action_leave(self) -> None:
        if self.value:
            self.value = ""
        else:
            self.screen.focus_next()

    def on_input_submitted(self) -> None:
        self.screen.focus_next()


__all__ = ["FilterBar"]
