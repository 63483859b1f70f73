"""Filing reports from an interactive front-end: a preview before anything is signed (the batch
engine's dry run, with every validation error shown against the report line it names), then
the real run or a resume — both the unchanged batch engine (`services.submit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sochi_cli.services.submit import StopFlag
    from sochi_cli.services.submit_model import (
        Cost,
        ProgressCallback,
        SignerFactory,
        SubmitResult,
    )
    from sochi_cli.store.config import Config

CONTEXT_LINES = 1  # report lines shown around an error, on each side


@dataclass(frozen=True)
class IssueInContext:
    line: int | None
    path: str
    rule: str
    message: str
    context: list[tuple[int, str]]  # (line number, text) around `line`


@dataclass
class FileCheck:
    """One planned report after the dry run: fine, or why not (with its issues in context)."""

    file: str
    client_inn: str
    form: str
    period: str
    correction: int
    ok: bool
    error_code: str | None
    error: str | None
    issues: list[IssueInContext] = field(default_factory=list)


@dataclass
class FilingPreview:
    checks: list[FileCheck]
    problems: list[dict[str, Any]]  # plan problems (manifest rows, unreadable files)
    cost: Cost | None

    @property
    def valid(self) -> int:
        return sum(1 for c in self.checks if c.ok)

    @property
    def affordable(self) -> bool:
        return self.cost is None or self.cost.shortfall == 0


def split_inputs(paths: Sequence[str]) -> tuple[tuple[str, ...], Path | None]:
    """Reports/folders and at most one manifest (`.csv`/`.json`) among the chosen paths."""
    manifests = [p for p in paths if Path(p).suffix.lower() in (".csv", ".json")]
    if len(manifests) > 1:
        from sochi_cli.errors import UsageError

        raise UsageError("choose one manifest at a time", hint=", ".join(manifests))
    rest = tuple(p for p in paths if p not in manifests)
    return rest, Path(manifests[0]) if manifests else None


def preview_filing(
    config: Config, inputs: Sequence[str], progress: ProgressCallback | None = None
) -> FilingPreview:
    """Plan, validate (schema, POA) and price `inputs`; nothing is signed, sent or journaled.

    A `.csv`/`.json` among `inputs` is the batch's manifest (as `sochi submit --manifest`).
    """
    from sochi_cli.services.submit import submit
    from sochi_cli.services.submit_model import SubmitOptions

    paths, manifest = split_inputs(inputs)
    result = submit(
        config,
        SubmitOptions(inputs=paths, manifest=manifest, dry_run=True, command="sochi tui (preview)"),
        signer_factory=None,
        progress=progress,
    )
    checks = []
    for row in result.items:
        ok = row["state"] == "validated"
        check = FileCheck(
            file=str(row["file"]),
            client_inn=str(row["client_inn"]),
            form=str(row["form"]),
            period=str(row["period"]),
            correction=int(row["correction"]),
            ok=ok,
            error_code=row.get("error_code"),
            error=row.get("error"),
        )
        if row.get("error_code") == "validation_failed":
            check.issues = issues_in_context(config, Path(check.file))
        checks.append(check)
    return FilingPreview(checks, list(result.problems), result.cost)


def issues_in_context(config: Config, path: Path) -> list[IssueInContext]:
    """Every validation issue of one report (cached schema) with the lines around it."""
    from sochi_cli.services.forms import validate_files
    from sochi_cli.timeutil import to_bishkek, utcnow

    today = to_bishkek(utcnow()).date()
    checks = validate_files([path], config.profile, today, connect=None)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    found = []
    for issue in checks[0].issues if checks else []:
        context: list[tuple[int, str]] = []
        if issue.line is not None:
            first = max(1, issue.line - CONTEXT_LINES)
            last = min(len(lines), issue.line + CONTEXT_LINES)
            context = [(n, lines[n - 1]) for n in range(first, last + 1)]
        found.append(IssueInContext(issue.line, issue.path, issue.rule, issue.message, context))
    return found


def file_reports(
    config: Config,
    inputs: Sequence[str],
    *,
    signer_factory: SignerFactory,
    progress: ProgressCallback | None = None,
    stop: StopFlag | None = None,
    concurrency: int | None = None,
    wait: bool = True,
) -> SubmitResult:
    """The batch engine over `inputs`, exactly as `sochi submit` runs it (resumable by either)."""
    from sochi_cli.services.submit import submit
    from sochi_cli.services.submit_model import SubmitOptions

    paths, manifest = split_inputs(inputs)
    options = SubmitOptions(
        inputs=paths,
        manifest=manifest,
        concurrency=concurrency or int(config.get("concurrency")),
        wait=wait,
        command="sochi tui: " + " ".join(inputs),
    )
    return submit(config, options, signer_factory=signer_factory, progress=progress, stop=stop)


def resume_batch(
    config: Config,
    batch_id: int,
    *,
    signer_factory: SignerFactory,
    progress: ProgressCallback | None = None,
    stop: StopFlag | None = None,
    wait: bool = True,
) -> SubmitResult:
    """`sochi batch resume ID` for an interactive front-end: same items, keys and signatures."""
    from sochi_cli.services.submit import resume
    from sochi_cli.services.submit_model import SubmitOptions

    options = SubmitOptions(
        concurrency=int(config.get("concurrency")),
        wait=wait,
        command=f"sochi tui: resume {batch_id}",
    )
    return resume(
        config, batch_id, options, signer_factory=signer_factory, progress=progress, stop=stop
    )


__all__ = [
    "FileCheck",
    "FilingPreview",
    "IssueInContext",
    "file_reports",
    "issues_in_context",
    "preview_filing",
    "resume_batch",
    "split_inputs",
]
