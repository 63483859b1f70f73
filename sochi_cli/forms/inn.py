"""Kyrgyz INN (taxpayer number): 14 digits, kind digit, a DDMMYYYY date, a 5-digit serial."""

from __future__ import annotations

from datetime import date

from sochi_cli.errors import ValidationFailed

KINDS = {"0": "legal", "1": "natural", "2": "natural"}


def inn_problem(value: str) -> str | None:
    """Why `value` is not a valid INN, or None when it is."""
    if len(value) != 14 or not value.isdigit() or not value.isascii():
        return "an INN is 14 digits"
    if value[0] not in KINDS:
        return "the first digit of an INN is 0 (legal entity), 1 or 2 (natural person)"
    day, month, year = int(value[1:3]), int(value[3:5]), int(value[5:9])
    try:
        date(year, month, day)
    except ValueError:
        return f"digits 2–9 of an INN are a date DDMMYYYY, not {value[1:9]}"
    return None


def check_inn(value: str, *, what: str = "INN") -> str:
    """The INN itself, or ValidationFailed with one line saying what is wrong."""
    text = value.strip()
    problem = inn_problem(text)
    if problem:
        raise ValidationFailed(f"{what} '{value}' is invalid: {problem}", code="invalid_inn")
    return text


def inn_kind(value: str) -> str:
    return KINDS[value[0]]


__all__ = ["KINDS", "check_inn", "inn_kind", "inn_problem"]
