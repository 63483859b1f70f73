"""An inline panel saying what went wrong and what to do (hidden while all is well)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from sochi_cli.tui.faults import Fault


class FaultPanel(Static):
    """Shows one `Fault`: its title, the message, the hint and the key that helps."""

    DEFAULT_CSS = """
    FaultPanel { display: none; }
    FaultPanel.-shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.fault: Fault | None = None

    def show(self, fault: Fault) -> None:
        self.fault = fault
        text = Text()
        text.append(f"{fault.title}: ", style="bold")
        text.append(fault.message)
        if fault.hint:
            text.append(f"\n→ {fault.hint}", style="italic")
        self.update(text)
        self.set_class(True, "-shown")
        for severity in ("error", "warning", "information"):
            self.set_class(severity == fault.severity, f"-{severity}")

    def clear(self) -> None:
        self.fault = None
        self.update("")
        self.set_class(False, "-shown")


__all__ = ["FaultPanel"]
