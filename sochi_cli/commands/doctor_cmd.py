"""`sochi doctor` — ordered checks with the clause behind each and the command that fixes it;
`--bundle` writes what support needs (masked), `--read` shows a bundle on support's side."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sochi_cli.commands._context import AppContext, app_context

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sochi_cli.services.diagnostics import DoctorReport, Finding, Step
    from sochi_cli.services.diagnostics_bundle import BundleContents

GROUP_LIST = "setup, network, operator, signing, account, representation, access, trouble"
EXIT_CODES = (
    "Exit codes: 0 every check ok; 11 warnings only; otherwise the code of the first failing "
    "check (3 config, 5 key/PIN/certificate/session/clock, 6 refused by the operator: "
    "balance, POA, registration, abroad; 7 unreachable or maintenance; 10 local storage); "
    "2 bad option or a file that is not a bundle. --read exits 0 when the bundle is shown."
)
TAGS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skipped": "skip"}
EVIDENCE_LINES = 8  # under a warning or failure on a terminal; --json has all of it
STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red", "skipped": "dim"}


def register(app: typer.Typer) -> None:
    app.command(
        "doctor",
        epilog="Examples:\n\n  sochi doctor\n\n  sochi doctor --only network,operator\n\n"
        "  sochi doctor --offline --json\n\n  sochi doctor --bundle doctor.zip\n\n"
        "  sochi doctor --read doctor.zip\n\n" + EXIT_CODES,
    )(doctor)


def doctor(
    ctx: typer.Context,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only", metavar="GROUP", help=f"Only these check groups (comma list): {GROUP_LIST}."
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Skip every check that needs the network.")
    ] = False,
    pin_file: Annotated[
        Path | None,
        typer.Option(
            "--pin-file", help="Token PIN (else SOCHI_PIN) to check the key pair; never asked."
        ),
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", metavar="FILE.zip", help="Also write a masked support bundle."),
    ] = None,
    no_mask: Annotated[
        bool, typer.Option("--no-mask", help="Bundle: show INNs and names in full.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Bundle: replace an existing file.")
    ] = False,
    read: Annotated[
        Path | None,
        typer.Option("--read", metavar="FILE.zip", help="Show a bundle made by `--bundle`."),
    ] = None,
) -> None:
    """Find why a filing does not go through: each finding names its clause and its fix."""
    import os

    from sochi_cli.errors import UsageError
    from sochi_cli.services.diagnostics import DoctorOptions, parse_groups, run_doctor

    app = app_context(ctx)
    if read is not None:
        if only or offline or bundle or pin_file or no_mask or force:
            raise UsageError("--read shows a bundle: it takes no other doctor option")
        _read(app, read)
        return
    if (no_mask or force) and bundle is None:
        raise UsageError("--no-mask and --force go with --bundle FILE.zip")
    if bundle is not None and not force and bundle.exists():
        raise UsageError(f"{bundle} exists", hint="choose another name or pass --force")
    groups = parse_groups(only or [])

    def pin() -> str | None:
        from sochi_cli.commands._prompts import read_secret_file
        from sochi_cli.logs import register_secret

        if pin_file is not None:
            return read_secret_file(pin_file, what="PIN")
        value = os.environ.get("SOCHI_PIN")
        register_secret(value)
        return value or None

    def passphrase() -> str | None:
        from sochi_cli.logs import register_secret

        value = os.environ.get("SOCHI_KEY_PASSPHRASE")
        register_secret(value)
        return value or None

    if pin_file is not None:
        pin()  # a bad --pin-file is a usage error before anything runs
    options = DoctorOptions(
        profile=app.profile_override, offline=offline, only=groups, pin=pin, passphrase=passphrase
    )
    with _progress(app) as progress:
        report = run_doctor(options, progress=progress)
    written = None
    if bundle is not None:
        from sochi_cli.services.diagnostics_bundle import write_bundle

        written = write_bundle(bundle, report, mask=not no_mask, force=force)
    if app.out.json_mode:
        data = report.to_json()
        if written is not None:
            data["bundle"] = written.to_json()
        app.out.json(data)
    else:
        render_report(app, report)
    if written is not None:
        app.out.info(
            f"bundle written: {written.path} ({len(written.files)} files, {written.bytes} bytes"
            + (", INNs and names masked)" if written.masked else ", NOT masked: --no-mask)")
        )
    if report.exit_code:
        raise typer.Exit(report.exit_code)


class _progress:
    """A spinner on stderr naming the running check (terminal only)."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.status: Any = None

    def __enter__(self) -> Any:
        if not self.app.out.show_progress:
            return None
        self.status = self.app.out.err_console.status("sochi doctor: starting")
        self.status.__enter__()
        return self.update

    def update(self, step: Step) -> None:
        if step.finding is None:
            self.status.update(f"sochi doctor: {step.title} ({step.index + 1}/{step.total})")

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(*exc)


# -- rendering -------------------------------------------------------------------------------


_LIST_ITEM = re.compile(r"^(\s*- )(.*)$")  # an evidence line that is one item of a list


