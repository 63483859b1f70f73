"""Planning: files, directories, globs or a manifest (CSV/JSON) → one plan item per filing.

Client, form, period and correction come from the manifest and/or the report's header; a
manifest value that disagrees with the report is an error. Problems are collected per row
(`manifest.csv:7: client: '123' is not a valid INN (14 digits)`) unless `strict`, where the
first one raises. Only paths and digests are kept: a 5000-file plan holds no file contents.
A file or folder that cannot be read is never skipped (a usage error on the command line, a
row's problem in a manifest); file names that are not UTF-8 are kept as the OS gives them
and shown escaped.
"""

from __future__ import annotations

import csv
import fnmatch
import functools
import glob
import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from sochi_cli.errors import UsageError, ValidationFailed
from sochi_cli.forms import inn as inns
from sochi_cli.forms.periods import PERIOD_SYNTAX
from sochi_cli.services.report_header import HeaderError, ReportHeader, read_report_header
from sochi_cli.store.archive import file_sha256
from sochi_cli.store.files import os_reason, printable
from sochi_cli.store.journal import idempotency_key

MANIFEST_FIELDS = ("client", "form", "period", "correction", "file", "attachments")
_GLOB_CHARS = frozenset("*?[")
_FORM_CODE = re.compile(r"[A-Z]{2,6}-[0-9A-Z]{1,8}")


def inn_problem(value: str) -> str | None:
    """`'123' is not a valid INN: an INN is 14 digits` (rules in sochi_cli.forms.inn)."""
    problem = inns.inn_problem(value)
    return f"{value!r} is not a valid INN: {problem}" if problem else None


def period_problem(value: str) -> str | None:
    """Syntax only (any periodicity); the form's own periodicity is checked in validation."""
    if any(pattern.fullmatch(value) for pattern, _ in PERIOD_SYNTAX.values()):
        return None
    return f"{value!r} is not a period (YYYY-MM, YYYY-Qn or YYYY)"


def form_code_problem(value: str) -> str | None:
    if _FORM_CODE.fullmatch(value):
        return None
    return f"{value!r} is not a form code (like STI-077)"


