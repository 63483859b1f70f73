"""Help text in gh's shape (USAGE, FLAGS, EXAMPLES, EXIT CODES), plain text at any width.

Rendered here rather than by rich/Typer: flag names are never cut, boolean flags carry no
type metavar, defaults are shown, and `sochi --help` needs neither typer nor any command
module (it reads the `COMMANDS` table). A command's help comes from its click command:
the docstring, its parameters, and its epilog, whose `Examples:` and `Exit codes:`
paragraphs become sections (a sub-command without examples of its own gets the lines of
its group's examples that call it).
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from collections.abc import Iterable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

PROG = "sochi"
MIN_WIDTH, MAX_WIDTH = 40, 100
FLAG_COLUMN_MAX = 30  # wider flag columns put the description on the next line

# The root's flags that work on every command (cli.py hoists them from anywhere on the line).
GLOBAL_FLAGS: tuple[tuple[str, str], ...] = (
    ("--json [FIELDS]", "JSON on stdout; FIELDS (a comma list, e.g. id,state) keeps only those"),
    ("--jq EXPR", "filter the JSON with a jq expression, like gh (implies --json)"),
    ("--profile NAME", "profile to use (env: SOCHI_PROFILE)"),
    ("-q, --quiet", "only results and errors on the terminal"),
    ("-v, --verbose", "debug logs (libraries' too) and tracebacks on stderr"),
    ("--no-color", "no colour (also NO_COLOR)"),
    ("-h, --help", "show help for a command (also `sochi help COMMAND`)"),
)
ROOT_FLAGS: tuple[tuple[str, str], ...] = (
    ("-V, --version", "show the version"),
    ("--install-completion", "install shell completion for the current shell"),
    ("--show-completion", "print the completion script, to install it by hand"),
)
ROOT_EXAMPLES = (
    "sochi login --key-file demo/representative.p12",
    "sochi submit reports/ --wait",
    "sochi batch show last",
    "sochi events --follow --json",
    "sochi help submit",
)
TUI_LINE = "Run `sochi tui` for the full-screen interface."


def width() -> int:
    """Columns to fill: $COLUMNS, else the terminal's width, within 40–100."""
    raw = os.environ.get("COLUMNS", "")
    columns = int(raw) if raw.isdigit() else shutil.get_terminal_size((80, 24)).columns
    return max(MIN_WIDTH, min(MAX_WIDTH, columns))


