"""Helpers shared by the operator commands: the API client, date/duration options, completion.

Completion callbacks read only local files (config, caches): fast and offline.
"""

from __future__ import annotations

import os
import re
from datetime import date
from typing import TYPE_CHECKING

import typer

from sochi_cli.errors import UsageError

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.commands._context import AppContext


def connect(app: AppContext, *, authenticated: bool = True) -> OperatorClient:
    from sochi_cli.services.session import open_client

    return open_client(app.config, authenticated=authenticated)


def parse_date(text: str, flag: str) -> date:
    """`YYYY-MM-DD` or one clear line naming the option."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{flag} '{text}' is not a date YYYY-MM-DD") from None


def parse_days(text: str, flag: str) -> int:
    """`30d`, `30` or `4w` → days."""
    match = re.fullmatch(r"\s*(\d{1,4})\s*([dw]?)\s*", text)
    if not match:
        raise UsageError(f"{flag} '{text}' is not a number of days such as 30d")
    days = int(match.group(1))
    return days * 7 if match.group(2) == "w" else days


def today_bishkek() -> date:
    from sochi_cli.timeutil import to_bishkek, utcnow

    return to_bishkek(utcnow()).date()


def _profile_for_completion(ctx: typer.Context | None) -> str:
    profile = None
    if ctx is not None:
        profile = ctx.find_root().params.get("profile")
    try:
        from sochi_cli.store import config

        return config.load(profile or os.environ.get("SOCHI_PROFILE")).profile
    except Exception:
        return profile or "sandbox"


def complete_client_inn(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from sochi_cli.services.clients import cached_client_inns

    return [
        (inn, name)
        for inn, name in cached_client_inns(_profile_for_completion(ctx))
        if inn.startswith(incomplete)
    ]


def complete_form_code(ctx: typer.Context, incomplete: str) -> list[str]:
    from sochi_cli.forms.catalogue import cached_codes

    prefix = incomplete.upper()
    return [c for c in cached_codes(_profile_for_completion(ctx)) if c.upper().startswith(prefix)]


def complete_profile(incomplete: str) -> list[str]:
    try:
        from sochi_cli.store import config

        names = config.load(allow_new_profile=True).profiles
    except Exception:
        names = ["production", "sandbox"]
    return [n for n in names if n.startswith(incomplete)]


__all__ = [
    "complete_client_inn",
    "complete_form_code",
    "complete_profile",
    "connect",
    "parse_date",
    "parse_days",
    "today_bishkek",
]
