"""Doctor: a check never blames its own subject for a condition another check owns — the
connection refused from abroad (access.abroad), maintenance (operator.status), a session that
ended (operator.session), an unreachable operator (network.tcp). The whole doctor runs, as a
user runs it, with a locked key file whose certificate has to come from the operator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from sochi_cli.errors import ExitCode
from tests.api.conftest import WEDNESDAY_NOON
from tests.api.test_transport import free_port
from tests.batch.operator import friday_evening
from tests.doctor.conftest import Sandbox, finding, login, run
from tests.support import run_cli

# the checks whose subject is the key or the certificate, and need the operator on the way
CERTIFICATE_CHECKS = ("signing.certificate", "signing.expiry", "signing.renewal")


def _abroad(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    sb.control("PUT", "geo", {"country": "DE", "ip": "85.10.1.1"})


def _maintenance(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    sb.control("PUT", "clock", {"now": friday_evening(WEDNESDAY_NOON).isoformat()})


def _session_ended(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    sb.control("POST", "clock/advance", {"seconds": 31 * 86400})  # refresh tokens live 30 days


def _network_down(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCHI_API_URL", f"http://127.0.0.1:{free_port()}/api/v1")


CONDITIONS: dict[str, tuple[Callable[[Sandbox, pytest.MonkeyPatch], None], str, int]] = {
    "abroad": (_abroad, "access.abroad", ExitCode.REFUSED),
    "maintenance": (_maintenance, "operator.status", ExitCode.UNAVAILABLE),
    "session ended": (_session_ended, "operator.session", ExitCode.AUTH),
    "network down": (_network_down, "network.tcp", ExitCode.UNAVAILABLE),
}


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_only_the_owner_fails_and_the_key_is_not_blamed(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, condition: str
) -> None:
    make, owner, code = CONDITIONS[condition]
    login(sb)
    monkeypatch.delenv("SOCHI_KEY_PASSPHRASE")  # the certificate comes from the operator
    make(sb, monkeypatch)
    report = run(sb)
    failed = [f.id for f in report.findings if f.result.value == "fail"]
    assert failed == [owner], [(f.id, f.summary) for f in report.findings if f.id in failed]
    assert report.exit_code == code
    key = finding(report, "signing.key")
    assert key.result.value == "ok" and key.exit_code is None
    assert "its certificate is not checked: " in key.summary and f"(see {owner})" in key.summary
    assert key.evidence["certificate_from"] is None
    for check_id in CERTIFICATE_CHECKS:
        skipped = finding(report, check_id)
        assert skipped.result.value == "skipped", (check_id, skipped.summary)
        assert skipped.summary.endswith(f"(see {owner})"), (check_id, skipped.summary)


def test_abroad_with_only_signing_skips_and_names_the_group_that_checks_it(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(sb)
    monkeypatch.delenv("SOCHI_KEY_PASSPHRASE")
    _abroad(sb, monkeypatch)
    report = run(sb, "signing")
    assert [f.id for f in report.findings if f.result.value == "fail"] == []
    assert finding(report, "signing.key").result.value == "ok"
    certificate = finding(report, "signing.certificate")
    assert certificate.result.value == "skipped"
    assert certificate.summary == (
        "the operator refuses this connection from abroad (`sochi doctor --only access` checks it)"
    )
    assert report.exit_code != ExitCode.AUTH


def test_abroad_cli_exit_code_is_the_access_failure(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit's case as typed: `sochi doctor` abroad, key file, no passphrase."""
    login(sb)
    monkeypatch.delenv("SOCHI_KEY_PASSPHRASE")
    _abroad(sb, monkeypatch)
    result = run_cli("doctor")
    assert result.code == ExitCode.REFUSED, result.stdout
    lines = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}
    assert lines["signing.key"][1] == "ok"
    assert lines["access.abroad"][1] == "fail"


def test_an_unreachable_operator_nobody_else_saw_is_reported_once(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the network group the first check to meet it reports it (its own exit
    code, its own words); the next ones point at that check."""
    monkeypatch.setenv("SOCHI_ACCESS_TOKEN", "a-token-the-operator-would-check")
    _network_down(sb, monkeypatch)
    report = run(sb, "account")
    registration = finding(report, "account.registration")
    assert registration.result.value == "fail"
    assert registration.exit_code == ExitCode.UNAVAILABLE
    assert "cannot reach the operator" in registration.summary
    for check_id in ("account.balance", "account.tariff"):
        skipped = finding(report, check_id)
        assert skipped.result.value == "skipped"
        assert skipped.summary == "the operator cannot be reached (see account.registration)"
    assert report.exit_code == ExitCode.UNAVAILABLE


def test_a_wrong_passphrase_is_still_the_key_files_fault(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard only moves the operator's conditions: the subject's own errors stay."""
    _abroad(sb, monkeypatch)
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", "not-the-passphrase")
    key = finding(run(sb, "signing", "access"), "signing.key")
    assert key.result.value == "fail" and key.exit_code == ExitCode.AUTH
    assert "wrong passphrase" in key.summary


def test_session_ended_message_stays_on_the_session(sb: Sandbox) -> None:
    login(sb)
    sb.control("POST", "clock/advance", {"seconds": int(timedelta(days=31).total_seconds())})
    report = run(sb, "operator", "signing")
    assert finding(report, "operator.session").result.value == "fail"
    renewal = finding(report, "signing.renewal")
    assert renewal.result.value == "skipped"
    assert renewal.summary == "needs a session (see operator.session)"