def _details(finding: Finding) -> RenderableType:
    """What was found; for a warning or a failure also the fix, the clause and the evidence."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from sochi_cli.services.diagnostics import evidence_lines

    text = Text(finding.summary)  # Text, not markup: a summary may hold `[…]`
    if finding.result.value not in ("warn", "fail"):
        return text
    if finding.fix:
        text.append(f"\nfix: {finding.fix}")
    if finding.clause:
        text.append(f"\nclause {finding.clause}")
    parts: list[RenderableType] = [text]
    for line in evidence_lines(finding, limit=EVIDENCE_LINES):
        item = _LIST_ITEM.match(line)
        if item is None:
            parts.append(Text(line, style="dim"))
            continue
        hanging = Table.grid()  # a list item folds under its own text, not under the dash
        hanging.add_row(Text(item[1], style="dim"), Text(item[2], style="dim"))
        parts.append(hanging)
    return Group(*parts)


def render_report(app: AppContext, report: DoctorReport) -> None:
    """The report as people read it (terminal), or one TSV line per check (scripts)."""
    out = app.out
    if not out.stdout_tty:
        for f in report.findings:
            out.line(
                "\t".join([f.id, f.result.value, _flat(f.summary), _flat(f.fix), f.clause or "-"])
            )
        out.info(_footer(report))
        return
    from rich.table import Table
    from rich.text import Text

    from sochi_cli.services.diagnostics import GROUP_TITLES
    from sochi_cli.timeutil import format_local

    console = out.console
    console.print(
        Text(f"sochi doctor — profile {report.profile}, {report.api_url or 'no operator'}"),
        Text(f"checked {format_local(report.checked_at)}", style="dim"),
        sep="\n",
    )
    title_width = min(24, max(12, console.width // 4))
    group = None
    table: Table | None = None
    for f in report.findings:
        if f.group != group:
            if table is not None:
                console.print(table)
            group = f.group
            console.print(Text(GROUP_TITLES.get(group, group), style="bold"))
            table = Table.grid(padding=(0, 1))
            table.add_column(width=4)  # the result
            table.add_column(width=title_width)  # the check
            table.add_column(overflow="fold")  # what was found, the fix, the clause
        assert table is not None
        style = STYLES[f.result.value]
        table.add_row(Text(TAGS[f.result.value], style=style), f.title, _details(f))
    if table is not None:
        console.print(table)
    console.print(Text(_footer(report), style=STYLES[report.worst.value]))


def _footer(report: DoctorReport) -> str:
    counts = report.counts()
    parts = [
        f"{counts['fail']} failed",
        f"{counts['warn']} warning(s)",
        f"{counts['ok']} ok",
        f"{counts['skipped']} skipped",
    ]
    return ", ".join(parts) + f" — exit {report.exit_code}"


def _flat(value: str | None) -> str:
    return " ".join(value.split()) if value else "-"


def _read(app: AppContext, path: Path) -> None:
    from sochi_cli.services.diagnostics_bundle import read_bundle

    contents = read_bundle(path)
    if app.out.json_mode:
        app.out.json(contents.to_json())
        return
    _bundle_header(app, contents)
    render_report(app, contents.report)
    _journal_summary(app, contents)


def _bundle_header(app: AppContext, contents: BundleContents) -> None:
    env = contents.environment
    system = env.get("platform", {}).get("platform") if isinstance(env, dict) else None
    python = env.get("python", {}).get("version") if isinstance(env, dict) else None
    masked = "masked" if contents.manifest.get("masked") else "NOT masked"
    line = (
        f"bundle {contents.path}: sochi {contents.manifest.get('sochi_version')}, "
        f"{system or 'unknown platform'}, Python {python or '?'}, {masked}"
    )
    if app.out.stdout_tty:
        app.out.line(line)
    else:
        app.out.info(line)


def _journal_summary(app: AppContext, contents: BundleContents) -> None:
    journal = contents.journal
    out = app.out
    if not journal.get("exists"):
        out.info("journal: none (nothing filed with this profile)")
        return
    if journal.get("error"):
        out.info(f"journal: could not be read: {journal['error']}")
        return
    batches = [b for b in journal.get("batches") or [] if isinstance(b, dict)]
    rows = [
        (
            b.get("id"),
            b.get("created_at"),
            b.get("status"),
            b.get("items"),
            " ".join(f"{k}={v}" for k, v in sorted((b.get("counts") or {}).items())),
        )
        for b in batches
    ]
    if out.stdout_tty:
        out.line("")
        out.line("Journal: the last batches")
        out.table(rows, ["BATCH", "CREATED", "STATUS", "ITEMS", "STATES"])
    else:  # stdout carries one record type: the checks; the summary goes beside it
        for row in rows:
            out.info("journal batch\t" + "\t".join(str(cell) for cell in row))
    audit = journal.get("audit") or {}
    verdict = audit.get("verification") or {}
    problems = contents.problems
    out.info(
        f"audit: {verdict.get('records', '?')} records, chain "
        f"{'intact' if verdict.get('ok') else 'BROKEN'}; "
        f"{len(problems)} item(s) refused, rejected, invalid or left in flight"
    )


__all__ = ["register", "render_report"]
