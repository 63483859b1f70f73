"""Served taxpayers and their powers of attorney (clauses 3.2, 4.3.10) for tax representatives.

The INNs of the last `clients list` are cached locally for shell completion only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import NotFound, UsageError, ValidationFailed
from sochi_cli.forms.inn import check_inn, inn_kind
from sochi_cli.store import paths

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Client

CLIENTS_CACHE = "clients.json"


def clients_cache_path(profile: str) -> Path:
    return paths.profile_cache_dir(profile) / CLIENTS_CACHE


def cached_client_inns(profile: str) -> list[tuple[str, str]]:
    """(INN, name) pairs from the last `clients list`; no network, no pydantic."""
    try:
        data = json.loads(clients_cache_path(profile).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [
        (str(i["inn"]), str(i.get("name", ""))) for i in data if isinstance(i, dict) and "inn" in i
    ]


def _remember(profile: str, clients: list[Client]) -> None:
    from sochi_cli.store.files import write_cache

    rows = [{"inn": c.inn, "name": c.name} for c in clients]
    write_cache(
        clients_cache_path(profile), json.dumps(rows, ensure_ascii=False).encode(), "client list"
    )


def match_client(text: str, known: list[tuple[str, str]]) -> str:
    """The INN `text` names: an INN itself, a client's name or a unique prefix of one.

    `known` is (INN, name) pairs. Digits are taken as an INN. Names match case-insensitively:
    an exact name first, then names (or any of their words) starting with `text`. Several
    matches → UsageError naming them (exit 2); none → NotFound (exit 9).
    """
    value = " ".join(text.split())
    if not value:
        raise UsageError("a client is an INN, a name or the start of a name; got nothing")
    if value.isdigit():
        return value  # an INN (checked where it is used: a bad one is exit 4)
    wanted = value.casefold()
    exact = [(inn, name) for inn, name in known if name.casefold() == wanted]
    if len(exact) == 1:
        return exact[0][0]
    hits = exact or [
        (inn, name)
        for inn, name in known
        if name.casefold().startswith(wanted)
        or any(word.startswith(wanted) for word in name.casefold().split())
    ]
    unique = {inn: name for inn, name in hits}
    if len(unique) == 1:
        return next(iter(unique))
    if not unique:
        raise NotFound(
            f"no client named {value!r}",
            hint="give the INN, the name or its first letters; see `sochi clients list`",
        )
    raise _ambiguous(value, list(unique.items()))


AMBIGUOUS_SHOWN = 5  # matches named on the error line; --json's error.details has all


def _ambiguous(value: str, hits: list[tuple[str, str]]) -> UsageError:
    shown = ", ".join(f"{name} ({inn})" for inn, name in hits[:AMBIGUOUS_SHOWN])
    more = len(hits) - AMBIGUOUS_SHOWN
    hint = "give more of the name, or the INN"
    if more > 0:
        shown += f" and {more} more"
        hint += "; `sochi --json …` lists every match (error.details.matches)"
    return UsageError(
        f"{value!r} matches {len(hits)} clients: {shown}",
        hint=hint,
        code="client_ambiguous",
        details={"matches": [{"inn": inn, "name": name} for inn, name in hits]},
    )


def resolve_client(client: OperatorClient, profile: str, text: str) -> str:
    """`match_client` against the operator's client list (an INN is taken as it is)."""
    value = text.strip()
    if value.isdigit():
        return value
    known = [(c.inn, c.name) for c in list_clients(client, profile)]
    return match_client(value, known)


def resolve_client_offline(profile: str, text: str) -> str:
    """`match_client` against the client list cached by the last `sochi clients list`."""
    value = text.strip()
    if value.isdigit():
        return value
    known = cached_client_inns(profile)
    if not known:
        raise UsageError(
            f"cannot look up the client {value!r}: no client list cached yet",
            hint="run `sochi clients list` once, or give the INN",
        )
    return match_client(value, known)


def client_names(profile: str) -> dict[str, str]:
    """INN → name from the cached client list (empty when none is cached); no network."""
    return dict(cached_client_inns(profile))


def names_for(client: OperatorClient, profile: str, inns: Iterable[str | None]) -> dict[str, str]:
    """INN → name for these INNs from the cached client list, refreshed from the operator
    once when one of them is not in it (a client added since); the account's own INN and
    a self-filer (no client list) stay unnamed."""
    from sochi_cli.errors import OperatorRefused

    names = client_names(profile)
    if {inn for inn in inns if inn} - names.keys():
        with contextlib.suppress(OperatorRefused):  # a self-filer has no clients
            names = {c.inn: c.name for c in list_clients(client, profile)}
    return names


def list_clients(client: OperatorClient, profile: str, status: str | None = None) -> list[Client]:
    from sochi_cli.api import resources

    if status not in (None, "active", "detached"):
        raise UsageError(f"unknown status '{status}'", hint="use active or detached")
    clients = list(client.iterate(resources.clients.list(status=status, limit=500)))
    if status is None:
        _remember(profile, clients)
    return clients


