"""The one object that decides how results reach the user: table, plain text or JSON.

Modelled on gh's iostreams: TTY detection once, colour rules (NO_COLOR, --no-color, not a
TTY), results on stdout, everything else (progress, notices, errors) on stderr. Like gh,
`--json FIELDS` keeps only the named fields and `--jq EXPR` filters the JSON (the `jq`
package); instants in JSON are always `YYYY-MM-DDTHH:MM:SSZ`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

if TYPE_CHECKING:
    from rich.console import Console

ForceOpt = Annotated[
    bool, typer.Option("--force", help="Replace what --out names if it already exists.")
]


def refuse_existing(path: Path, flag: str = "--out") -> None:
    """A file or non-empty folder at `path` is kept: a usage error unless --force was given.

    `batch report --out october.csv` once overwrote the manifest of the same name; like
    curl -o with --no-clobber and gh's downloads, sochi never replaces a file silently.
    """
    from sochi_cli.errors import UsageError

    if path.is_dir() and not any(path.iterdir()):
        return
    if path.exists() or path.is_symlink():
        raise UsageError(
            f"{flag} {path}: already exists",
            hint="pass --force to replace it, or choose another name",
            code="file_exists",
        )


def json_default(value: Any) -> Any:
    """JSON for the types our results hold: instants as `YYYY-MM-DDTHH:MM:SSZ`."""
    from sochi_cli.timeutil import iso_z, normalize_instants

    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if is_dataclass(value) and not isinstance(value, type):
        return normalize_instants(asdict(value))
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return normalize_instants(to_json())
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any, *, pretty: bool = False) -> str:
    from sochi_cli.timeutil import normalize_instants

    return json.dumps(
        normalize_instants(data),
        default=json_default,
        ensure_ascii=False,
        indent=2 if pretty else None,
    )


def _plain_json(data: Any) -> Any:
    """`data` as plain JSON values (dicts, lists, strings, numbers), instants normalised."""
    return json.loads(dumps(data))


class JsonView:
    """What `--json FIELDS` and `--jq EXPR` make of a result before it is printed."""

    def __init__(self, fields: Sequence[str] = (), jq: str | None = None) -> None:
        self.fields = list(fields)
        self.jq_text = jq
        self._program: Any = None
        self.unknown: set[str] = set()
        if jq is not None:
            self._program = compile_jq(jq)

    @property
    def active(self) -> bool:
        return bool(self.fields) or self._program is not None

    def select(self, data: Any) -> Any:
        """Keep only the requested fields of an object, or of each object of an array."""
        if not self.fields:
            return data
        if isinstance(data, list):
            return [self._pick(row) for row in data]
        return self._pick(data)

    def _pick(self, row: Any) -> Any:
        if not isinstance(row, dict):
            return row
        missing = [f for f in self.fields if f not in row]
        self.unknown.update(missing)
        return {f: row[f] for f in self.fields if f in row}

    def render(self, data: Any) -> list[str]:
        """Lines to print: compact JSON of the selection, or each jq result (strings raw)."""
        picked = self.select(_plain_json(data))
        if self._program is None:
            return [dumps(picked)]
        from sochi_cli.errors import UsageError

        try:
            results = self._program.input_value(picked).all()
        except ValueError as exc:
            raise UsageError(f"--jq: {exc}") from None
        return [r if isinstance(r, str) else dumps(r) for r in results]


def compile_jq(expression: str) -> Any:
    """The compiled jq program, or a usage error naming what is wrong with it."""
    import jq

    from sochi_cli.errors import UsageError

    try:
        return jq.compile(expression)
    except ValueError as exc:
        raise UsageError(f"--jq {expression!r}: {exc}") from None


class Output:
    """Where and how a command writes. Commands never call print()."""

    def __init__(
        self,
        *,
        json_mode: bool = False,
        quiet: bool = False,
        verbose: bool = False,
        no_color: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        view: JsonView | None = None,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.view = view or JsonView()
        self.json_mode = json_mode or self.view.active
        self.quiet = quiet
        self.verbose = verbose
        self.stdout_tty = _isatty(self.stdout)
        self.stderr_tty = _isatty(self.stderr)
        self.color = not no_color and "NO_COLOR" not in os.environ and self.stdout_tty
        self._console: Console | None = None
        self._err_console: Console | None = None

    @property
    def stdin_tty(self) -> bool:
        return _isatty(sys.stdin)

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(
                file=self.stdout,
                no_color=not self.color,
                color_system="auto" if self.color else None,
                highlight=False,
                soft_wrap=not self.stdout_tty,
            )
        return self._console

    @property
    def err_console(self) -> Console:
        if self._err_console is None:
            from rich.console import Console

            color = self.color and self.stderr_tty
            self._err_console = Console(
                file=self.stderr,
                no_color=not color,
                color_system="auto" if color else None,
                highlight=False,
            )
        return self._err_console

    @property
    def reader_gone(self) -> bool:
        """True once whoever reads stdout has closed it (`| head`): stop producing output."""
        from sochi_cli.pipes import reader_gone

        return reader_gone(self.stdout)

    # results (stdout) -------------------------------------------------------------------
    def json(self, data: Any) -> None:
        if self.view.active:
            self._write_view(data)
        else:
            self.stdout.write(dumps(data, pretty=self.stdout_tty) + "\n")
        self.stdout.flush()

    def json_line(self, data: Any) -> None:
        """One JSON Lines record (compact, flushed), `--json FIELDS`/`--jq` applied."""
        if self.view.active:
            self._write_view(data)
        else:
            self.stdout.write(dumps(data) + "\n")
        self.stdout.flush()

    def _write_view(self, data: Any) -> None:
        for line in self.view.render(data):
            self.stdout.write(line + "\n")
        if self.view.unknown:
            unknown = sorted(self.view.unknown)
            self.view.unknown.clear()
            known = sorted(_keys(data))
            self.warn(
                "unknown JSON field(s) "
                + ", ".join(unknown)
                + (f"; this output has: {', '.join(known)}" if known else "")
            )

    def json_streamed(self, head: dict[str, Any], key: str, rows: Iterable[Any]) -> None:
        """One JSON object: `head`'s fields, then `key` as an array written row by row.

        For outputs as long as a batch (thousands of items): memory stays flat. Compact
        even on a terminal; the fields are the same as a non-streamed object's. With
        `--json FIELDS` or `--jq` the object is built whole first (the filter needs it).
        """
        if self.view.active:
            self.json({**head, key: list(rows)})
            return
        opening = dumps(head)[:-1] + (", " if head else "") + dumps(key) + ": ["
        self.stdout.write(opening)
        for n, row in enumerate(rows):
            self.stdout.write((", " if n else "") + dumps(row))
        self.stdout.write("]}\n")
        self.stdout.flush()

    def result(self, data: Any, render: Callable[[], None]) -> None:
        """JSON when asked for, else the human rendering."""
        if self.json_mode:
            self.json(data)
        else:
            render()

    def line(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def row(self, values: Sequence[Any]) -> None:
        """One table row without a table (streamed output): tab-separated, as `table`."""
        cells = (_plain(v) if self.stdout_tty else _field(v) for v in values)
        self.stdout.write("\t".join(cells) + "\n")

    def table(
        self,
        rows: Iterable[Sequence[Any]],
        headers: Sequence[str],
        *,
        title: str | None = None,
        under: Collection[str] = (),
    ) -> None:
        """On a terminal, columns fitted to its width (commands/_table.py: identifiers whole,
        free text folded or under its row, the `under` columns always under it); in a pipe,
        tab-separated lines without a header, every column in its place."""
        if not self.stdout_tty:
            for row in rows:
                self.stdout.write("\t".join(_field(cell) for cell in row) + "\n")
            return
        from rich.text import Text

        from sochi_cli.commands._table import lay_out

        cells = [[_plain(cell) for cell in row] for row in rows]
        below = [i for i, h in enumerate(headers) if h in under]
        console = self.console
        if title:
            console.print(Text(title, style="bold"), soft_wrap=True)
        for line in lay_out(headers, cells, console.width, under=below):
            console.print(Text(line.text, style="bold" if line.header else ""), soft_wrap=True)

    def table_with_notes(
        self,
        rows: Sequence[Sequence[Any]],
        headers: Sequence[str],
        notes: Sequence[str | None],
        *,
        fold: int,
        right: Collection[int] = (),
    ) -> None:
        """A terminal listing whose rows may carry a long note (a rejection reason), as gh
        and kubectl lay out theirs: borderless columns two spaces apart, every column but
        `fold` (a name) kept whole, `fold` given the rest of the width and folded in it,
        and each note on the lines under its row, indented to `fold` and folded to the
        width — nothing is cut off, however narrow the terminal. Cells may be rich `Text`
        (a coloured state). Scripts get `table` (the note as a column) instead.
        """
        from rich.cells import cell_len
        from rich.text import Text

        gap = "  "
        cells = [[c if isinstance(c, Text) else Text(_plain(c)) for c in row] for row in rows]
        widths = [
            max([cell_len(h), *(r[i].cell_len for r in cells)]) for i, h in enumerate(headers)
        ]
        width = self.console.width
        others = sum(w for i, w in enumerate(widths) if i != fold) + len(gap) * (len(widths) - 1)
        widths[fold] = max(min(widths[fold], width - others), _FOLD_AT_LEAST)
        indent = sum(widths[:fold]) + len(gap) * fold
        if width - indent < 2 * _FOLD_AT_LEAST:
            indent = len(gap)

        def line(parts: Sequence[Text], style: str = "") -> Text:
            out = Text(style=style)
            for i, part in enumerate(parts):
                if i:
                    out.append(gap)
                cell = part.copy()
                if i == len(parts) - 1 and i not in right:
                    out.append_text(cell)  # the last column is not padded: no trailing blanks
                    continue
                cell.align("right" if i in right else "left", widths[i])
                out.append_text(cell)
            out.rstrip()
            return out

        console = self.console
        console.print(line([Text(h) for h in headers], "bold"), soft_wrap=True)
        for row, note in zip(cells, notes, strict=True):
            folded = row[fold].wrap(console, widths[fold], overflow="fold")
            for n, part in enumerate(folded):
                if n == 0:
                    console.print(line([*row[:fold], part, *row[fold + 1 :]]), soft_wrap=True)
                else:
                    blank = [Text() for _ in row]
                    blank[fold] = part
                    console.print(line(blank), soft_wrap=True)
            if note:
                self.folded(note, indent=indent)

    def folded(self, text: str, *, indent: int = 0, style: str = "", err: bool = False) -> None:
        """`text` on a terminal, folded at word boundaries to the width, `indent` blanks
        before every line (a note under a table row, a legend); on stderr with `err`."""
        from rich.text import Text

        console = self.err_console if err else self.console
        for part in Text(text, style=style).wrap(console, max(console.width - indent, 1)):
            part.rstrip()
            console.print(Text(" " * indent) + part, soft_wrap=True)

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """Key/value block, aligned on a terminal; `key<TAB>value` for scripts."""
        width = max((len(k) for k, _ in pairs), default=0)
        for key, value in pairs:
            if self.stdout_tty:
                # a long value (a command line, a message) folds under itself, never past
                # the terminal's edge
                lines = _fold_value(_plain(value), self.console.width - width - 2)
                self.stdout.write(f"{key.ljust(width)}  {lines[0]}\n")
                for more in lines[1:]:
                    self.stdout.write(f"{' ' * (width + 2)}{more}\n")
            else:
                self.stdout.write(f"{key}\t{_field(value)}\n")

    def record(
        self,
        pairs: Sequence[tuple[str, Any]],
        *,
        rows: Iterable[Sequence[Any]] | None = None,
        headers: Sequence[str] = (),
        text: str | None = None,
        summary: bool = False,
        under: Collection[str] = (),
    ) -> None:
        """One thing with its details: a key/value block, then rows (a table) or a text.

        On a terminal all of it. In a pipe one record type per stream: the rows alone, or,
        when there are none, the key/value block (`text` as its `body` field). `summary`
        (a command's --summary flag) asks for the key/value block alone.
        """
        if summary:
            self.fields(pairs)
        elif self.stdout_tty:
            self.fields(pairs)
            if rows is not None:
                self.line()
                self.table(rows, headers, under=under)
            if text is not None:
                self.line()
                self.line(text)
        elif rows is not None:
            self.table(rows, headers)
        else:
            self.fields([*pairs, *([("body", text)] if text is not None else [])])

    # messages (stderr) ------------------------------------------------------------------
    def info(self, message: str) -> None:
        if not self.quiet:
            self.stderr.write(message + "\n")

    def warn(self, message: str) -> None:
        """A warning on stderr; `--quiet` keeps results and errors only (the JSON of a
        command that has `warnings[]` still lists them)."""
        if not self.quiet:
            self.stderr.write(f"warning: {message}\n")

    def error(self, message: str) -> None:
        self.stderr.write(f"error: {message}\n")
        self.stderr.flush()

    @property
    def show_progress(self) -> bool:
        """A live display may go to stderr (a terminal, not --quiet); long commands decide
        with `--progress` (commands/_progress.py)."""
        return self.stderr_tty and not self.quiet


_FOLD_AT_LEAST = 12  # the folded column of `table_with_notes` keeps this much however narrow


def _fold_value(text: str, width: int) -> list[str]:
    if len(text) <= width or "\n" in text or width < 20:
        return [text]
    import textwrap

    return textwrap.wrap(text, width, break_on_hyphens=False) or [text]


def _plain(value: Any) -> str:
    """A value as people read it: instants (also stored as text) in Bishkek time labelled."""
    if value is None:
        return "-"
    if isinstance(value, datetime | str):
        from sochi_cli.timeutil import format_local, stored_instant

        moment = stored_instant(value)
        if moment is not None:
            return format_local(moment)
    if isinstance(value, date | Enum | Path):
        return str(json_default(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_plain(v) for v in value) or "-"
    return str(value)


def _field(value: Any) -> str:
    """A value as one tab-separated field for scripts: instants as `YYYY-MM-DDTHH:MM:SSZ`
    (as gh does off a terminal), tabs, newlines and backslashes escaped as in PostgreSQL's
    text format, so a record never spills onto the next line."""
    if isinstance(value, datetime | str):
        from sochi_cli.timeutil import iso_z, stored_instant

        moment = stored_instant(value)
        if moment is not None:
            return iso_z(moment)
    text = _plain(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


SummaryOpt = Annotated[
    bool,
    typer.Option("--summary", help="Only the key/value summary (in a pipe the rows come alone)."),
]


def _keys(data: Any) -> set[str]:
    if isinstance(data, dict):
        return set(data)
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return set(data[0])
    return set()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = [
    "ForceOpt",
    "JsonView",
    "Output",
    "SummaryOpt",
    "compile_jq",
    "dumps",
    "json_default",
    "refuse_existing",
]
