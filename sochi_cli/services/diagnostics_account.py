"""Doctor checks that ask the operator about the account: registration (clause 3.3), balance
against this month's debit and the 30-day rule (3.9, 3.10, 5.1–5.3), tariffs; powers of
attorney and detached clients (3.2, 4.3.10); access from abroad (3.5, 3.6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import ExitCode
from sochi_cli.services.diagnostics import Check, Finding
from sochi_cli.services.diagnostics_context import DoctorContext, SkipCheck

if TYPE_CHECKING:
    from sochi_cli.api.models import Account, Charge, Client

POA_WARN_DAYS = 30
UNPAID_SUSPENSION_DAYS = 30  # clause 5.3
ABROAD_WARN_DAYS = 3
_REFUSED = int(ExitCode.REFUSED)


def _account(ctx: DoctorContext) -> Account:
    """GET /account, or a skip that names the check which explains why not."""
    if ctx.findings.get("operator.session") is not None:
        session = ctx.findings["operator.session"]
        if session.result.value == "fail":
            raise SkipCheck("needs a session (see operator.session)")
    return ctx.account()  # abroad, maintenance, no session: run_check names the owning check


# -- account ---------------------------------------------------------------------------------


def _activation_due(account: Account) -> datetime | None:
    registration = account.registration
    if registration.requested_at is None:
        return None
    if registration.channel == "office":
        return registration.requested_at + timedelta(hours=24)
    day, left = registration.requested_at, 7  # 7 working days, Mon–Fri
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def check_registration(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.timeutil import format_local

    account = _account(ctx)
    registration = account.registration
    evidence = {
        "state": registration.state,
        "channel": registration.channel,
        "requested_at": registration.requested_at,
        "activated_at": registration.activated_at,
        "kind": account.kind,
    }
    if registration.state != "active":
        due = _activation_due(account)
        when = f"; expected by {format_local(due)}" if due else ""
        return check.fail(
            f"registration is {registration.state}: filing and clients are refused until it "
            f"is active (24 h at the office, 7 working days remotely{when})",
            evidence=evidence,
            fix="wait for activation; if it is late, call the support centre: sochi support",
            exit_code=_REFUSED,
        )
    return check.ok(f"{account.kind.replace('_', ' ')}, registration active", evidence=evidence)


def _unpaid_since(charges: list[Charge]) -> datetime | None:
    """When the balance last reached zero (the start of the clause-5.3 30 days)."""
    since = None
    for charge in reversed(charges):  # newest first
        if charge.balance_after is None or charge.balance_after > 0:
            break
        since = charge.at
    return since


def check_balance(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.services.account import balance_report, list_charges, som
    from sochi_cli.timeutil import format_local

    _account(ctx)
    client = ctx.client()
    report = balance_report(client, ctx.today())
    data = report.to_json()
    balance = report.balance.balance
    evidence = {k: data[k] for k in ("balance", "status", "month_end", "runs_out_on")}
    evidence["projected_month_end_debit"] = data["projected_month_end_debit"]
    top_up = "top up the personal account (clause 5.2: bank transfer or cash), then: " + (
        "sochi account balance"
    )
    if balance <= 0:
        since = _unpaid_since(list_charges(client, limit=50))
        text = f"balance {som(balance)} KGS: paid services are stopped (clause 3.10)"
        if since is not None:
            stop = since + timedelta(days=UNPAID_SUSPENSION_DAYS)
            evidence["unpaid_since"] = since
            evidence["suspension_from"] = stop
            text += (
                f"; unpaid since {format_local(since)}, the operator may suspend the "
                f"agreement from {format_local(stop)} (clause 5.3)"
            )
        return check.fail(text, evidence=evidence, fix=top_up, exit_code=_REFUSED)
    if report.month_end_debit and balance < report.month_end_debit * 2:
        return check.warn(
            f"balance {som(balance)} KGS; the E-Cloud debit of {som(report.monthly_fee)} KGS "
            f"at {report.month_end} leaves {som(balance - report.month_end_debit)} KGS "
            f"(runs out {report.runs_out_on})",
            evidence=evidence,
            fix=top_up,
        )
    return check.ok(
        f"balance {som(balance)} KGS, month-end E-Cloud debit {som(report.month_end_debit)} KGS",
        evidence=evidence,
    )


def check_tariff(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.services.account import get_tariffs, som

    account = _account(ctx)
    tariffs = get_tariffs(ctx.client())
    fees = [t.amount for t in tariffs.items if t.code.startswith("submission:")]
    evidence: dict[str, Any] = {
        "ecloud_subscribed": account.ecloud.subscribed,
        "ecloud_monthly_fee": som(account.ecloud.monthly_fee),
        "tariffs": {t.code: som(t.amount) for t in tariffs.items},
    }
    parts = []
    if account.ecloud.subscribed:
        parts.append(f"E-Cloud {som(account.ecloud.monthly_fee)} KGS/month")
    if fees:
        parts.append(f"filing {som(min(fees))}–{som(max(fees))} KGS per report")
    return check.ok("; ".join(parts) or "no tariffs published", evidence=evidence)


# -- clients and powers of attorney ------------------------------------------------------------


def _clients(ctx: DoctorContext, status: str) -> list[Client]:
    from sochi_cli.services.clients import list_clients

    account = _account(ctx)
    if account.kind != "tax_representative":
        raise SkipCheck("a self-filer has no clients")
    # status given: the completion cache is not rewritten (the doctor changes nothing)
    clients = ctx.memo(
        f"clients:{status}", lambda: list_clients(ctx.client(), ctx.profile, status=status)
    )
    ctx.note_names(*(c.name for c in clients))
    return clients


def _poa_fix(inn: str) -> str:
    return (
        f"get a new power of attorney from the client, then: sochi clients renew {inn} "
        "--poa-scan SCAN.pdf --poa-number N --issued YYYY-MM-DD --valid-until YYYY-MM-DD; "
        f'if you no longer represent them: sochi clients detach {inn} --reason "…" --yes'
    )


def _expiring_text(soon: list[Any]) -> str:
    names = ", ".join(
        f"{r.name} ({r.inn}, {r.valid_until}, in {r.days_left} day(s))" for r in soon[:5]
    )
    more = f" and {len(soon) - 5} more" if len(soon) > 5 else ""
    return f"{len(soon)} power(s) of attorney end within {POA_WARN_DAYS} days: {names}{more}"


def check_poa(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.services.clients import poa_rows

    clients = _clients(ctx, "active")
    rows = poa_rows(clients, ctx.today(), POA_WARN_DAYS)
    bad = [r for r in rows if r.state != "valid" or (r.days_left is not None and r.days_left < 0)]
    soon = [r for r in rows if r not in bad]
    evidence = {
        "active_clients": len(clients),
        "expired": [r.to_json() for r in bad],
        "expiring": [r.to_json() for r in soon],
    }
    expiring = _expiring_text(soon)
    if bad:
        first = bad[0]
        names = ", ".join(f"{r.name} ({r.inn}, {r.state})" for r in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        # the failure must not hide the POAs about to join it (both kinds, one summary)
        return check.fail(
            f"{len(bad)} client(s) without a valid power of attorney: {names}{more} — "
            "filing for them is refused" + (f"; and {expiring}" if soon else ""),
            evidence=evidence,
            fix=_poa_fix(first.inn)
            + (
                f"; then the ones ending soon: sochi poa list --expiring {POA_WARN_DAYS}d"
                if soon
                else ""
            ),
            exit_code=_REFUSED,
        )
    if soon:
        return check.warn(
            expiring,
            evidence=evidence,
            fix=f"sochi poa list --expiring {POA_WARN_DAYS}d; then {_poa_fix(soon[0].inn)}",
        )
    return check.ok(
        f"{len(clients)} active clients, every power of attorney valid", evidence=evidence
    )


def check_detached(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.services.diagnostics_trouble import recent_items

    detached = _clients(ctx, "detached")
    by_inn = {c.inn: c for c in detached}
    evidence: dict[str, Any] = {"detached": [{"inn": c.inn, "name": c.name} for c in detached]}
    tried = []
    for item in recent_items(ctx, limit=500):
        client = by_inn.get(item.client_inn)
        if client is None or client.detached_at is None:
            continue
        if item.updated_at >= client.detached_at.isoformat().replace("+00:00", "Z"):
            tried.append(item)
    if tried:
        inns = sorted({i.client_inn for i in tried})
        evidence["filed_after_detach"] = inns
        return check.warn(
            f"reports were prepared for detached client(s) {', '.join(inns)}: the operator "
            "refuses them (clause 4.3.10)",
            evidence=evidence,
            fix=f"remove them from your manifests and folders; sochi clients show {inns[0]}",
        )
    return check.ok(f"{len(detached)} detached client(s), none filed for since", evidence=evidence)


# -- access from abroad --------------------------------------------------------------------------


def _said(value: Any) -> str | None:
    """A member of the operator's problem, when it is a non-empty string."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def check_abroad(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.api import resources
    from sochi_cli.api.errors import GeoBlocked
    from sochi_cli.services.session import session_info

    config = ctx.require_config()
    info = session_info(config)  # not logged in: skipped (see operator.session)
    try:
        ctx.account()
    except GeoBlocked as err:
        subscriber = info.subscriber or {}
        inn = subscriber.get("inn") or "INN"
        # what the operator saw (docs/api.md: `country`, `ip` of geo_blocked); placeholders
        # only for what it did not say and for what only the subscriber knows
        country = _said(err.problem.get("country")) or "XX"
        ip = _said(err.problem.get("ip"))
        where = f" ({country}, IP {ip})" if ip and country != "XX" else ""
        return check.fail(
            f"the operator refuses this connection from abroad{where}: outside Kyrgyzstan it "
            "serves only a static IP with an approved request (clause 3.6)",
            evidence={
                "error": err.code,
                "operator_says": err.message,
                "country": country if country != "XX" else None,
                "ip": ip,
            },
            fix=(
                f"sochi access abroad --inn {inn} --ip {ip or 'YOUR_STATIC_IP'} --country "
                f"{country} --city CITY --from {ctx.today()} --to YYYY-MM-DD --email "
                "YOUR_REGISTERED_EMAIL"
            ),
            exit_code=_REFUSED,
        )
    requests = ctx.client().call(resources.access.list_abroad()).items
    today = ctx.today()
    current = [r for r in requests if r.state == "approved" and r.from_ <= today <= r.to]
    evidence = {"requests": [r.to_json() for r in requests]}
    if not current:
        return check.ok(
            "the operator serves this connection; no abroad request is in force",
            evidence=evidence,
        )
    ends = max(r.to for r in current)
    ips = ", ".join(sorted({r.ip for r in current}))
    text = f"the operator serves this connection; the abroad request for {ips} runs until {ends}"
    if (ends - today).days < ABROAD_WARN_DAYS:
        return check.warn(
            text,
            evidence=evidence,
            fix="if you are still abroad after that, file a new request: sochi access abroad "
            "--help",
        )
    return check.ok(text, evidence=evidence)


CHECKS = [
    Check("account.registration", "Registration", check_registration, "3.3", network=True),
    Check("account.balance", "Balance", check_balance, "3.9, 3.10, 5.3", network=True),
    Check("account.tariff", "Tariff", check_tariff, "5.1", network=True),
    Check("representation.poa", "Powers of attorney", check_poa, "3.2", network=True),
    Check("representation.detached", "Detached clients", check_detached, "4.3.10", network=True),
    Check("access.abroad", "Access from abroad", check_abroad, "3.5, 3.6", network=True),
]

__all__ = ["CHECKS"]
