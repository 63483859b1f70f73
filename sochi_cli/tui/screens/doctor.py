"""Doctor: the diagnostics service's checks with their fixes, re-runnable, and a support
bundle. The diagnostics service (issue 11) is not part of this build yet: the screen says so
and points at the checks the other screens already make, instead of pretending."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from sochi_cli.tui.screens.base import SochiScreen

NOT_YET = (
    "The diagnostics service (`sochi doctor`) is not in this build yet.\n\n"
    "Until it is, the same facts are on these screens:\n"
    "  • operator reachable, maintenance, clock — the header (and `sochi status`)\n"
    "  • session and account — 1 Home (L logs in)\n"
    "  • token, PIN state, certificate, chain, CRL — 7 Certificates & token\n"
    "  • journal — 5 Batches; archive — 0 Archive (v verifies); audit chain — 9 Audit (v)\n"
)


class DoctorScreen(SochiScreen):
    MODE = "doctor"
    TITLE = "Doctor"
    SUMMARY = "Checks of this machine, the key and the operator, with their fixes."
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reload", "Refresh")]

    def body(self) -> ComposeResult:
        yield Static(Text(NOT_YET), id="doctor-body", classes="empty")


__all__ = ["DoctorScreen"]