# -- building blocks ------------------------------------------------------------------------
def _reflow(text: str, columns: int, indent: str = "") -> list[str]:
    """Paragraphs of `text` (blank-line separated) wrapped to `columns`, `indent` added."""
    lines: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        joined = " ".join(paragraph.split())
        if not joined:
            continue
        if lines:
            lines.append("")
        lines.extend(
            textwrap.wrap(
                joined,
                columns,
                initial_indent=indent,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [indent]
        )
    return lines


def _two_columns(
    rows: Sequence[tuple[str, str]], columns: int, left_width: int | None = None
) -> list[str]:
    """`  left   right` rows; the right side wraps, the left is never cut."""
    if not rows:
        return []
    if left_width is None:  # the widest name that fits; longer ones get their own line
        left_width = max((len(left) for left, _ in rows if len(left) <= FLAG_COLUMN_MAX), default=0)
    out: list[str] = []
    for left, right in rows:
        text_width = max(20, columns - 2 - left_width - 3)
        wrapped = textwrap.wrap(
            " ".join(right.split()), text_width, break_long_words=False, break_on_hyphens=False
        ) or [""]
        pad = " " * (2 + left_width + 3)
        if len(left) > left_width:
            out.append(f"  {left}")
            out.extend(pad + line for line in wrapped)
            continue
        out.append(f"  {left.ljust(left_width)}   {wrapped[0]}".rstrip())
        out.extend(pad + line for line in wrapped[1:])
    return out


def _section(title: str, lines: Iterable[str]) -> list[str]:
    body = list(lines)
    return ["", title.upper(), *body] if body else []


def _examples(lines: Iterable[str], columns: int) -> list[str]:
    """`  $ sochi …` lines; a long one continues on the next lines after ` \\` at a flag."""
    out: list[str] = []
    for line in lines:
        current = f"  $ {line}"
        if len(current) <= columns:
            out.append(current)
            continue
        parts = re.split(r" (?=--?[A-Za-z])", line)
        current = f"  $ {parts[0]}"
        for part in parts[1:]:
            if len(current) + 1 + len(part) + 2 > columns:
                out.append(current + " \\")
                current = f"      {part}"
            else:
                current += f" {part}"
        out.append(current)
    return out


# -- the root, from the COMMANDS table (no imports) ---------------------------------------------
def root_help(*, no_args: bool = False) -> str:
    """`sochi --help`: every command by panel, the global flags, examples."""
    from sochi_cli.commands import COMMANDS

    columns = width()
    out = [
        "Terminal client for СОчИ, the Kyrgyz Internet reporting system.",
        "",
        *_reflow(
            "Sign reports with a RuToken, E-Cloud key or key file, file them for yourself or "
            "for the taxpayers you represent, and keep your own verifiable copy of everything "
            "filed.",
            columns,
        ),
    ]
    if no_args:
        out += ["", TUI_LINE]
    out += _section("usage", [f"  {PROG} <command> [subcommand] [flags]"])
    panels: dict[str, list[tuple[str, str]]] = {}
    for name, entry in COMMANDS.items():
        panels.setdefault(entry.panel, []).append((f"{name}:", entry.help))
    panels.setdefault("Setup and help", []).append(
        ("help:", "Help about any command: `sochi help COMMAND [SUBCOMMAND]`.")
    )
    name_width = max(len(left) for rows in panels.values() for left, _ in rows)
    for panel, rows in panels.items():
        out += _section(f"{panel} commands", _two_columns(rows, columns, name_width))
    out += _section("flags", _two_columns([*ROOT_FLAGS, *GLOBAL_FLAGS], columns))
    out += _section("examples", _examples(ROOT_EXAMPLES, columns))
    out += _section(
        "learn more",
        _reflow(
            "Use `sochi help <command>` or `sochi <command> --help` for a command's flags, "
            "examples and exit codes. Exit codes, JSON fields and conventions: docs/cli.md.",
            columns,
            "  ",
        ),
    )
    return "\n".join(out) + "\n"


# -- a command or group, from its click object ------------------------------------------------
def _annotation(param: Any) -> Any:
    descriptor = getattr(param, "type_descriptor", None)
    return getattr(descriptor, "annotation", None)


def _metavar(param: Any) -> str:
    """What follows a flag that takes a value: never a type name like <int range>."""
    if param.metavar:
        return str(param.metavar)
    annotation = _annotation(param)
    inner = getattr(annotation, "__args__", None)
    if inner and getattr(annotation, "__origin__", None) is list:
        annotation = inner[0]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "|".join(str(m.value) for m in annotation)
    if annotation is Path:
        return "DIR" if "dir" in param.name else "FILE"
    if annotation in (int, float):
        return "N"
    longest = str(max(param.opts, key=len)).lstrip("-")
    return longest.upper().replace("-", "_")


def _default_text(param: Any) -> str | None:
    if param.show_default is False or param.required:
        return None
    default = param.default
    if callable(default):
        return None
    if param.is_flag:
        if param.secondary_opts:
            return str(param.opts[0] if default else param.secondary_opts[0])
        return None
    if default is None or default in ([], ()):
        return None
    if isinstance(default, Enum):
        default = default.value
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    return str(default)


def flag_rows(params: Iterable[Any]) -> dict[str, list[tuple[str, str]]]:
    """Visible options grouped by panel (None = the command's own flags), as help rows."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for param in params:
        if getattr(param, "param_type_name", "") != "option" or getattr(param, "hidden", False):
            continue
        if "--help" in param.opts:
            continue
        names = sorted(param.opts, key=lambda o: (len(o) > 2, o))
        left = ", ".join(names + list(param.secondary_opts))
        if not param.is_flag:
            left += f" {_metavar(param)}"
        help_text = re.sub(r"\s*\[default: ([^\]]*)\]", r" (default: \1)", param.help or "")
        help_text = help_text.strip().rstrip(".")
        notes = []
        default = _default_text(param)
        if default is not None and "default:" not in help_text:
            notes.append(f"default: {default}")
        if param.envvar and isinstance(param.envvar, str) and param.envvar not in help_text:
            notes.append(f"env: {param.envvar}")
        if notes:
            help_text += f" ({'; '.join(notes)})"
        panel = getattr(param, "rich_help_panel", None) or ""
        groups.setdefault(panel, []).append((left, help_text))
    return groups


def _usage(path: Sequence[str], command: Any, is_group: bool) -> str:
    parts = [PROG, *path]
    if is_group:
        parts.append("<command>")
    for param in command.params:
        if getattr(param, "param_type_name", "") != "argument":
            continue
        name = str(param.metavar or param.name.upper())
        if param.nargs == -1:
            name += "..."
        parts.append(name if param.required else f"[{name}]")
    parts.append("[flags]")
    return "  " + " ".join(parts)


def _epilog_parts(epilog: str | None) -> tuple[list[str], list[str], list[str]]:
    """(examples, exit-code paragraphs, other paragraphs) of an epilog."""
    examples: list[str] = []
    exit_codes: list[str] = []
    notes: list[str] = []
    if not epilog:
        return examples, exit_codes, notes
    for paragraph in re.split(r"\n\s*\n", epilog.strip()):
        text = paragraph.strip()
        if re.fullmatch(r"Examples?:", text):
            continue
        if paragraph.startswith("  ") or re.match(r"(\w+=\S+\s+)*sochi\b", text):
            examples.extend(line.strip() for line in paragraph.splitlines() if line.strip())
        elif text.lower().startswith("exit code"):
            exit_codes.append(text.split(":", 1)[1].strip() if ":" in text else text)
        else:
            notes.append(text)
    return examples, exit_codes, notes


def examples_for(path: Sequence[str], command: Any, parent: Any | None) -> list[str]:
    """The command's examples; else its group's examples that call it; for a group
    without examples, the first example of each of its sub-commands."""
    own, _, _ = _epilog_parts(getattr(command, "epilog", None))
    if own:
        return own
    subcommands = getattr(command, "commands", None)
    if isinstance(subcommands, dict) and subcommands:
        found: list[str] = []
        for name, sub in subcommands.items():
            found += examples_for([*path, name], sub, command)[:1]
        return found
    if parent is None:
        return []
    called = " ".join([PROG, *path])
    group, _, _ = _epilog_parts(getattr(parent, "epilog", None))
    return [line for line in group if _without_globals(line).startswith(called)]


def _without_globals(example: str) -> str:
    """`SOCHI_PIN=… sochi --profile p --json cert show` → `sochi cert show`."""
    text = re.sub(r"^(\w+=\S+\s+)+", "", example)
    text = re.sub(r"\s--profile(=|\s+)\S+", "", text)
    return re.sub(r"\s(--json|-q|--quiet|-v|--verbose|--no-color)(?=\s|$)", "", text)


def command_help(path: Sequence[str], command: Any, parent: Any | None = None) -> str:
    """Help of one command or group (`path` = its words after `sochi`)."""
    columns = width()
    found = getattr(command, "commands", None)
    subcommands: dict[str, Any] = found if isinstance(found, dict) else {}
    is_group = bool(subcommands)
    out = _reflow(command.help or command.short_help or "", columns)
    out += _section("usage", [_usage(path, command, is_group)])
    if is_group:
        rows = [
            (f"{name}:", _first_sentence(sub))
            for name, sub in subcommands.items()
            if not getattr(sub, "hidden", False)
        ]
        out += _section("commands", _two_columns(rows, columns))
    arguments = [
        (str(p.metavar or p.name.upper()), (p.help or "").strip().rstrip("."))
        for p in command.params
        if getattr(p, "param_type_name", "") == "argument" and p.help
    ]
    out += _section("arguments", _two_columns(arguments, columns))
    for panel, rows in sorted(flag_rows(command.params).items(), key=lambda kv: kv[0] != ""):
        out += _section(f"{panel} flags" if panel else "flags", _two_columns(rows, columns))
    out += _section("global flags", _two_columns(GLOBAL_FLAGS, columns))
    _, exit_codes, notes = _epilog_parts(getattr(command, "epilog", None))
    examples = examples_for(path, command, parent)
    for note in notes:
        out += ["", *_reflow(note, columns)]
    out += _section("examples", _examples(examples, columns))
    if exit_codes:
        out += _section("exit codes", _exit_code_rows(" ".join(exit_codes), columns))
    more = (
        f"Use `sochi help {' '.join(path)} <command>` for a sub-command's flags and examples. "
        if is_group
        else ""
    )
    out += _section(
        "learn more",
        _reflow(more + "Exit codes and JSON fields: docs/cli.md.", columns, "  "),
    )
    return "\n".join(out) + "\n"


def _exit_code_rows(text: str, columns: int) -> list[str]:
    """`0 ok; 4 validation failed; …` as one code per row (free text stays a paragraph)."""
    parts = [p.strip().rstrip(".") for p in re.split(r";\s*(?=\d+\s)", text.strip())]
    rows = [re.match(r"(\d+)\s+(.*)", p, re.S) for p in parts]
    if not all(rows):
        return _reflow(text, columns, "  ")
    return _two_columns([(m.group(1), m.group(2)) for m in rows if m], columns)


def _first_sentence(command: Any) -> str:
    text = (command.short_help or command.help or "").strip()
    return " ".join(text.split("\n\n", 1)[0].split())


__all__ = [
    "GLOBAL_FLAGS",
    "TUI_LINE",
    "command_help",
    "examples_for",
    "flag_rows",
    "root_help",
    "width",
]
