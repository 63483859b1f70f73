"""Doctor: the diagnostics service's checks (setup, network, operator, signing, account,
clients, access, recent trouble), each with its clause and its fix; re-run them, run them
offline, and write a masked support bundle."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from sochi_cli.tui.screens.base import TableScreen
from sochi_cli.tui.widgets.record_table import Column, Record

if TYPE_CHECKING:
    from sochi_cli.services.diagnostics import DoctorReport, Finding, Step

RESULT_TAGS = {"ok": "ok", "warn": "warning", "fail": "error", "skipped": "muted"}


def finding_record(finding: Finding) -> Record:
    return Record(
        finding.id,
        (str(finding.result), finding.group, finding.title, finding.summary),
        RESULT_TAGS.get(str(finding.result), ""),
    )


def finding_text(finding: Finding) -> Text:
    text = Text()
    text.append(f"{finding.title}\n", style="bold")
    style = {"ok": "green", "warn": "yellow", "fail": "bold red"}.get(str(finding.result), "dim")
    text.append(f"{str(finding.result).upper()}", style=style)
    text.append(f" · {finding.id}")
    if finding.clause:
        text.append(f" · clause {finding.clause}")
    text.append(f"\n\n{finding.summary}\n")
    if finding.fix:
        text.append("\nFix: ", style="bold")
        text.append(f"{finding.fix}\n", style="bold cyan")
    for key, value in finding.evidence.items():
        text.append(f"\n{key}: ", style="dim")
        text.append(str(value), style="dim")
    return text


class DoctorScreen(TableScreen):
    MODE = "doctor"
    TITLE = "Doctor"
    SUMMARY = "Why a filing does not go through: every check with its clause and its fix."
    FILTER_HINT = "filter checks (fail, warn, network, signing…)"
    EMPTY = "press r to run the checks"
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("result", "Result", 7),
        Column("group", "Group", 14),
        Column("title", "Check", 30),
        Column("summary", "What was found", 60),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Run the checks"),
        Binding("o", "offline", "Run offline"),
        Binding("b", "bundle", "Support bundle"),
        Binding("escape", "stop", "Stop", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: DoctorReport | None = None
        self.findings: list[Finding] = []
        self.cancel = threading.Event()

    def body(self) -> ComposeResult:
        with Horizontal(classes="split -narrow"):
            with Vertical(classes="master"):
                yield from self.table_area()
            with VerticalScroll(classes="detail"):
                yield Static("the highlighted check's details and fix", id="doctor-finding")

    def reload(self) -> None:
        self.run_checks(offline=False)

    def action_offline(self) -> None:
        self.run_checks(offline=True)

    def run_checks(self, *, offline: bool) -> None:
        from sochi_cli.services.diagnostics import DoctorOptions, run_doctor

        self.cancel = threading.Event()
        cancel = self.cancel
        self.findings = []
        self.table.set_records([])
        options = DoctorOptions(profile=self.ctx.profile, offline=offline, cancelled=cancel.is_set)

        def step(progress: Step) -> None:
            self.app.call_from_thread(self._step, progress)

        self.update_caption("checking… (Esc stops)")
        self.run_blocking(lambda: run_doctor(options, progress=step), self.show, group="doctor")

    def _step(self, progress: Step) -> None:
        if progress.finding is None:
            self.update_caption(
                f"{progress.index + 1}/{progress.total} {progress.title}… (Esc stops)"
            )
            return
        self.findings.append(progress.finding)
        self.table.set_records([finding_record(f) for f in self.findings])

    def show(self, report: DoctorReport) -> None:
        self.report = report
        self.findings = list(report.findings)
        self.table.set_records([finding_record(f) for f in self.findings])
        counts = " · ".join(f"{k} {v}" for k, v in sorted(report.counts().items()) if v)
        self.update_caption(f"{report.worst}: {counts} · b writes a support bundle")
        first_bad = next((f for f in self.findings if str(f.result) in ("fail", "warn")), None)
        if first_bad is not None:
            self.table.move_to_key(first_bad.id)
        self._show_finding(self.table.current_key)

    def on_record_table_highlighted(self, event: Any) -> None:
        super().on_record_table_highlighted(event)
        self._show_finding(event.key)

    def _show_finding(self, key: str | None) -> None:
        finding = next((f for f in self.findings if f.id == key), None)
        if finding is not None:
            self.query_one("#doctor-finding", Static).update(finding_text(finding))

    def action_stop(self) -> None:
        self.cancel.set()

    def action_bundle(self) -> None:
        from sochi_cli.services.diagnostics_bundle import write_bundle
        from sochi_cli.timeutil import utcnow

        report = self.report
        if report is None:
            self.notify("run the checks first (r)", severity="warning")
            return
        path = Path.cwd() / f"sochi-doctor-{utcnow():%Y%m%d-%H%M%S}.zip"

        def done(info: Any) -> None:
            self.notify(f"support bundle written (masked): {path}", timeout=10)

        self.run_blocking(lambda: write_bundle(path, report, mask=True), done, group="bundle")


__all__ = ["DoctorScreen", "finding_record", "finding_text"]
