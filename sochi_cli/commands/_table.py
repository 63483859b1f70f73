"""How a table fits a terminal: borderless columns two spaces apart, as gh and kubectl lay
out theirs, where identifiers stay whole and free text folds or goes under its row.

A column whose cells have no blank in them (an INN, a submission or batch id, a date, a
state, an amount) is never broken or cut. A column of free text (a name, a message, a list
of counts) folds between words when the row is too wide, the widest first; when even that
is not enough, the widest text column leaves the row and is written on the lines under it,
indented and folded to the width — nothing is cut off, however narrow the terminal. Columns
named `under` (an error) always go under their row. A date and its time stay together.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import zip_longest

GAP = "  "
_GLUE = "\xa0"  # textwrap breaks at ASCII blanks only: a no-break space keeps words together
_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})")
_NUMBER = re.compile(r"-?(0|[1-9]\d{0,11})(\.\d+)?")  # an amount, a count; not an INN
_COMFORT = 20  # free text folded narrower than this goes under its row instead
_UNDER_AT_LEAST = 24  # text under a row keeps this much width, else it starts further left


@dataclass(frozen=True)
class Line:
    text: str
    header: bool = False


def lay_out(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int,
    *,
    under: Collection[int] = (),
) -> list[Line]:
    """The lines of a table `width` columns wide (the header first)."""
    rows = [[_DATE_TIME.sub(rf"\1{_GLUE}\2", cell) for cell in row] for row in rows]
    n = len(headers)
    natural = [max([len(headers[i]), *(len(r[i]) for r in rows)]) for i in range(n)]
    breakable = [any(" " in r[i] for r in rows) for i in range(n)]
    least = [
        max([len(headers[i]), *(len(w) for r in rows for w in r[i].split(" "))])
        if breakable[i]
        else natural[i]
        for i in range(n)
    ]
    # folded to fewer than this, a name or a message reads badly: it goes under the row first
    comfort = [max(least[i], min(natural[i], _COMFORT)) for i in range(n)]
    numeric = [
        bool(rows) and all(_NUMBER.fullmatch(r[i]) or r[i] == "-" for r in rows) for i in range(n)
    ]
    instants = {i for i in range(n) if any(_GLUE in r[i] for r in rows)}

    def fit(shown: list[int], floor: list[int]) -> tuple[dict[int, int], int]:
        widths = {i: natural[i] for i in shown}
        excess = sum(widths.values()) + len(GAP) * (len(shown) - 1) - width
        while excess > 0:
            shrinkable = [i for i in shown if widths[i] > floor[i]]
            if not shrinkable:
                break
            # free text first, the widest first; an instant's "(Bishkek)" only after that
            widest = max(shrinkable, key=lambda i: (i not in instants, widths[i], i))
            widths[widest] -= 1
            excess -= 1
        return widths, excess

    moved: list[int] = []
    while True:
        shown = [i for i in range(n) if i not in under and i not in moved]
        widths, excess = fit(shown, comfort)
        if excess <= 0:
            break
        text = [i for i in shown[1:] if breakable[i]]
        long = [i for i in text if natural[i] > _COMFORT]
        if not long:
            widths, excess = fit(shown, least)  # short text (a state) folds between words
            if excess <= 0:
                # ... on two lines at most: a name folded on three goes under its row
                long = [i for i in text if max(len(_fold(r[i], widths[i])) for r in rows) > 2]
                if not long:
                    break
            elif not text:
                break  # only identifiers are left: they stay whole, the line runs on
        moved.append(max(long or text, key=lambda i: (natural[i], i)))
    below = sorted(moved) + [i for i in range(n) if i in under]
    indent = widths[shown[0]] + len(GAP) if len(shown) > 1 else 0
    if width - indent < _UNDER_AT_LEAST:
        indent = len(GAP)

    def line(cells: Sequence[str]) -> str:
        parts = []
        for k, (i, cell) in enumerate(zip(shown, cells, strict=True)):
            if numeric[i]:
                parts.append(cell.rjust(widths[i]))
            elif k < len(shown) - 1:
                parts.append(cell.ljust(widths[i]))
            else:
                parts.append(cell)  # the last column is not padded: no trailing blanks
        return GAP.join(parts).rstrip().replace(_GLUE, " ")

    out = [Line(line([headers[i] for i in shown]), header=True)]
    for row in rows:
        folded = [_fold(row[i], widths[i]) for i in shown]
        out += [Line(line([c or "" for c in cells])) for cells in zip_longest(*folded)]
        for i in below:
            if row[i] and row[i] != "-":
                out += [
                    Line(" " * indent + part.replace(_GLUE, " "))
                    for part in _fold(row[i], max(width - indent, 1))
                ]
    return out


def _fold(text: str, width: int) -> list[str]:
    # textwrap, not rich's wrapping: it breaks only at ASCII blanks, so the glued date and
    # time stay on one line, and folds a word longer than the column instead of cutting it.
    return textwrap.wrap(text, width, break_on_hyphens=False, drop_whitespace=True) or [""]


__all__ = ["GAP", "Line", "lay_out"]