def get_client(client: OperatorClient, inn: str) -> Client:
    from sochi_cli.api import resources

    return client.call(resources.clients.get(check_inn(inn)))


@dataclass
class NewPoa:
    number: str
    issued_on: date
    valid_until: date
    scan: Path
    notarised: bool = False
    period_from: str | None = None
    period_to: str | None = None


def sha256_file(path: Path) -> str:
    from sochi_cli.store.files import input_file

    digest = hashlib.sha256()
    with input_file(path, "power of attorney scan"), path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_month(value: str | None, what: str) -> None:
    if value is None:
        return
    try:
        date.fromisoformat(f"{value}-01")
    except ValueError:
        raise UsageError(f"{what} '{value}' is not a month YYYY-MM") from None


def add_client(client: OperatorClient, inn: str, name: str, poa: NewPoa) -> Client:
    """Register a taxpayer with its POA; the scan stays local, its SHA-256 is sent."""
    from sochi_cli.api import resources

    inn = check_inn(inn, what="client INN")
    if not name.strip():
        raise UsageError("the client's name cannot be empty")
    return client.call(resources.clients.add(inn, name.strip(), _poa_body(inn, poa)))


def _poa_body(inn: str, poa: NewPoa) -> dict[str, Any]:
    from sochi_cli.api import resources

    if not poa.number.strip():
        raise UsageError("the power of attorney number cannot be empty")
    if poa.valid_until < poa.issued_on:
        raise ValidationFailed(
            f"the power of attorney is valid until {poa.valid_until}, before it was issued "
            f"({poa.issued_on})",
            code="poa_dates",
        )
    if inn_kind(inn) == "natural" and not poa.notarised:
        raise ValidationFailed(
            "a natural person's power of attorney must be notarised (clause 3.2)",
            hint="pass --notarised if it is",
            code="poa_not_notarised",
        )
    _check_month(poa.period_from, "--period-from")
    _check_month(poa.period_to, "--period-to")
    return resources.poa_body(
        number=poa.number.strip(),
        issued_on=poa.issued_on,
        valid_until=poa.valid_until,
        notarised=poa.notarised,
        scan_sha256=sha256_file(poa.scan),
        period_from=poa.period_from,
        period_to=poa.period_to,
    )


def renew_poa(client: OperatorClient, inn: str, poa: NewPoa) -> Client:
    """Record a new power of attorney (scan hash, number, dates) for an active client."""
    from sochi_cli.api import resources

    inn = check_inn(inn, what="client INN")
    return client.call(resources.clients.replace_poa(inn, _poa_body(inn, poa)))


def attach_client(client: OperatorClient, inn: str, poa: NewPoa, name: str | None = None) -> Client:
    """Represent a detached client again, on a new power of attorney."""
    from sochi_cli.api import resources

    inn = check_inn(inn, what="client INN")
    return client.call(resources.clients.attach(inn, _poa_body(inn, poa), name))


def detach_client(client: OperatorClient, inn: str, reason: str | None) -> Client:
    """Written notification to the operator that representation ended (clause 4.3.10)."""
    from sochi_cli.api import resources

    return client.call(resources.clients.detach(check_inn(inn), reason))


@dataclass
class PoaRow:
    inn: str
    name: str
    number: str | None
    issued_on: date | None
    valid_until: date | None
    notarised: bool | None
    state: str
    days_left: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "inn": self.inn,
            "name": self.name,
            "number": self.number,
            "issued_on": self.issued_on,
            "valid_until": self.valid_until,
            "notarised": self.notarised,
            "state": self.state,
            "days_left": self.days_left,
        }


def poa_rows(clients: list[Client], today: date, expiring_within: int | None) -> list[PoaRow]:
    """Powers of attorney of active clients; with `expiring_within`, only those that end
    within that many days (already expired ones included), soonest first."""
    rows: list[PoaRow] = []
    for c in clients:
        if c.status != "active":
            continue
        poa = c.poa
        days = (poa.valid_until - today).days if poa else None
        state = "missing" if poa is None else (c.poa_state or "valid")
        row = PoaRow(
            c.inn,
            c.name,
            poa.number if poa else None,
            poa.issued_on if poa else None,
            poa.valid_until if poa else None,
            poa.notarised if poa else None,
            state,
            days,
        )
        too_far = days is not None and expiring_within is not None and days > expiring_within
        if too_far:
            continue
        rows.append(row)
    rows.sort(key=lambda r: (r.days_left is not None, r.days_left or 0))
    return rows


__all__ = [
    "NewPoa",
    "PoaRow",
    "add_client",
    "attach_client",
    "cached_client_inns",
    "client_names",
    "clients_cache_path",
    "detach_client",
    "get_client",
    "list_clients",
    "match_client",
    "names_for",
    "poa_rows",
    "renew_poa",
    "resolve_client",
    "resolve_client_offline",
    "sha256_file",
]
