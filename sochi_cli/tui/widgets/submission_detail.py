"""The detail pane of a submission: state timeline, receipts with their signature checks, the
agency protocol's errors next to the report lines they name, the archived report."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static


def detail_renderable(detail: Any) -> Group:
    from sochi_cli.names import readable_dn
    from sochi_cli.services.account import som
    from sochi_cli.services.receipts import describe
    from sochi_cli.timeutil import format_local

    sub = detail.submission
    parts: list[Any] = []
    head = Text()
    head.append(f"{sub.id}", style="bold")
    head.append(f"  {sub.form} {sub.period}")
    if sub.correction:
        head.append(f" correction {sub.correction}")
    head.append(f"  client {sub.client_inn}  fee {som(sub.fee)} KGS")
    if sub.late:
        head.append("  LATE", style="bold red")
    parts.append(head)
    timeline = Table.grid(padding=(0, 2))
    timeline.add_column(style="bold")
    timeline.add_column()
    for label, moment in detail.timeline:
        mark = "●" if moment is not None else "○"
        timeline.add_row(f"{mark} {label}", format_local(moment) if moment else "—")
    parts.append(Text("\nTimeline", style="bold underline"))
    parts.append(timeline)
    parts.append(Text("\nReceipts", style="bold underline"))
    if not detail.receipts:
        parts.append(Text("none yet", style="italic"))
    for item in detail.receipts:
        receipt, check = item.receipt, item.check
        style = "green" if check.verified and check.chained is not False else "bold red"
        line = Text(f"{receipt.kind} {receipt.id}: ")
        line.append(readable_dn(describe(check)), style=style)
        parts.append(line)
    protocol = sub.protocol
    if protocol is not None:
        verdict_style = "bold green" if protocol.verdict == "accepted" else "bold red"
        parts.append(Text(f"\nAgency protocol: {protocol.verdict}", style=verdict_style))
        for error in detail.protocol:
            where = f"line {error.line}" if error.line else "—"
            line = Text(f"  {where} {error.path}: ", style="bold")
            line.append(error.message, style="red")
            parts.append(line)
            if error.text is not None:
                parts.append(Text(f"      {error.line:>4} │ {error.text}", style="dim"))
    parts.append(Text("\nArchived report", style="bold underline"))
    if detail.report_name:
        signed = " + .p7s" if detail.has_signature else " (no signature archived)"
        parts.append(Text(f"{detail.report_name}{signed} · press v to verify (clause 8)"))
    for problem in detail.problems:
        parts.append(Text(problem, style="italic"))
    return Group(*parts)


class SubmissionDetail(Static):
    """Empty until a submission is opened (Enter)."""

    def show_detail(self, detail: Any) -> None:
        self.update(detail_renderable(detail))

    def show_lines(self, title: str, lines: list[str]) -> None:
        from sochi_cli.names import readable_dn

        text = Text(title + "\n", style="bold underline")
        for line in map(readable_dn, lines):
            style = ""
            if "[FAIL]" in line or "DOES NOT STAND" in line:
                style = "bold red"
            elif "SIGNATURE STANDS" in line:
                style = "bold green"
            text.append(line + "\n", style=style)
        self.update(text)


__all__ = ["SubmissionDetail", "detail_renderable"]
