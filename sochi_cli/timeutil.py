"""Time: instants are UTC everywhere inside; people see Asia/Bishkek (UTC+6, no DST).

JSON carries every instant as `YYYY-MM-DDTHH:MM:SSZ` (`iso_z`), whatever precision or offset
it was stored or received with.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

BISHKEK = ZoneInfo("Asia/Bishkek")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Aware UTC instant; a naive value is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_bishkek(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(BISHKEK)


def format_local(moment: datetime) -> str:
    """`2026-11-27 17:30 (Bishkek)` — how instants are shown to people."""
    return to_bishkek(moment).strftime("%Y-%m-%d %H:%M (Bishkek)")


def local_span(starts: datetime, ends: datetime) -> str:
    """`2026-12-04 17:30–20:30` in Bishkek time; the end's date too when it is another day."""
    first, last = to_bishkek(starts), to_bishkek(ends)
    end = f"{last:%H:%M}" if last.date() == first.date() else f"{last:%Y-%m-%d %H:%M}"
    return f"{first:%Y-%m-%d %H:%M}–{end}"


def local_minute(stored: str) -> str:
    """A stored ISO instant (UTC unless it says otherwise) as `2026-11-27 17:30`, Bishkek time,
    for a table column labelled as Bishkek time; text that is not an instant is kept."""
    try:
        moment = datetime.fromisoformat(stored.replace("Z", "+00:00"))
    except ValueError:
        return stored
    return to_bishkek(moment).strftime("%Y-%m-%d %H:%M")


def iso_z(moment: datetime) -> str:
    """`2026-11-27T11:30:00Z`: the one JSON form of an instant (whole seconds, UTC)."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


# An ISO-8601 instant with a time zone (Z or ±HH:MM), seconds and maybe a fraction.
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})")


def normalize_instants(value: Any) -> Any:
    """`value` with every instant-shaped string rewritten as `iso_z` (lists and dicts walked).

    For JSON built from stored or received text (journal rows, operator answers): only a
    whole string that is an ISO instant with a time zone is touched.
    """
    if isinstance(value, str):
        if len(value) >= 20 and value[4] == "-" and _INSTANT.fullmatch(value):
            try:
                return iso_z(datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError:
                return value
        return value
    if isinstance(value, dict):
        return {k: normalize_instants(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize_instants(v) for v in value]
    return value


def stored_instant(value: Any) -> datetime | None:
    """`value` as an aware instant when it is one, or a string that is a whole ISO-8601
    instant with a time zone (`…Z`, `…+00:00`, any fraction); None for anything else."""
    if isinstance(value, datetime):
        return as_utc(value)
    if not isinstance(value, str) or len(value) < 20 or value[4:5] != "-":
        return None
    if not _INSTANT.fullmatch(value):
        return None
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def format_stored(value: Any) -> str:
    """An instant (or stored instant text) as people see it, `2026-11-27 17:30 (Bishkek)`;
    anything else as text (`-` for None) — for messages that name a moment."""
    moment = stored_instant(value)
    if moment is not None:
        return format_local(moment)
    return "-" if value is None else str(value)


def parse_instant(text: str) -> datetime:
    """ISO-8601 date or date-time; without an offset it means Bishkek local time."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BISHKEK)
    return moment.astimezone(UTC)


__all__ = [
    "BISHKEK",
    "as_utc",
    "format_local",
    "format_stored",
    "iso_z",
    "local_minute",
    "local_span",
    "normalize_instants",
    "parse_instant",
    "stored_instant",
    "to_bishkek",
    "utcnow",
]
