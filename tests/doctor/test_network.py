"""Doctor, network group: unreachable operator, offline, DNS, TLS (real https server), proxy
variables, latency, and this machine's clock against the sandbox clock controls."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sochi_cli.errors import ExitCode
from tests.api.servers import self_signed, serve
from tests.api.test_transport import free_port
from tests.doctor.conftest import Sandbox, finding, result_of, run

NETWORK = ("network.dns", "network.tcp", "network.tls", "network.latency", "network.clock")


def test_unreachable_operator_fails_once_and_skips_what_needs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOCHI_API_URL", f"http://127.0.0.1:{free_port()}/api/v1")
    report = run(None, "network", "operator", "account", "setup")
    tcp = finding(report, "network.tcp")
    assert tcp.result.value == "fail" and tcp.exit_code == ExitCode.UNAVAILABLE
    assert "Connection refused" in tcp.summary and tcp.fix.startswith("sochi sandbox serve")
    for check in ("network.latency", "operator.status", "account.balance"):
        skipped = finding(report, check)
        assert skipped.result.value == "skipped", check
        assert skipped.summary == "the operator cannot be reached (see network.tcp)"
    assert result_of(report, "setup.journal") == "ok"  # local checks still run
    assert report.exit_code == ExitCode.UNAVAILABLE


def test_offline_skips_every_network_check_with_a_note(sb: Sandbox) -> None:
    report = run(sb, "network", "operator", "signing", offline=True)
    for check_id in NETWORK:
        assert finding(report, check_id).summary == "--offline"
    assert result_of(report, "network.proxy") == "ok"  # reads the environment only
    assert result_of(report, "operator.session") == "skipped"
    assert result_of(report, "signing.key") == "ok"  # the key file is local


def test_healthy_network_to_the_sandbox(sb: Sandbox) -> None:
    report = run(sb, "network")
    assert result_of(report, "network.dns") == "ok"
    assert result_of(report, "network.tcp") == "ok"
    tls = finding(report, "network.tls")
    assert tls.result.value == "skipped" and "plain http to the loopback" in tls.summary
    assert finding(report, "network.latency").evidence["median_ms"] < 2000
    assert result_of(report, "network.clock") == "ok"
    assert report.exit_code == 0


def test_dns_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCHI_API_URL", "https://sochi.invalid/api/v1")  # RFC 6761: never resolves
    report = run(None, "network")
    dns = finding(report, "network.dns")
    assert dns.result.value == "fail" and dns.exit_code == ExitCode.UNAVAILABLE
    assert dns.fix.startswith("getent hosts sochi.invalid")
    assert finding(report, "network.tcp").summary.endswith("(see network.dns)")


# -- TLS against a real https server ------------------------------------------------------------


@pytest.fixture(scope="module")
def https_sandbox(
    doctor_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    """The same sandbox app served over TLS with a self-signed certificate for 127.0.0.1."""
    certfile, keyfile = self_signed(tmp_path_factory.mktemp("tls"))
    with serve(doctor_sandbox.app, certfile=certfile, keyfile=keyfile) as root:
        yield root + "/api/v1", certfile


def test_tls_certificate_that_does_not_verify(
    sb: Sandbox, https_sandbox: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = https_sandbox
    monkeypatch.setenv("SOCHI_API_URL", api)
    report = run(sb, "network")
    tls = finding(report, "network.tls")
    assert tls.result.value == "fail" and tls.exit_code == ExitCode.UNAVAILABLE
    assert "does not verify" in tls.summary and "sochi config set ca_bundle" in tls.fix
    assert tls.evidence["presented"]["subject"] == "CN=127.0.0.1"  # what the server showed
    assert result_of(report, "network.latency") == "skipped"


def test_tls_certificate_trusted_through_ca_bundle(
    sb: Sandbox, https_sandbox: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, certfile = https_sandbox
    monkeypatch.setenv("SOCHI_API_URL", api)
    monkeypatch.setenv("SOCHI_CA_BUNDLE", str(certfile))
    report = run(sb, "network")
    tls = finding(report, "network.tls")
    assert tls.result.value == "warn", tls  # the throwaway certificate lives 2 days
    assert tls.evidence["certificate"]["subject"] == "CN=127.0.0.1"
    assert tls.evidence["tls_version"].startswith("TLS")
    assert result_of(report, "network.latency") == "ok"


# -- proxy, latency, clock --------------------------------------------------------------------


def test_proxy_variables_are_shown_without_passwords_and_loopback_proxying_warns(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://alice:s3cret-proxy-pw@proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxy = finding(run(sb, "network", offline=True), "network.proxy")
    assert proxy.result.value == "warn" and "NO_PROXY=127.0.0.1" in proxy.fix
    assert proxy.evidence["used_for_operator"] == "http://proxy.example:3128"
    assert "s3cret-proxy-pw" not in repr(proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    proxy = finding(run(sb, "network", offline=True), "network.proxy")
    assert proxy.result.value == "ok" and "not used for 127.0.0.1" in proxy.summary


def test_slow_operator_warns(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    # /status is exempt from the sandbox's chaos latency; the threshold is lowered instead.
    from sochi_cli.services import diagnostics_network

    monkeypatch.setattr(diagnostics_network, "LATENCY_WARN_MS", -1)
    latency = finding(run(sb, "network"), "network.latency")
    assert latency.result.value == "warn" and "median" in latency.summary


def test_clock_skew_against_the_operator(sb: Sandbox) -> None:
    """This machine's real clock; the operator's moved with the sandbox clock controls."""

    def real() -> datetime:
        return datetime.now(UTC)

    sb.control("PUT", "clock", {"now": None})  # the operator on real time
    assert result_of(run(sb, "network", clock=real), "network.clock") == "ok"
    sb.control("POST", "clock/advance", {"seconds": 200})  # this machine 200 s behind
    clock = finding(run(sb, "network", clock=real), "network.clock")
    assert clock.result.value == "warn" and "behind" in clock.summary
    sb.control("POST", "clock/advance", {"seconds": -800})  # this machine 600 s ahead
    clock = finding(run(sb, "network", clock=real), "network.clock")
    assert clock.result.value == "fail" and clock.exit_code == ExitCode.AUTH
    assert "signing_time_in_future" in clock.summary and "ntp" in clock.fix.lower()
    assert clock.clause == "8.2.3"
