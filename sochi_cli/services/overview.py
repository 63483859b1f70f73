"""What needs the subscriber today: the facts every TUI screen's header shows and the
dashboard's attention list (interrupted batches, rejections, POAs, certificate, balance).

Two calls so the front-end can show the operator's state (no login needed) even when the
session is gone: `operator_state(config)` and `account_overview(config)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sochi_cli.errors import SochiError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Account, Client, Submission
    from sochi_cli.services.account import BalanceReport
    from sochi_cli.services.obligations import Obligation
    from sochi_cli.services.status import StatusReport
    from sochi_cli.store.config import Config

POA_WARNING_DAYS = 30
CERTIFICATE_WARNING_DAYS = 30
REJECTED_SHOWN = 20
REJECTED_WITHIN_DAYS = 62  # rejections older than two months are history, not a to-do
REJECTED_CHECKED = 2 * REJECTED_SHOWN  # the newest rejections checked for a later filing
DUE_SOON_DAYS = 7  # "due soon": not filed and due within a week
DUE_SHOWN = 30  # clients listed with something due; the rest are counted


@dataclass(frozen=True)
class Attention:
    """One thing to act on, with where the front-end should take the user for it."""

    kind: str  # overdue | due_soon | batch_interrupted | rejected | poa_expired | poa_expiring |
    # certificate | balance
    severity: str  # error | warning | info
    title: str
    detail: str
    screen: str  # batches | submissions | clients | certificates | home
    key: str | None = None  # batch id, submission id or client INN


@dataclass(frozen=True)
class CertificateFacts:
    serial: str
    not_after: datetime | None
    days_left: int | None
    status: str
    key_kind: str | None


@dataclass
class AccountOverview:
    """The logged-in account at a glance, plus what needs attention."""

    inn: str
    name: str
    kind: str  # self_filer | tax_representative
    balance: BalanceReport
    certificate: CertificateFacts | None
    unread_inbox: int
    clients: int
    today: date
    overdue: int = 0  # obligations past their deadline and not accepted
    due_soon: int = 0  # not filed yet, due within DUE_SOON_DAYS
    obligations_pending: bool = False  # an early copy: what is due is still being worked out
    attention: list[Attention] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # parts that could not be checked

    @property
    def balance_runs_out_this_month(self) -> bool:
        runs_out = self.balance.runs_out_on
        return runs_out is not None and (runs_out.year, runs_out.month) <= (
            self.today.year,
            self.today.month,
        )


def operator_state(config: Config) -> StatusReport:
    """`GET /status` without a session: up or in maintenance, windows, notices, skew."""
    from sochi_cli.services.session import open_client
    from sochi_cli.services.status import operator_status

    with open_client(config, authenticated=False) as client:
        return operator_status(client)


def account_overview(
    config: Config, *, early: Callable[[AccountOverview], None] | None = None
) -> AccountOverview:
    """The account, balance, certificate, inbox and attention list (needs a session).

    Raises for the account itself (not logged in, unreachable); later parts that fail are
    named in `problems` instead, so one bad endpoint does not blank the dashboard.
    The obligations take longest (every client × form × period of the window): `early`
    gets a copy of the overview without them as soon as everything else is known
    (`obligations_pending` set), so a dashboard can show it meanwhile. The account and the
    client list are fetched once and shared with the obligations.
    """
    from sochi_cli.services.account import balance_report, get_account
    from sochi_cli.services.session import open_client
    from sochi_cli.timeutil import to_bishkek, utcnow

    with open_client(config) as client:
        account = get_account(client)
        today = to_bishkek(utcnow()).date()
        balance = balance_report(client, today, account=account)
        if balance.balance.as_of is not None:  # the operator's calendar decides "today"
            today = to_bishkek(balance.balance.as_of).date()
        overview = AccountOverview(
            inn=account.inn,
            name=account.name,
            kind=account.kind,
            balance=balance,
            certificate=None,
            unread_inbox=0,
            clients=0,
            today=today,
        )
        _fill(overview, account, client, config, early)
    return overview


def _fill(
    overview: AccountOverview,
    account: Account,
    client: OperatorClient,
    config: Config,
    early: Callable[[AccountOverview], None] | None,
) -> None:
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    from sochi_cli.services.clients import list_clients

    clients: list[Client] | None = None
    if overview.kind == "tax_representative":
        try:  # listed once: the POA rows here, the taxpayers of the obligations there
            clients = list_clients(client, config.profile)
        except SochiError as err:
            overview.problems.append(f"clients: {err.one_line()}")
    steps: tuple[tuple[str, Callable[[], None]], ...] = (
        ("certificate", lambda: _certificate(overview, client, config)),
        ("inbox", lambda: _inbox(overview, client)),
        ("clients", lambda: _clients(overview, clients or [])),
        ("rejections", lambda: _rejections(overview, client, clients)),
        ("batches", lambda: _batches(overview, config.profile)),
    )
    # the obligations take longest: they run beside the other steps (own client)
    with ThreadPoolExecutor(max_workers=1) as pool:
        due = pool.submit(_obligations_apart, config, account, clients)
        for what, step in steps:
            try:
                step()
            except SochiError as err:
                overview.problems.append(f"{what}: {err.one_line()}")
        _balance(overview)
        if early is not None and not due.done():
            early(
                dataclasses.replace(
                    overview,
                    attention=_ranked(overview.attention),
                    problems=list(overview.problems),
                    obligations_pending=True,
                )
            )
        try:
            attention, overview.overdue, overview.due_soon = due.result()
            overview.attention.extend(attention)
        except SochiError as err:
            overview.problems.append(f"obligations: {err.one_line()}")
    overview.attention = _ranked(overview.attention)


def _balance(overview: AccountOverview) -> None:
    if not overview.balance_runs_out_this_month:
        return
    from sochi_cli.services.account import som

    overview.attention.append(
        Attention(
            "balance",
            "warning",
            "Balance runs out this month",
            f"{som(overview.balance.balance.balance)} {overview.balance.balance.currency} "
            f"left; the E-Cloud debit of {overview.balance.month_end:%d.%m} takes the rest",
            "home",
        )
    )


def _ranked(items: list[Attention]) -> list[Attention]:
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(items, key=lambda a: order.get(a.severity, 3))


def _certificate(overview: AccountOverview, client: OperatorClient, config: Config) -> None:
    from sochi_cli.services.account_certificates import list_certificates, normal_serial
    from sochi_cli.services.session import session_info
    from sochi_cli.timeutil import as_utc

    serial: str | None = None
    try:
        subscriber = session_info(config).subscriber or {}
        serial = subscriber.get("certificate_serial")
    except SochiError:
        serial = None
    certificates = list_certificates(client)
    chosen = None
    if serial:
        chosen = next(
            (c for c in certificates if normal_serial(c.serial) == normal_serial(str(serial))),
            None,
        )
    if chosen is None:
        valid = [c for c in certificates if c.status == "valid"]
        chosen = max(valid, key=lambda c: c.not_after or datetime.min) if valid else None
    if chosen is None:
        return
    days = None
    if chosen.not_after is not None:
        days = (as_utc(chosen.not_after).date() - overview.today).days
    overview.certificate = CertificateFacts(
        chosen.serial, chosen.not_after, days, chosen.status, chosen.key_kind
    )
    if days is not None and days <= CERTIFICATE_WARNING_DAYS:
        overview.attention.append(
            Attention(
                "certificate",
                "error" if days < 0 else "warning",
                "Certificate expired" if days < 0 else f"Certificate expires in {days} days",
                "renew it before filing (clause 18): E-Cloud renews by itself with unchanged "
                "requisites, a RuToken needs an office visit",
                "certificates",
                chosen.serial,
            )
        )


def _inbox(overview: AccountOverview, client: OperatorClient) -> None:
    from sochi_cli.services.inbox import list_items

    overview.unread_inbox = len(list_items(client, unread=True))


def _clients(overview: AccountOverview, clients: list[Client]) -> None:
    from sochi_cli.services.clients import poa_rows

    overview.clients = sum(1 for c in clients if c.status == "active")
    for row in poa_rows(clients, overview.today, POA_WARNING_DAYS):
        if row.state == "missing" or row.days_left is None:
            title, severity = "No power of attorney on file", "error"
        elif row.days_left < 0:
            title, severity = f"POA expired {-row.days_left} days ago", "error"
        else:
            title, severity = f"POA expires in {row.days_left} days", "warning"
        overview.attention.append(
            Attention(
                "poa_expired" if severity == "error" else "poa_expiring",
                severity,
                title,
                f"{row.name} ({row.inn}), POA {row.number or '-'} valid until "
                f"{row.valid_until or '-'}",
                "clients",
                row.inn,
            )
        )


def open_obligations(
    client: OperatorClient,
    profile: str,
    *,
    account: Account | None = None,
    clients: list[Client] | None = None,
) -> list[Obligation]:
    """Obligations overdue or due within DUE_SOON_DAYS and not accepted (the obligations
    service, issue 10), soonest deadline first. `account` and `clients` when already held."""
    from sochi_cli.services.obligations import DueQuery, obligations_report

    report = obligations_report(
        client, profile, DueQuery(within_days=DUE_SOON_DAYS), account=account, clients=clients
    )
    found = [o for o in report.obligations if o.state not in ("accepted", "upcoming")]
    found.sort(key=lambda o: (o.deadline, o.client_inn, o.form))
    return found


def _obligations_apart(
    config: Config, account: Account, clients: list[Client] | None
) -> tuple[list[Attention], int, int]:
    from sochi_cli.services.session import open_client

    with open_client(config) as client:
        found = open_obligations(client, config.profile, account=account, clients=clients)
    return _obligations(found)


def _obligations(found: list[Obligation]) -> tuple[list[Attention], int, int]:
    """Attention items per client with something overdue or due soon; the two counts."""
    attention: list[Attention] = []
    by_client: dict[str, list[Obligation]] = {}
    for item in found:
        by_client.setdefault(item.client_inn, []).append(item)
    overdue = sum(1 for o in found if o.overdue)
    due_soon = sum(1 for o in found if not o.overdue)
    ranked = sorted(
        by_client.values(),
        key=lambda items: (not any(o.overdue for o in items), min(o.deadline for o in items)),
    )
    for items in ranked[:DUE_SHOWN]:
        first = items[0]
        late = [o for o in items if o.overdue]
        listed = ", ".join(
            f"{o.form} {o.period} (due {o.deadline:%d.%m}, {o.state})" for o in items[:4]
        )
        more = f" and {len(items) - 4} more" if len(items) > 4 else ""
        if late:
            title, severity, kind = f"{len(late)} overdue", "error", "overdue"
        else:
            days = min(o.days_left for o in items)
            when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
            title, severity, kind = f"Due {when}", "warning", "due_soon"
        who = "you" if first.own else f"{first.client_name} ({first.client_inn})"
        attention.append(
            Attention(
                kind,
                severity,
                title,
                f"{who}: {listed}{more}",
                "clients" if not first.own else "file",
                None if first.own else first.client_inn,
            )
        )
    if len(ranked) > DUE_SHOWN:
        attention.append(
            Attention(
                "due_soon",
                "info",
                f"{len(ranked) - DUE_SHOWN} more clients have reports due",
                "`sochi due --within 7d` lists every one",
                "clients",
            )
        )
    return attention, overdue, due_soon


def _rejections(
    overview: AccountOverview, client: OperatorClient, clients: list[Client] | None
) -> None:
    """Rejections still to answer: the newest of each client's form and period, unless a
    later filing of it (a correction, accepted or still with the agency) followed."""
    from sochi_cli.services.obligations import recency
    from sochi_cli.services.submissions import SubmissionFilter, list_submissions

    since = overview.today - timedelta(days=REJECTED_WITHIN_DAYS)
    rejected = list_submissions(client, SubmissionFilter(status="rejected", since=since))
    latest: list[Submission] = []  # the newest rejection of each client, form and period
    seen: set[tuple[str, str, str]] = set()
    for sub in reversed(rejected):  # the listing is oldest first
        if (sub.client_inn, sub.form, sub.period) not in seen:
            seen.add((sub.client_inn, sub.form, sub.period))
            latest.append(sub)
    open_ones: list[Submission] = []
    # newest first, a few rows each (the operator filters by client, form and period); at
    # most REJECTED_CHECKED looked at, so a long history of answered ones costs nothing more
    for rejection in latest[:REJECTED_CHECKED]:
        key = SubmissionFilter(rejection.client_inn, rejection.form, rejection.period)
        answered = any(
            sub.status != "rejected" and recency(sub) > recency(rejection)
            for sub in list_submissions(client, key)
        )
        if not answered:
            open_ones.append(rejection)
            if len(open_ones) == REJECTED_SHOWN:
                break
    names = {c.inn: c.name for c in clients or []}
    for sub in open_ones:
        named = names.get(sub.client_inn)
        who = f"{named} ({sub.client_inn})" if named else f"client {sub.client_inn}"
        overview.attention.append(
            Attention(
                "rejected",
                "error",
                f"Rejected: {sub.form} {sub.period}",
                f"{who}: {_first_protocol_error(sub)}",
                "submissions",
                sub.id,
            )
        )


def _first_protocol_error(sub: Submission) -> str:
    if sub.protocol is None or not sub.protocol.errors:
        return "see the agency's protocol"
    first = sub.protocol.errors[0]
    more = len(sub.protocol.errors) - 1
    where = f"{first.path}: " if first.path else ""
    return where + first.message + (f" (and {more} more)" if more > 0 else "")


def _batches(overview: AccountOverview, profile: str) -> None:
    from sochi_cli.services.batches import is_resumable, list_batches

    for summary in list_batches(profile, limit=50).batches:
        if not is_resumable(summary):
            continue
        batch = summary.batch
        counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items()))
        overview.attention.append(
            Attention(
                "batch_interrupted",
                "warning",
                f"Batch {batch.id} was interrupted",
                f"{batch.item_count} item(s): {counts or 'none yet'}; resume files the rest "
                "exactly once",
                "batches",
                str(batch.id),
            )
        )


__all__ = [
    "AccountOverview",
    "Attention",
    "CertificateFacts",
    "account_overview",
    "open_obligations",
    "operator_state",
]
