"""Access from abroad (clauses 3.5–3.6): a static IP, location and period, filed with the INN."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sochi_cli.errors import UsageError, ValidationFailed
from sochi_cli.forms.inn import check_inn

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import AbroadRequest

MAX_DAYS = 365


@dataclass
class AbroadInput:
    inn: str
    ip: str
    country: str
    city: str
    date_from: date
    date_to: date
    email: str


def check_abroad(req: AbroadInput) -> AbroadInput:
    """Local checks with one clear line each, before anything is sent."""
    inn = check_inn(req.inn)
    try:
        address = ipaddress.ip_address(req.ip.strip())
    except ValueError:
        raise UsageError(f"--ip '{req.ip}' is not an IP address") from None
    if not address.is_global:
        raise ValidationFailed(
            f"--ip {address} is not a public static address",
            hint="give the static public IP you will connect from",
            code="ip_not_global",
        )
    country = req.country.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise UsageError(f"--country '{req.country}' is not an ISO 3166 alpha-2 code (e.g. DE)")
    if not req.city.strip():
        raise UsageError("--city cannot be empty")
    if req.date_to < req.date_from:
        raise ValidationFailed(f"--to {req.date_to} is before --from {req.date_from}")
    if (req.date_to - req.date_from).days > MAX_DAYS:
        raise ValidationFailed(f"the period abroad is longer than {MAX_DAYS} days")
    if "@" not in req.email:
        raise UsageError(f"--email '{req.email}' is not an e-mail address")
    return AbroadInput(
        inn, str(address), country, req.city.strip(), req.date_from, req.date_to, req.email
    )


def request_abroad(client: OperatorClient, req: AbroadInput) -> AbroadRequest:
    from sochi_cli.api import resources

    ok = check_abroad(req)
    return client.call(
        resources.access.request_abroad(
            inn=ok.inn,
            ip=ok.ip,
            country=ok.country,
            city=ok.city,
            date_from=ok.date_from,
            date_to=ok.date_to,
            email=ok.email,
        )
    )


__all__ = ["AbroadInput", "check_abroad", "request_abroad"]
