"""Live progress of a batch: the phase, a bar, counts per item state, the maintenance wait."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

PHASES = ("plan", "validate", "preflight", "sign", "send", "follow")
PHASE_TEXT = {
    "plan": "planning (reading the reports)",
    "validate": "validating (schema, POA)",
    "preflight": "checking the cost against the balance",
    "sign": "signing (one token session)",
    "send": "sending (each with its idempotency key)",
    "follow": "waiting for the agencies' verdicts",
    "maintenance": "operator maintenance — waiting for the window to end",
}


def phases_line(current: str) -> Text:
    text = Text()
    seen = current not in PHASES
    for phase in PHASES:
        if phase == current:
            text.append(f"▶ {phase} ", style="bold reverse")
            seen = True
        elif not seen:
            text.append(f"✓ {phase} ", style="green")
        else:
            text.append(f"· {phase} ", style="dim")
    return text


class BatchProgress(Vertical):
    """Repainted by the engine's progress events; a `stopping` note stays until the end."""

    stopping: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="progress-phases")
        yield ProgressBar(total=None, show_eta=True, id="progress-bar")
        yield Static("", id="progress-counts")

    def show_event(self, event: Any) -> None:
        from sochi_cli.tui.widgets.status_header import countdown

        self.query_one("#progress-phases", Static).update(phases_line(event.phase))
        bar = self.query_one(ProgressBar)
        bar.update(total=event.total or None, progress=event.done)
        text = Text(PHASE_TEXT.get(event.phase, event.phase), style="bold")
        if event.phase == "maintenance" and event.seconds_left is not None:
            text.append(f" · {countdown(event.seconds_left)} left")
        if event.counts:
            text.append("   ")
            text.append(" · ".join(f"{k} {v}" for k, v in sorted(event.counts.items()) if v))
        if event.message:
            text.append(f"   {event.message}", style="italic")
        if self.stopping:  # what is in flight still reports: the stop stays said
            text.append(f"\n{self.stopping}", style="bold yellow")
        self.query_one("#progress-counts", Static).update(text)

    def start(self) -> None:
        """A new run: no stop asked yet."""
        self.stopping = None

    def stop_asked(self, message: str) -> None:
        self.stopping = message
        self.query_one("#progress-counts", Static).update(Text(message, style="bold yellow"))


__all__ = ["BatchProgress", "phases_line"]
