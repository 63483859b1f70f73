"""The filter-as-you-type line above a table: `/` focuses it, Esc goes back to the table."""

from __future__ import annotations

from textual.widgets import Input


class FilterBar(Input):
    """An Input that filters the table below it; Enter (or the screen's Esc) hands focus back."""

    def __init__(self, placeholder: str, *, id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id, compact=True)

    def leave(self) -> None:
        """Esc: clear the filter, or (when it is empty) go back to the table."""
        if self.value:
            self.value = ""
        else:
            self.screen.focus_next()

    def on_input_submitted(self) -> None:
        self.screen.focus_next()


__all__ = ["FilterBar"]
