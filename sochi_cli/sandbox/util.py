"""Small helpers shared by the sandbox: instants on the wire, ids, INN checks, JSON bytes."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, date, datetime
from typing import Any

_INN = re.compile(r"[012]\d{13}")


def iso(moment: datetime | None) -> str | None:
    """`2026-11-27T11:21:26Z` (UTC, seconds precision), or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_now(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """An ISO-8601 instant; without an offset it means UTC (as the contract says)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def inn_problem(inn: str) -> str | None:
    """Why `inn` is not a valid INN, or None when it is."""
    if not _INN.fullmatch(inn):
        return "an INN is 14 digits starting with 0, 1 or 2"
    try:
        date(int(inn[5:9]), int(inn[3:5]), int(inn[1:3]))
    except ValueError:
        return "digits 2–9 of an INN must be a valid date DDMMYYYY"
    return None


def inn_kind(inn: str) -> str:
    """`legal` for INNs starting with 0, `natural` for 1 (woman) and 2 (man)."""
    return "legal" if inn.startswith("0") else "natural"


def canonical_json(data: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no spaces: the bytes receipts sign."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


__all__ = [
    "canonical_json",
    "inn_kind",
    "inn_problem",
    "iso",
    "iso_now",
    "new_id",
    "parse_iso",
]
