"""One taxpayer as a tax representative sees it: POA, submissions, fees paid for it, and
the last filing of every client (for the clients table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sochi_cli.api.models import Charge, Client, Submission
    from sochi_cli.services.obligations import Obligation
    from sochi_cli.store.config import Config


@dataclass(frozen=True)
class LastFiling:
    submission_id: str
    form: str
    period: str
    status: str
    received_at: datetime | None


@dataclass
class ClientDetail:
    client: Client
    submissions: list[Submission]
    charges: list[Charge] = field(default_factory=list)  # debits for its submissions
    obligations: list[Obligation] = field(default_factory=list)  # from two months back
    problems: list[str] = field(default_factory=list)

    @property
    def fees_paid(self) -> int:
        """Tyiyn debited for this client's submissions (charges are negative amounts)."""
        return sum(-c.amount for c in self.charges if c.amount < 0)


def client_detail(config: Config, inn: str) -> ClientDetail:
    from sochi_cli.errors import SochiError
    from sochi_cli.services.account import list_charges
    from sochi_cli.services.clients import get_client
    from sochi_cli.services.obligations import DueQuery, obligations_report
    from sochi_cli.services.session import open_client
    from sochi_cli.services.submissions import SubmissionFilter, list_submissions

    with open_client(config) as client:
        found = get_client(client, inn)
        submissions = list_submissions(client, SubmissionFilter(client_inn=found.inn))
        ids = {s.id for s in submissions}
        charges = [c for c in list_charges(client) if c.submission_id in ids]
        detail = ClientDetail(found, submissions, charges)
        try:
            report = obligations_report(client, config.profile, DueQuery(client=found.inn))
            detail.obligations = report.obligations
        except SochiError as err:
            detail.problems.append(f"obligations: {err.one_line()}")
    return detail


def client_list(config: Config) -> list[Client]:
    """Every client (active and detached) with its POA state; refreshes the completion cache."""
    from sochi_cli.services.clients import list_clients
    from sochi_cli.services.session import open_client

    with open_client(config) as client:
        return list_clients(client, config.profile)


def client_last_filings(config: Config) -> dict[str, LastFiling]:
    """The newest submission of every client (one pass over all submissions)."""
    from sochi_cli.services.session import open_client
    from sochi_cli.services.submissions import SubmissionFilter, list_submissions

    with open_client(config) as client:
        return last_filings(list_submissions(client, SubmissionFilter()))


def client_open_obligations(
    config: Config, clients: list[Client] | None = None
) -> dict[str, list[Obligation]]:
    """Each client's obligations that are overdue or due within a week and not accepted;
    `clients` (every client, as `client_list` returns them) when already held."""
    from sochi_cli.services.overview import open_obligations
    from sochi_cli.services.session import open_client

    found: dict[str, list[Obligation]] = {}
    with open_client(config) as client:
        for item in open_obligations(client, config.profile, clients=clients):
            found.setdefault(item.client_inn, []).append(item)
    return found


def last_filings(submissions: list[Submission]) -> dict[str, LastFiling]:
    """The newest submission per client INN (by received time, then list order)."""
    from datetime import UTC

    newest: dict[str, LastFiling] = {}
    floor = datetime.min.replace(tzinfo=UTC)
    for sub in submissions:
        seen = newest.get(sub.client_inn)
        moment = sub.received_at or floor
        if seen is None or moment >= (seen.received_at or floor):
            newest[sub.client_inn] = LastFiling(
                sub.id, sub.form, sub.period, sub.status, sub.received_at
            )
    return newest


__all__ = [
    "ClientDetail",
    "LastFiling",
    "client_detail",
    "client_last_filings",
    "client_list",
    "client_open_obligations",
    "last_filings",
]
