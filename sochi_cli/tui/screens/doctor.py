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
    """A check whole: result, clause, what was found, the fix, the evidence as lines (certificate
    names with their attributes named, as `cert show` writes them)."""
    from sochi_cli.names import readable_dn

    text = Text()
    text.append(f"{finding.title}\n", style="bold")
    style = {"ok": "green", "warn": "yellow", "fail": "bold red"}.get(str(finding.result), "dim")
    text.append(f"{str(finding.result).upper()}", style=style)
    text.append(f" · {finding.id}")
    if finding.clause:
        text.append(f" · clause {finding.clause}")
    text.append(f"\n\n{readable_dn(finding.summary)}\n")
    if finding.fix:
        text.append("\nFix: ", style="bold")
        text.append(f"{finding.fix}\n", style="bold cyan")
    if finding.evidence:
        from sochi_cli.services.diagnostics import evidence_lines

        text.append("\nEvidence\n", style="bold dim")
        text.append("\n".join(evidence_lines(finding)), style="dim")
    return text


class DoctorScreen(TableScreen):
    MODE = "doctor"
    TITLE = "Doctor"
    SUMMARY = "Why a filing does not go through: every check with its clause and its fix."
    FILTER_HINT = "filter checks (fail, warn, network, signing…)"
    EMPTY = "press r to run the checks"
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("result", "Result", 7),
        Column("group", "Group", 14, drop=1),
        Column("title", "Check", 24, whole=True),
        Column("summary", "What was found", 20, flex=True),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Run again"),
        Binding("o", "offline", "Run offline"),
        Binding("b", "bundle", "Support bundle"),
    ]
    OPEN_HINT = ""  # the highlighted check's details show by themselves

    def __init__(self) -> None:
        super().__init__()
        self.report: DoctorReport | None = None
        self.findings: list[Finding] = []
        self.cancel = threading.Event()
        self.running = False

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

        self.cancel.set()  # a run still going stops; its results are dropped
        self.cancel = threading.Event()
        cancel = self.cancel
        self.findings = []
        self.table.set_records([])
        options = DoctorOptions(profile=self.ctx.profile, offline=offline, cancelled=cancel.is_set)

        def step(progress: Step) -> None:
            if not cancel.is_set():  # a stopped or replaced run reports nothing more
                self.app.call_from_thread(self._step, progress)

        self.running = True
        self.update_caption("checking… (Ctrl+C stops)")
        self.run_blocking(
            lambda: run_doctor(options, progress=step),
            self.show,
            group="doctor",
            failed=lambda _fault: self._stopped(),
        )

    def _stopped(self) -> None:
        self.running = False
        self.update_caption("not run · r runs the checks")

    def _step(self, progress: Step) -> None:
        if progress.finding is None:
            self.update_caption(
                f"{progress.index + 1}/{progress.total} {progress.title}… (Ctrl+C stops)"
            )
            return
        self.findings.append(progress.finding)
        self.table.set_records([finding_record(f) for f in self.findings])

    def show(self, report: DoctorReport) -> None:
        self.running = False
        self.report = report
        self.findings = list(report.findings)
        self.table.set_records([finding_record(f) for f in self.findings])
        counts = report.counts()
        words = (("fail", "failed"), ("warn", "warning(s)"), ("ok", "ok"), ("skipped", "skipped"))
        said = " · ".join(f"{counts[k]} {word}" for k, word in words if counts.get(k))
        self.update_caption(f"{said} · b writes a support bundle")
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

    def interrupt(self) -> bool:
        """Ctrl+C while the checks run: stop after the current one (the rest are skipped)."""
        if not self.running:
            return False
        self.cancel.set()
        self.update_caption("stopping after the current check…")
        return True

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
