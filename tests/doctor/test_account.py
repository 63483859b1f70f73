"""Doctor, account / representation / access groups against the sandbox: balance (zero,
short of the E-Cloud debit, healthy), registration, powers of attorney, detached clients,
and the abroad rule decided from the operator's answer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from sochi_cli.errors import ExitCode
from sochi_cli.timeutil import parse_instant
from tests.doctor.conftest import (
    PlannedFile,
    PlannedItem,
    Sandbox,
    bishkek_date,
    finding,
    login,
    result_of,
    run,
)
from tests.support import run_cli

NARYN = "02201202010011"  # demo client whose power of attorney expired
AK_SUU = "02010201910123"  # demo client with a valid power of attorney
OSH = "01108201710099"  # demo client detached 10 days before the seed


def test_healthy_account(sb: Sandbox) -> None:
    login(sb)
    report = run(sb, "account")
    registration = finding(report, "account.registration")
    assert registration.result.value == "ok" and registration.evidence["state"] == "active"
    balance = finding(report, "account.balance")
    assert balance.result.value == "ok" and balance.evidence["balance"] == "50000.00"
    tariff = finding(report, "account.tariff")
    assert tariff.result.value == "ok" and "per report" in tariff.summary


def test_zero_balance_fails_with_the_suspension_date(sb: Sandbox) -> None:
    login(sb)
    sb.control("PUT", "balance", {"inn": sb.rep["inn"], "balance": 0})
    balance = finding(run(sb, "account"), "account.balance")
    assert balance.result.value == "fail" and balance.exit_code == ExitCode.REFUSED
    assert "paid services are stopped (clause 3.10)" in balance.summary
    assert "clause 5.3" in balance.summary
    since = parse_instant(balance.evidence["unpaid_since"])  # evidence is JSON: `…Z` text
    assert parse_instant(balance.evidence["suspension_from"]) - since == timedelta(days=30)
    assert balance.fix.endswith("sochi account balance")


def test_balance_short_of_the_ecloud_debit_warns(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(sb, "self_filer", monkeypatch)
    sb.control("PUT", "balance", {"inn": sb.self_filer["inn"], "balance": 60_000})  # 600 KGS
    balance = finding(run(sb, "account"), "account.balance")
    assert balance.result.value == "warn" and "E-Cloud debit of 500.00 KGS" in balance.summary
    sb.control("PUT", "balance", {"inn": sb.self_filer["inn"], "balance": 300_000})
    assert result_of(run(sb, "account"), "account.balance") == "ok"


def test_pending_registration_fails(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    login(sb, "pending", monkeypatch)
    registration = finding(run(sb, "account"), "account.registration")
    assert registration.result.value == "fail" and registration.exit_code == ExitCode.REFUSED
    assert "7 working days remotely" in registration.summary
    assert "expected by" in registration.summary and registration.clause == "3.3"


# -- powers of attorney ------------------------------------------------------------------------


@dataclass
class Poa:
    sb: Sandbox

    def set(self, valid_until: date) -> None:
        today = date.fromisoformat(bishkek_date(self.sb.now()))
        token = _token()
        self.sb.api_call(
            "PUT",
            f"clients/{NARYN}/poa",
            token,
            {
                "number": "POA-0004",
                "issued_on": (today - timedelta(days=500)).isoformat(),
                "valid_until": valid_until.isoformat(),
            },
        )


def _token() -> str:
    import json

    from sochi_cli.services.session import session_path

    return str(json.loads(session_path("sandbox").read_text())["access_token"])


@pytest.fixture
def poa(sb: Sandbox) -> Iterator[Poa]:
    login(sb)
    holder = Poa(sb)
    yield holder
    today = date.fromisoformat(bishkek_date(sb.now()))
    holder.set(today - timedelta(days=30))  # back to the seed's expired POA


def test_expired_poa_fails(poa: Poa, sb: Sandbox) -> None:
    report = run(sb, "representation")
    check = finding(report, "representation.poa")
    assert check.result.value == "fail" and check.exit_code == ExitCode.REFUSED
    assert "Naryn Agro LLC" in check.summary and NARYN in check.summary
    assert f"sochi clients detach {NARYN}" in check.fix and check.clause == "3.2"
    assert [r["inn"] for r in check.evidence["expired"]] == [NARYN]


def test_expiring_poa_warns_and_a_valid_one_is_ok(poa: Poa, sb: Sandbox) -> None:
    today = date.fromisoformat(bishkek_date(sb.now()))
    poa.set(today + timedelta(days=12))
    check = finding(run(sb, "representation"), "representation.poa")
    assert check.result.value == "warn" and NARYN in check.summary
    assert check.evidence["expiring"][0]["days_left"] == 12
    assert check.fix.startswith("sochi poa list --expiring 30d")
    poa.set(today + timedelta(days=200))
    check = finding(run(sb, "representation"), "representation.poa")
    assert check.result.value == "ok" and "every power of attorney valid" in check.summary


def test_an_expired_poa_does_not_hide_one_ending_in_5_days(poa: Poa, sb: Sandbox) -> None:
    """Naryn's POA expired and Ak-Suu's ends in 5 days: the failure names both, so fixing
    the first does not leave the second to fail next week unannounced."""
    token = _token()
    original = sb.api_call("GET", f"clients/{AK_SUU}", token)["poa"]
    today = date.fromisoformat(bishkek_date(sb.now()))
    ends = today + timedelta(days=5)
    fields = ("number", "issued_on", "notarised", "scan_sha256", "period_from", "period_to")
    kept = {k: original[k] for k in fields if original.get(k) is not None}
    sb.api_call("PUT", f"clients/{AK_SUU}/poa", token, {**kept, "valid_until": ends.isoformat()})
    try:
        check = finding(run(sb, "representation"), "representation.poa")
    finally:
        sb.api_call(
            "PUT", f"clients/{AK_SUU}/poa", token, {**kept, "valid_until": original["valid_until"]}
        )
    assert check.result.value == "fail" and check.exit_code == ExitCode.REFUSED
    assert f"Naryn Agro LLC ({NARYN}, expired)" in check.summary
    assert f"Ak-Suu Trade LLC ({AK_SUU}, {ends}, in 5 day(s))" in check.summary
    assert [r["inn"] for r in check.evidence["expired"]] == [NARYN]
    assert [r["inn"] for r in check.evidence["expiring"]] == [AK_SUU]
    assert check.fix.startswith(f"get a new power of attorney from the client, then: sochi "
                                f"clients renew {NARYN}")  # fmt: skip
    assert check.fix.endswith("then the ones ending soon: sochi poa list --expiring 30d")


def test_self_filer_has_no_clients(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    login(sb, "self_filer", monkeypatch)
    check = finding(run(sb, "representation"), "representation.poa")
    assert check.result.value == "skipped" and check.summary == "a self-filer has no clients"


def test_reports_prepared_for_a_detached_client_warn(sb: Sandbox, tmp_path: Path) -> None:
    login(sb)
    assert result_of(run(sb, "representation"), "representation.detached") == "ok"
    _journal_item(tmp_path, OSH)
    check = finding(run(sb, "representation"), "representation.detached")
    assert check.result.value == "warn" and OSH in check.summary
    assert check.fix.endswith(f"sochi clients show {OSH}") and check.clause == "4.3.10"


def _journal_item(tmp_path: Path, client_inn: str) -> None:
    """One planned item in the local journal (what `submit` writes before anything else)."""
    from sochi_cli.store.journal import Journal

    with Journal.for_profile("sandbox") as journal:
        journal.start_batch(
            [PlannedItem("k-" + client_inn, PlannedFile(tmp_path / "r.xml"), client_inn)],
            profile="sandbox",
            api_url="http://x",
            command="sochi submit r.xml",
        )


# -- access from abroad ------------------------------------------------------------------------


def test_abroad_without_an_approved_request_fails(sb: Sandbox) -> None:
    login(sb)
    sb.control("PUT", "geo", {"country": "DE", "ip": "92.62.72.10"})
    report = run(sb, "operator", "account", "representation", "access")
    abroad = finding(report, "access.abroad")
    assert abroad.result.value == "fail" and abroad.exit_code == ExitCode.REFUSED
    assert abroad.evidence["error"] == "geo_blocked" and abroad.clause == "3.5, 3.6"
    # the command is filled in with what the operator saw: its country and IP, from today
    today = bishkek_date(sb.now())
    assert abroad.fix.startswith(
        f"sochi access abroad --inn {sb.rep['inn']} --ip 92.62.72.10 --country DE --city CITY "
        f"--from {today} --to YYYY-MM-DD"
    )
    assert "XX" not in abroad.fix and "YOUR_STATIC_IP" not in abroad.fix
    assert "from abroad (DE, IP 92.62.72.10)" in abroad.summary
    assert (abroad.evidence["country"], abroad.evidence["ip"]) == ("DE", "92.62.72.10")
    # the other checks do not guess: they name the reason
    for check in ("operator.session", "account.balance", "representation.poa"):
        skipped = finding(report, check)
        assert skipped.result.value == "skipped", check
        assert "see access.abroad" in skipped.summary
    assert report.exit_code == ExitCode.REFUSED


def test_abroad_with_an_approved_request_is_served(sb: Sandbox) -> None:
    login(sb)
    today = date.fromisoformat(bishkek_date(sb.now()))
    filed = run_cli(
        "access", "abroad", "--inn", sb.rep["inn"], "--ip", "92.62.72.11", "--country", "DE",
        "--city", "Berlin", "--from", today.isoformat(),
        "--to", (today + timedelta(days=20)).isoformat(), "--email", "office@salyk-kenesh.kg",
    )  # fmt: skip
    assert filed.code == 0, filed.stderr
    sb.control("PUT", "geo", {"country": "DE", "ip": "92.62.72.11"})
    abroad = finding(run(sb, "access"), "access.abroad")
    assert abroad.result.value == "ok" and "request for 92.62.72.11 runs until" in abroad.summary


def test_domestic_connection(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    login(sb, "self_filer", monkeypatch)
    abroad = finding(run(sb, "access"), "access.abroad")
    assert abroad.result.value == "ok" and "no abroad request is in force" in abroad.summary
