"""File reports: pick files or a folder → every file checked (errors shown against the report
line) → cost against the balance → signer and PIN → live progress per phase → a summary of
what to fix. The batch engine runs unchanged, so a batch started here resumes with
`sochi batch resume` and the other way round; Ctrl+C stops it cleanly like the CLI."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, Static

from sochi_cli.tui.screens.base import SochiScreen, ask_from_thread
from sochi_cli.tui.widgets.batch_progress import BatchProgress
from sochi_cli.tui.widgets.record_table import Column, Record, RecordTable
from sochi_cli.tui.widgets.report_picker import ReportPicker

PROGRESS_EVERY = 0.1  # seconds between repaints of the progress (phase changes always show)
NEEDS_ATTENTION = ("invalid", "failed", "rejected")


STOPPED_BY = {"signal": "Ctrl+C", "maintenance": "the maintenance window",
              "unavailable": "the operator unavailable"}  # fmt: skip


def check_record(check: Any) -> Record:
    state = "ok" if check.ok else (check.error_code or "invalid")
    problem = check.error or ""
    if problem.startswith(f"{check.file}:"):  # the file is in its own column
        problem = problem[len(check.file) + 1 :].lstrip()
        if problem[:1].isdigit():
            problem = "line " + problem
    return Record(
        check.file,
        (Path(check.file).name, check.client_inn, check.form, check.period, state, problem),
        "" if check.ok else "error",
    )


def issues_text(check: Any) -> Text:
    text = Text()
    text.append(f"{check.file}\n", style="bold")
    if check.ok:
        text.append("passes the form's checks and the POA check", style="green")
        return text
    text.append(f"{check.error_code}: {check.error}\n", style="bold red")
    for issue in check.issues:
        where = f"line {issue.line}" if issue.line else "file"
        text.append(f"\n{where} · {issue.path} · {issue.message} [{issue.rule}]\n", style="red")
        for number, line in issue.context:
            mark = "▶" if number == issue.line else " "
            text.append(f" {mark}{number:>5} │ {line}\n", style="bold" if mark == "▶" else "dim")
    return text


def cost_text(preview: Any) -> Text:
    from sochi_cli.services.account import som

    text = Text()
    cost = preview.cost
    valid, total = preview.valid, len(preview.checks)
    text.append(f"{valid} of {total} report(s) can be filed", style="bold")
    if cost is not None:
        text.append(f" · cost {som(cost.required)} {cost.currency}")
        if cost.balance is not None:
            text.append(f" · balance {som(cost.balance)} {cost.currency}")
        if cost.shortfall:
            text.append(
                f" · {som(cost.shortfall)} {cost.currency} SHORT: top up first",
                style="bold red",
            )
    for problem in preview.problems:
        text.append(f"\n{problem.get('where')}: {problem.get('message')}", style="red")
    if valid:
        text.append("\nf: sign and file the valid ones · b: back to the files", style="italic")
    else:
        text.append("\nnothing to file: fix the reports and check again (b)", style="italic")
    return text


def summary_renderable(result: Any, rows: list[dict[str, Any]]) -> Group:
    from sochi_cli.services.account import som

    head = Text()
    style = "bold green" if int(result.exit_code) == 0 else "bold yellow"
    head.append(f"Batch {result.batch_id}: {result.status}", style=style)
    head.append(f" in {result.seconds:.1f}s\n")
    head.append(" · ".join(f"{k} {v}" for k, v in sorted(result.counts.items())) or "nothing")
    if result.already_filed:
        head.append(f" · already filed before: {result.already_filed}")
    if result.cost is not None:
        head.append(f"\ncost {som(result.cost.required)} {result.cost.currency}")
    parts: list[Any] = [head]
    if result.interrupted:
        parts.append(
            Text(
                f"\nStopped by {STOPPED_BY.get(result.stopped_by, result.stopped_by)} with "
                f"{result.remaining} item(s) left: press R "
                f"to resume here, or run `sochi batch resume {result.batch_id}`. Nothing is "
                "filed twice.",
                style="bold yellow",
            )
        )
    fix = [r for r in rows if r["state"] in NEEDS_ATTENTION]
    if fix:
        parts.append(Text("\nWhat to fix:", style="bold underline"))
        for row in fix:
            line = Text(f"  {Path(str(row['file'])).name} ", style="bold")
            line.append(f"{row['client_inn']} {row['form']} {row['period']}: ")
            line.append(f"{row['state']} — {row.get('error') or row.get('error_code') or ''}",
                        style="red")  # fmt: skip
            parts.append(line)
    elif not result.interrupted:
        parts.append(
            Text("\nEverything was filed. Receipts are in the archive (0).", style="green")
        )
    parts.append(Text("\nb: file more · 5: batches · 3: submissions", style="italic"))
    return Group(*parts)


class FileReportsScreen(SochiScreen):
    MODE = "file"
    TITLE = "File reports"
    SUMMARY = "Pick reports, check them, see the cost, sign once, file exactly once."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "check", "Check"),
        Binding("f", "file", "Sign & file"),
        Binding("b", "back", "Back"),
        Binding("R", "resume", "Resume batch"),
        Binding("x", "clear", "Clear marks", show=False),
        Binding("r", "reload", "Reread the folder", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marked: list[Path] = []
        self.preview: Any = None
        self.stop_flag: Any = None
        self.last_batch: int | None = None
        self._last_paint = 0.0
        self._last_phase = ""

    def body(self) -> ComposeResult:
        start = self._start_dir()
        with ContentSwitcher(initial="file-pick", id="file-steps"):
            with Vertical(id="file-pick"):
                yield Static(
                    "Space marks files or folders (a .csv/.json is the manifest) · c checks them",
                    classes="caption",
                )
                yield ReportPicker(start, id="picker")
                yield Static("nothing marked", id="file-selected")
            with Horizontal(id="file-check", classes="split -narrow"):
                with Vertical(classes="master"):
                    yield Static("", id="file-cost")
                    yield RecordTable(
                        (
                            Column("file", "File", 22, whole=True),
                            Column("client", "Client", 14, drop=3),
                            Column("form", "Form", 9, drop=2),
                            Column("period", "Period", 8, drop=1),
                            Column("state", "Check", 5, whole=True),
                            Column("error", "Problem", 16, flex=True),
                        ),
                        id="checks",
                    )
                with VerticalScroll(classes="detail"):
                    yield Static("", id="file-issues")
            with VerticalScroll(id="file-run"):  # focused while a batch runs: keys do nothing
                yield Static("", id="file-run-title", classes="pane-title")
                yield BatchProgress()
                yield Static("Ctrl+C stops cleanly: what is in flight is finished and recorded; "
                             "the rest resumes later.", classes="caption")  # fmt: skip
            with VerticalScroll(id="file-done"):
                yield Static("", id="file-summary")

    def _start_dir(self) -> str:
        remembered = self.ctx.remembered("file", "dir")
        if isinstance(remembered, str) and Path(remembered).is_dir():
            return remembered
        return str(Path.cwd())

    def on_mount(self) -> None:
        self.query_one(ReportPicker).focus()

    def _step(self, name: str) -> None:
        self.query_one(ContentSwitcher).current = name
        target = {"file-pick": "#picker", "file-check": "#checks"}.get(name, f"#{name}")
        self.query_one(target).focus()

    def focus_main(self) -> None:
        self.query_one(ReportPicker).focus()

    def reload(self) -> None:
        """r: read the folder again (new files, a new folder of reports)."""
        self.query_one(ReportPicker).reload()

    @property
    def running(self) -> bool:
        return self.stop_flag is not None

    # picking ---------------------------------------------------------------------------
    def on_report_picker_marks_changed(self, event: ReportPicker.MarksChanged) -> None:
        self.marked = event.marked
        text = (
            "\n".join(f"✓ {p.parent.name}/{p.name}" for p in self.marked)
            if self.marked
            else "nothing marked"
        )
        self.query_one("#file-selected", Static).update(text)
        if self.marked:
            self.ctx.remember("file", "dir", str(self.marked[-1].parent))

    def action_clear(self) -> None:
        self.query_one(ReportPicker).clear_marks()

    def go_back(self) -> None:
        """b or Esc: back to choosing files (not while a batch runs)."""
        if not self.running:
            self._step("file-pick")

    # checking --------------------------------------------------------------------------
    def action_check(self) -> None:
        if self.running:
            return
        if not self.marked:
            node = self.query_one(ReportPicker).cursor_node
            if node is None or node.data is None:
                self.notify("mark files or a folder with Space first", severity="warning")
                return
            self.marked = [node.data.path]
        from sochi_cli.services.filing import preview_filing

        inputs = [str(p) for p in self.marked]
        self.clear_fault()
        self._step("file-check")
        self.query_one("#file-cost", Static).update(f"checking {len(inputs)} path(s)…")
        self.query_one(RecordTable).set_records([])
        self.run_blocking(
            lambda: preview_filing(self.ctx.config, inputs),
            self.show_preview,
            failed=lambda _fault: self.query_one("#file-cost", Static).update(
                Text("not checked: see the message above, fix it, then c again (b: the files)",
                     style="bold red")
            ),
        )  # fmt: skip

    def show_preview(self, preview: Any) -> None:
        self.preview = preview
        self.query_one("#file-cost", Static).update(cost_text(preview))
        table = self.query_one(RecordTable)
        table.set_records([check_record(c) for c in preview.checks])
        self._show_issues(table.current_key)

    def on_record_table_highlighted(self, event: RecordTable.Highlighted) -> None:
        self._show_issues(event.key)

    def _show_issues(self, key: str | None) -> None:
        if self.preview is None or key is None:
            return
        check = next((c for c in self.preview.checks if c.file == key), None)
        if check is not None:
            self.query_one("#file-issues", Static).update(issues_text(check))

    # filing ----------------------------------------------------------------------------
    def action_file(self) -> None:
        if self.running:
            return
        preview = self.preview
        if preview is None or not preview.valid:
            self.notify("check the marked reports first (c)", severity="warning")
            return
        if not preview.affordable:
            self.notify("the balance does not cover the batch: top up first", severity="error")
            return
        from sochi_cli.services.filing import file_reports

        inputs = [str(p) for p in self.marked]
        self._run(
            f"Filing {preview.valid} report(s)",
            lambda stop, progress, factory: file_reports(
                self.ctx.config, inputs, signer_factory=factory, progress=progress, stop=stop
            ),
        )

    def action_resume(self) -> None:
        if self.running:
            return
        from sochi_cli.services.batches import is_resumable, list_batches

        def chosen(listing: Any) -> None:
            resumable = [s for s in listing.batches if is_resumable(s)]
            if not resumable:
                self.notify("no interrupted batch to resume")
                return
            self.resume(resumable[0].batch.id)

        self.run_blocking(lambda: list_batches(self.ctx.profile, limit=20), chosen)

    def resume(self, batch_id: int) -> None:
        """Continue batch `batch_id` exactly as `sochi batch resume` would."""
        from sochi_cli.services.filing import resume_batch

        self._run(
            f"Resuming batch {batch_id}",
            lambda stop, progress, factory: resume_batch(
                self.ctx.config, batch_id, signer_factory=factory, progress=progress, stop=stop
            ),
        )

    def _run(self, title: str, call: Any) -> None:
        from sochi_cli.services.submit import StopFlag

        self.clear_fault()
        self.stop_flag = StopFlag()
        self.sochi.busy = title
        self._step("file-run")
        self.query_one(BatchProgress).start()
        self.query_one("#file-run-title", Static).update(title)
        stop = self.stop_flag
        factory = self._lazy_signer()
        self.run_blocking(
            lambda: call(stop, self._progress, factory),
            self.finished,
            group="batch",
            failed=self._run_failed,
        )

    def _lazy_signer(self) -> Any:
        """The engine asks for a signer only when something still needs signing."""
        from sochi_cli.tui.screens.signer import SignerScreen
        from sochi_cli.tui.signing import default_choice, signer_factory

        def build() -> Any:
            choice = ask_from_thread(
                self.app,
                SignerScreen(
                    "Sign the reports with",
                    default_choice(self.ctx),
                    note="one signing session for the whole batch",
                ),
            )
            return signer_factory(self.app, self.ctx, choice)()

        return build

    def _progress(self, event: Any) -> None:
        """Called in the engine's threads: repaint at most every PROGRESS_EVERY seconds."""
        now = time.monotonic()
        if event.phase == self._last_phase and now - self._last_paint < PROGRESS_EVERY:
            return
        self._last_phase, self._last_paint = event.phase, now
        self.app.call_from_thread(self.query_one(BatchProgress).show_event, event)

    def finished(self, result: Any) -> None:
        self.stop_flag = None
        self.sochi.busy = None
        self.last_batch = result.batch_id
        rows = list(result.items)
        self.query_one("#file-summary", Static).update(summary_renderable(result, rows))
        self._step("file-done")
        self.sochi.refresh_snapshot()
        if result.interrupted:
            self.notify(f"batch {result.batch_id} stopped; R resumes it", severity="warning")
        else:
            self.notify(f"batch {result.batch_id}: {result.status}")

    def _run_failed(self, fault: Any) -> None:
        self.stop_flag = None
        self.sochi.busy = None
        self._step("file-pick" if self.preview is None else "file-check")
        self.sochi.refresh_snapshot()
        # the engine names the batch it left interrupted after filing some of it
        batch = fault.resumable_batch
        if batch is not None:
            then = f" · batch {batch} keeps what was filed: R resumes it, nothing is filed twice"
            self.show_fault(dataclasses.replace(fault, hint=f"{fault.hint or ''}{then}"))
        elif fault.code == "internal":
            then = " · the batches screen (5) shows what was done"
        else:
            then = " · nothing was filed: f tries again"
        self.notify(
            fault.one_line() + then,
            title=fault.title,
            severity="error",
            timeout=10,
        )

    def interrupt(self) -> bool:
        """Ctrl+C while a batch runs: the engine finishes what is in flight and stops."""
        if self.stop_flag is None:
            return False
        if self.stop_flag.raised:
            return True  # already stopping: said when it was asked
        self.stop_flag.set()
        said = "stopping: finishing what is in flight and recording it…"
        self.query_one(BatchProgress).stop_asked(said)
        self.notify(said, title="Ctrl+C")
        return True


__all__ = ["FileReportsScreen", "check_record", "cost_text", "issues_text", "summary_renderable"]