@dataclass(frozen=True)
class FileRef:
    path: Path
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"path": printable(self.path), "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class PlanItem:
    """One filing: which report, for whom, what, and its idempotency key."""

    file: FileRef
    client_inn: str
    form: str
    period: str
    correction: int
    attachments: tuple[FileRef, ...]
    idempotency_key: str
    origin: str  # where it came from: `manifest.csv:7` or the file path

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file.to_json(),
            "client_inn": self.client_inn,
            "form": self.form,
            "period": self.period,
            "correction": self.correction,
            "attachments": [a.to_json() for a in self.attachments],
            "idempotency_key": self.idempotency_key,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class PlanProblem:
    where: str  # `manifest.csv:7`, `manifest.json: item 3` or `report.xml:4`
    message: str
    field: str | None = None
    severity: str = "error"  # "note": reported, nothing lost (a duplicate row, filed once)

    def __str__(self) -> str:
        return (
            f"{self.where}: {self.field}: {self.message}"
            if self.field
            else (f"{self.where}: {self.message}")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass
class Plan:
    items: list[PlanItem] = field(default_factory=list)
    problems: list[PlanProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[PlanProblem]:
        """The problems that kept a row from being filed (notes left out)."""
        return [p for p in self.problems if p.severity != "note"]

    def error(self) -> ValidationFailed:
        """All problems as one ValidationFailed (first one in the message, all in details)."""
        problems = self.errors or self.problems
        first = str(problems[0]) if problems else "no problems"
        more = len(problems) - 1
        return ValidationFailed(
            first + (f" (and {more} more)" if more > 0 else ""),
            hint="fix the input and rerun; nothing was sent",
            code="plan_invalid",
            details={"problems": [p.to_json() for p in self.problems]},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "items": [i.to_json() for i in self.items],
            "problems": [p.to_json() for p in self.problems],
        }


@dataclass(frozen=True)
class _Row:
    """One requested filing before its report was read (manifest values may be None)."""

    where: str
    file: Path
    client: str | None = None
    form: str | None = None
    period: str | None = None
    correction: int | None = None
    attachments: tuple[Path, ...] = ()


class _Collector:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.problems: list[PlanProblem] = []
        self.unreadable: list[PlanProblem] = []  # files named but missing or unreadable
        self.rows = 0  # data rows seen in a manifest, good or bad

    def note(self, where: str, message: str, field_name: str | None = None) -> None:
        """Something worth saying that loses nothing (never stops a --strict plan)."""
        self.problems.append(
            PlanProblem(printable(where), printable(message), field_name, severity="note")
        )

    def add(self, where: str, message: str, field_name: str | None = None) -> None:
        problem = PlanProblem(printable(where), printable(message), field_name)
        if self.strict:
            raise ValidationFailed(
                str(problem), hint="fix the input and rerun; nothing was sent", code="plan_invalid"
            )
        self.problems.append(problem)

    def add_unreadable(self, where: str, message: str, field_name: str | None = None) -> None:
        """A file a manifest row names is missing or cannot be read: like a path given on
        the command line, the whole plan is refused (exit 2) once every row has been read,
        so one run names every such row (and every other problem) at once."""
        problem = PlanProblem(printable(where), printable(message), field_name)
        if self.strict:
            raise UsageError(str(problem), hint=_UNREADABLE_HINT)
        self.problems.append(problem)
        self.unreadable.append(problem)

    def refuse_unreadable(self) -> None:
        if not self.unreadable:
            return
        errors = [p for p in self.problems if p.severity != "note"]
        more = len(errors) - 1
        raise UsageError(
            str(self.unreadable[0]) + (f" (and {more} more)" if more > 0 else ""),
            hint=_UNREADABLE_HINT,
            details={"problems": [p.to_json() for p in self.problems]},
        )


_UNREADABLE_HINT = (
    "every file a manifest names must exist and be readable, as a path given directly; "
    "nothing was done"
)


def make_plan(
    inputs: Sequence[str] = (),
    *,
    manifest: Path | None = None,
    profile: str,
    api_url: str,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    correction: int | None = None,
) -> Plan:
    """Expand inputs (or read the manifest), read each report's header, build the items."""
    if manifest is not None and inputs:
        raise UsageError("give report paths or --manifest, not both")
    if manifest is not None and correction is not None:
        raise UsageError("--correction is for report paths; a manifest has a correction column")
    if manifest is None and not inputs:
        raise UsageError(
            "nothing to file", hint="give report files, directories, globs or --manifest"
        )
    collector = _Collector(strict)
    rows = (
        _manifest_rows(Path(manifest), collector)
        if manifest is not None
        else _path_rows(inputs, collector, correction)
    )
    plan = Plan()
    by_key: dict[str, str] = {}
    by_target: dict[tuple[str, str, str, int], str] = {}
    for count, row in enumerate(rows, start=1):
        item = _plan_row(row, collector, profile=profile, api_url=api_url)
        if progress is not None:
            progress(count)
        if item is None:
            continue
        target = (item.client_inn, item.form, item.period, item.correction)
        if item.idempotency_key in by_key:
            collector.note(
                row.where,
                f"duplicate of {by_key[item.idempotency_key]} (same client, "
                "form, period, correction and file); filed once",
                "file",
            )
            continue
        if target in by_target:
            collector.add(
                row.where,
                f"{by_target[target]} files another report for the same client, form, period "
                "and correction; use a correction number",
                "file",
            )
            continue
        by_key[item.idempotency_key] = row.where
        by_target[target] = row.where
        plan.items.append(item)
    collector.refuse_unreadable()
    plan.problems = collector.problems
    return plan


# inputs ------------------------------------------------------------------------------
def _path_rows(
    inputs: Sequence[str], collector: _Collector, correction: int | None = None
) -> Iterator[_Row]:
    for path in report_files(inputs):
        yield _Row(where=str(path), file=path, correction=correction)


def report_files(inputs: Sequence[str]) -> list[Path]:
    """The report files that paths, folders (searched for *.xml) and globs name, in order.

    A path that does not exist, a glob that matches nothing, a folder without reports and
    anything that cannot be read is a usage error (exit 2) naming it: nothing is skipped
    silently and nothing is filed from a command line that does not say what it means.
    `sochi submit` and `sochi validate` take the same inputs.
    """
    seen: set[Path] = set()
    found: list[Path] = []
    for raw in inputs:
        for path in _expand(raw):
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                found.append(path)
    return found


def _expand(raw: str) -> list[Path]:
    path = Path(raw).expanduser()
    shown = printable(raw)  # a name that is not UTF-8 is shown escaped (b\xe9.xml)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise UsageError(f"{shown}: {_missing(path)}") from None
        if not _GLOB_CHARS & set(raw):
            raise UsageError(f"{shown}: no such file or folder") from None
        mode = None
    except OSError as exc:  # a folder on the way cannot be searched, a link loop…
        raise UsageError(f"{shown}: cannot read: {os_reason(exc)}") from None
    if mode is not None and stat.S_ISDIR(mode):
        found = _reports_in(path)
        if not found:
            raise UsageError(f"{shown}: the folder holds no *.xml reports")
        return found
    if mode is not None:
        _readable(path)
        return [path]
    matches = sorted(Path(m) for m in glob.glob(str(path), recursive=True))
    _folders_a_glob_skips(str(path))
    files = [m for m in matches if m.is_file()]
    if not files:
        raise UsageError(f"{shown}: no file matches this pattern")
    for file in files:
        _readable(file)
    return files


def _missing(path: Path) -> str:
    """Why a path is missing: no such file, or a broken link (and where it points)."""
    if path.is_symlink():
        return f"a broken link (to {printable(os.readlink(path))})"
    return "no such file"


def _refuse_folder(exc: OSError, folder: Path | str) -> NoReturn:
    where = printable(exc.filename or folder)
    raise UsageError(f"{where}: cannot read the folder: {exc.strerror or exc}")


def _walk(folder: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """`os.walk` that stops at a folder it cannot list (naming it) instead of skipping it
    silently, and follows links to folders — a linked folder's reports are in the tree as
    much as any — each folder once, so a link back up is no loop."""
    walked: set[tuple[int, int]] = set()
    refuse = functools.partial(_refuse_folder, folder=folder)
    for top, dirs, files in os.walk(folder, onerror=refuse, followlinks=True):
        try:
            info = os.stat(top)
        except OSError as exc:
            refuse(exc)
        if (info.st_dev, info.st_ino) in walked:
            dirs.clear()
            continue
        walked.add((info.st_dev, info.st_ino))
        dirs.sort()
        yield top, dirs, files


def _reports_in(folder: Path) -> list[Path]:
    """Every *.xml under `folder`, linked folders too; an unreadable folder or file on the
    way is an error.

    (`Path.rglob` would skip a folder it cannot list without a word.) A link named *.xml
    that leads nowhere is an error too.
    """
    found: list[Path] = []
    for top, _dirs, files in _walk(folder):
        for name in sorted(files):
            candidate = Path(top) / name
            if candidate.suffix.lower() != ".xml":
                continue
            if candidate.is_file():
                _readable(candidate)
                found.append(candidate)
            elif candidate.is_symlink() and not candidate.exists():
                raise UsageError(f"{printable(candidate)}: {_missing(candidate)}")
    return sorted(found)


def _folders_a_glob_skips(pattern: str) -> None:
    """`glob` skips a folder it cannot list without a word: name the first one instead."""
    parts = Path(pattern).parts
    fixed = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    base = Path(*parts[:fixed]) if fixed else Path(".")
    folder_parts = parts[fixed:-1]
    recursive = "**" in folder_parts
    for folder, dirs, _names in _walk(base):
        if recursive:
            continue
        depth = len(Path(folder).relative_to(base).parts)
        dirs[:] = [
            name
            for name in dirs
            if depth < len(folder_parts)
            and fnmatch.fnmatchcase(name, folder_parts[depth])
            and (not name.startswith(".") or folder_parts[depth].startswith("."))
        ]


def _readable(path: Path) -> None:
    if not os.access(path, os.R_OK):
        raise UsageError(f"{printable(path)}: cannot read the file: permission denied")


def _manifest_rows(path: Path, collector: _Collector) -> Iterator[_Row]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the manifest: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValidationFailed(
            f"{path}:{line}: the manifest is not UTF-8 text (byte {exc.start})",
            hint="save it as UTF-8 (a BOM is fine)",
            code="manifest_encoding",
        ) from None
    if "\x00" in text:
        raise ValidationFailed(
            f"{path}: the manifest holds NUL bytes (not a text file)", code="manifest_invalid"
        )
    if not text.strip():
        raise ValidationFailed(f"{path}: the manifest is empty", code="manifest_empty")
    base = path.parent
    is_json = path.suffix.lower() == ".json" or text.lstrip()[:1] in ("[", "{")
    rows = (
        _json_rows(path, text, base, collector)
        if is_json
        else _csv_rows(path, text, base, collector)
    )
    yield from rows
    if not collector.rows:  # rows that are all bad are problems, each reported
        raise ValidationFailed(f"{path}: the manifest lists no reports", code="manifest_empty")


def _csv_rows(path: Path, text: str, base: Path, collector: _Collector) -> Iterator[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise ValidationFailed(f"{path}: the manifest is empty", code="manifest_empty")
        names = [cell.strip().lower() for cell in header]
        header_line = reader.line_num
        unknown = [n for n in names if n not in MANIFEST_FIELDS]
        if "file" not in names or unknown:
            what = f"unknown column {unknown[0]!r}" if unknown else "no 'file' column"
            raise ValidationFailed(
                f"{path}:{header_line}: {what}",
                hint=f"the header names columns from: {', '.join(MANIFEST_FIELDS)}",
                code="manifest_invalid",
            )
        if len(set(names)) != len(names):
            raise ValidationFailed(
                f"{path}:{header_line}: a column is named twice", code="manifest_invalid"
            )
        for cells in reader:
            where = f"{path.name}:{reader.line_num}"
            if not any(cell.strip() for cell in cells):
                continue
            collector.rows += 1
            if len(cells) != len(names):
                collector.add(where, f"expected {len(names)} fields, found {len(cells)}", "row")
                continue
            values = {n: c.strip() for n, c in zip(names, cells, strict=True)}
            row = _row_from_values(where, values, base, collector, split_attachments=True)
            if row is not None:
                yield row
    except csv.Error as exc:
        raise ValidationFailed(
            f"{path}:{reader.line_num}: malformed CSV: {exc}", code="manifest_invalid"
        ) from None


def _json_rows(path: Path, text: str, base: Path, collector: _Collector) -> Iterator[_Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"{path}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}", code="manifest_invalid"
        ) from None
    except RecursionError:
        raise ValidationFailed(f"{path}: JSON nested too deeply", code="manifest_invalid") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        raise ValidationFailed(
            f'{path}: a JSON manifest is a list of objects (or {{"items": [...]}})',
            code="manifest_invalid",
        )
    for number, entry in enumerate(data, start=1):
        where = f"{path.name}: item {number}"
        collector.rows += 1
        if not isinstance(entry, dict):
            collector.add(where, "expected an object with a 'file' field", "item")
            continue
        values: dict[str, Any] = {}
        bad = False
        for key, value in entry.items():
            if key not in MANIFEST_FIELDS:
                collector.add(where, f"unknown field (known: {', '.join(MANIFEST_FIELDS)})", key)
                bad = True
            elif key == "correction" and value is not None:
                if isinstance(value, bool) or not isinstance(value, int):
                    collector.add(where, "must be a whole number", key)
                    bad = True
                else:
                    values[key] = str(value)
            elif key == "attachments":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    collector.add(where, "must be a list of file paths", key)
                    bad = True
                else:
                    values[key] = value
            elif value is not None:
                if not isinstance(value, str):
                    collector.add(where, "must be a string", key)
                    bad = True
                else:
                    values[key] = value.strip()
        # the other fields are checked all the same: every problem of the item, at once
        row = _row_from_values(where, values, base, collector, split_attachments=False)
        if row is not None and not bad:
            yield row


def _row_from_values(
    where: str,
    values: dict[str, Any],
    base: Path,
    collector: _Collector,
    *,
    split_attachments: bool,
) -> _Row | None:
    ok = True
    file_text = values.get("file") or ""
    if not file_text:
        collector.add(where, "missing (the report file to file)", "file")
        return None
    client = values.get("client") or None
    form = (values.get("form") or "").upper() or None
    period = values.get("period") or None
    correction: int | None = None
    for name, value, check in (
        ("client", client, inn_problem),
        ("form", form, form_code_problem),
        ("period", period, period_problem),
    ):
        problem = check(value) if value is not None else None
        if problem:
            collector.add(where, problem, name)
            ok = False
    raw_correction = values.get("correction")
    if raw_correction:
        if not str(raw_correction).isdigit() or not str(raw_correction).isascii():
            collector.add(where, f"{raw_correction!r} is not a whole number ≥ 0", "correction")
            ok = False
        else:
            correction = int(raw_correction)
    raw_attachments = values.get("attachments") or ([] if not split_attachments else "")
    names = (
        [a.strip() for a in str(raw_attachments).split(";") if a.strip()]
        if split_attachments
        else [str(a).strip() for a in raw_attachments]
    )
    file_path = _resolve(base, file_text)
    if problem := _file_problem(file_path):
        collector.add_unreadable(where, f"{file_text!r}: {problem}", "file")
        ok = False
    attachments: list[Path] = []
    for name in names:
        attachment = _resolve(base, name)
        if problem := _file_problem(attachment):
            collector.add_unreadable(where, f"{name!r}: {problem}", "attachments")
            ok = False
        attachments.append(attachment)
    if not ok:
        return None
    return _Row(where, file_path, client, form, period, correction, tuple(attachments))


def _file_problem(path: Path) -> str | None:
    """Why `path` is not a file that can be read (None if it looks fine)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return _missing(path)
    except OSError as exc:
        return f"cannot read: {os_reason(exc)}"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    return None


def _resolve(base: Path, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else base / path


# reading reports -----------------------------------------------------------------------
def _plan_row(row: _Row, collector: _Collector, *, profile: str, api_url: str) -> PlanItem | None:
    try:
        header = read_report_header(row.file)
    except HeaderError as exc:
        location = f"{row.file}:{exc.line}" if exc.line else str(row.file)
        if row.where == str(row.file):
            collector.add(location, exc.reason)
        else:  # a manifest row: name the row first, then the report and its line
            collector.add(row.where, f"{location}: {exc.reason}", "file")
        return None
    except OSError as exc:
        if row.where == str(row.file):
            collector.add_unreadable(row.where, f"cannot read: {os_reason(exc)}")
        else:
            collector.add_unreadable(
                row.where, f"{row.file}: cannot read: {os_reason(exc)}", "file"
            )
        return None
    values = _merge(row, header, collector)
    if values is None:
        return None
    client, form, period, correction = values
    attachments: list[FileRef] = []
    for path in row.attachments:
        try:
            sha, size = file_sha256(path)
        except OSError as exc:
            collector.add_unreadable(
                row.where, f"{path}: cannot read: {os_reason(exc)}", "attachments"
            )
            return None
        attachments.append(FileRef(path, sha, size))
    key = idempotency_key(
        profile=profile,
        api_url=api_url,
        client_inn=client,
        form=form,
        period=period,
        correction=correction,
        file_sha256=header.sha256,
    )
    return PlanItem(
        file=FileRef(row.file, header.sha256, header.size),
        client_inn=client,
        form=form,
        period=period,
        correction=correction,
        attachments=tuple(attachments),
        idempotency_key=key,
        origin=printable(row.where),
    )


def _merge(
    row: _Row, header: ReportHeader, collector: _Collector
) -> tuple[str, str, str, int] | None:
    """Manifest value vs report header, field by field; a disagreement is an error."""
    xml_correction: int | None = None
    if header.correction is not None:
        if header.correction.isdigit() and header.correction.isascii():
            xml_correction = int(header.correction)
        else:
            collector.add(
                f"{row.file}:{header.lines.get('correction', 1)}",
                f"{header.correction!r} is not a whole number ≥ 0",
                "header/correction",
            )
            return None
    chosen: dict[str, Any] = {}
    ok = True
    for name, given, found, path, check in (
        ("client", row.client, header.inn, "header/inn", inn_problem),
        ("form", row.form, (header.form or "").upper() or None, "report/@form", form_code_problem),
        ("period", row.period, header.period, "header/period", period_problem),
        ("correction", row.correction, xml_correction, "header/correction", None),
    ):
        line = header.lines.get({"client": "inn"}.get(name, name), 1)
        if given is not None and found is not None and given != found:
            # the report's own value is signed: an option or a manifest never overrides it
            why = (
                f"; --correction and the manifest's column only fill in a report without "
                f"one: set <correction>{given}</correction> in the report instead"
                if name == "correction"
                else ""
            )
            collector.add(
                row.where,
                f"{given!r} does not match the report's {path} {found!r} ({row.file}:{line})" + why,
                name,
            )
            ok = False
            continue
        value = given if given is not None else found
        if value is None:
            if name == "correction":
                value = 0
            else:
                collector.add(row.where, f"not given and the report has no {path}", name)
                ok = False
                continue
        if check is not None and given is None:
            problem = check(str(value))
            if problem:
                collector.add(f"{row.file}:{line}", problem, path)
                ok = False
                continue
        chosen[name] = value
    if not ok:
        return None
    return chosen["client"], chosen["form"], chosen["period"], int(chosen["correction"])


__all__ = [
    "MANIFEST_FIELDS",
    "FileRef",
    "Plan",
    "PlanItem",
    "PlanProblem",
    "make_plan",
    "report_files",
]
