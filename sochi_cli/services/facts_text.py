"""JSON-like facts (a doctor finding's evidence, an audit record's details) as text people
read: scalars as words, lists and mappings as lines — never Python's `repr`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

SHORT_LIST = 60  # a list of scalars stays on its key's line up to this many characters


def scalar_text(value: Any) -> str:
    """One value as a word: dates ISO, instants in Bishkek time, yes/no, `-` for nothing,
    certificate names with their attributes named."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        from sochi_cli.timeutil import format_local

        return format_local(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        from sochi_cli.names import readable_dn

        return readable_dn(value)  # a certificate's name as `cert show` writes it
    return str(value)


def inline_text(value: Any) -> str:
    """Any value on one line: `a=1, b=(c=2, d=3), e=[x, y]` (for a table cell)."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_nested(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_nested(v) for v in value)
    return scalar_text(value)


def _nested(value: Any) -> str:
    if isinstance(value, Mapping):
        return f"({inline_text(value)})" if value else "()"
    if isinstance(value, list | tuple | set | frozenset):
        return f"[{inline_text(value)}]"
    return scalar_text(value)


def fact_lines(facts: Mapping[str, Any], indent: str = "") -> list[str]:
    """`facts` as lines: `key: value`; a list of records one `- …` line per record; a
    mapping as its own indented lines; an empty list or mapping as `none`."""
    lines: list[str] = []
    for key, value in facts.items():
        label = f"{indent}{str(key).replace('_', ' ')}:"
        if isinstance(value, Mapping):
            if not value:
                lines.append(f"{label} none")
            else:
                lines.append(label)
                lines.extend(fact_lines(value, indent + "  "))
        elif isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            if not items:
                lines.append(f"{label} none")
            elif all(not isinstance(v, Mapping | list | tuple) for v in items) and (
                len(joined := inline_text(items)) <= SHORT_LIST
            ):
                lines.append(f"{label} {joined}")
            else:
                lines.append(label)
                lines.extend(f"{indent}  - {inline_text(v)}" for v in items)
        else:
            lines.append(f"{label} {scalar_text(value)}")
    return lines


__all__ = ["fact_lines", "inline_text", "scalar_text"]
