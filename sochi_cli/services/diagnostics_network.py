"""Doctor checks of the path to the operator: proxy variables, DNS, TCP, TLS (the server
certificate's chain and expiry), latency, and this machine's clock against the operator's."""

from __future__ import annotations

import ipaddress
import socket
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sochi_cli.errors import ExitCode
from sochi_cli.names import name_text
from sochi_cli.services.diagnostics import Check, Finding
from sochi_cli.services.diagnostics_context import DOCTOR_TIMEOUT, DoctorContext, SkipCheck

LATENCY_WARN_MS = 2000
TLS_EXPIRY_WARN_DAYS = 14
SKEW_WARN_SECONDS = 120.0  # `sochi status` warns from here too
SKEW_FAIL_SECONDS = 300.0  # the operator refuses signing times more than 300 s ahead
_UNAVAILABLE = int(ExitCode.UNAVAILABLE)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    proxy: str | None  # the proxy URL (credentials removed) the client will go through

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host.strip("[]"))
        except ValueError:
            return False
        return True

    @property
    def loopback(self) -> bool:
        from sochi_cli.store.config import is_loopback_host

        return is_loopback_host(self.host)


def without_credentials(url: str) -> str:
    """`http://user:secret@proxy:3128` → `http://proxy:3128` (never show proxy passwords)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()


def proxy_settings() -> dict[str, str]:
    """Proxy variables in the environment (names lower-cased), credentials removed."""
    import urllib.request

    return {k: without_credentials(v) for k, v in urllib.request.getproxies_environment().items()}


def proxy_for(url: str) -> str | None:
    """The proxy httpx will use for `url` (it honours the same variables), if any."""
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    host = parts.hostname or ""
    # not in typeshed, documented in the module's source since Python 3.0
    if proxies and urllib.request.proxy_bypass_environment(host, proxies):  # type: ignore[attr-defined]
        return None
    chosen = proxies.get(parts.scheme) or proxies.get("all")
    return without_credentials(chosen) if chosen else None


def target(ctx: DoctorContext) -> Target:
    url = ctx.api_url
    if not url:
        raise SkipCheck("no api_url (see setup.config)")
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Target(parts.scheme, parts.hostname or "", port, proxy_for(url))


def _reach_fix(ctx: DoctorContext, where: Target) -> str:
    if where.loopback:
        return "sochi sandbox serve   (the sandbox profile talks to a local sandbox operator)"
    return "check the network, firewall and proxy; the address is `sochi config get api_url`"


# -- checks --------------------------------------------------------------------------------


def check_proxy(ctx: DoctorContext, check: Check) -> Finding:
    settings = proxy_settings()
    if not settings:
        return check.ok("no proxy variables set: direct connection", evidence={})
    evidence: dict[str, Any] = {"variables": settings}
    if ctx.api_url is None:
        return check.ok(f"proxy variables set: {_pairs(settings)}", evidence=evidence)
    where = target(ctx)
    evidence["used_for_operator"] = where.proxy
    if where.proxy and where.loopback:
        return check.warn(
            f"requests to the local operator {where.host} go through the proxy {where.proxy}",
            evidence=evidence,
            fix=f"export NO_PROXY={where.host},localhost   (loopback must not be proxied)",
        )
    if where.proxy:
        return check.ok(f"the operator is reached through {where.proxy}", evidence=evidence)
    return check.ok(f"proxy variables set, not used for {where.host}", evidence=evidence)


def _pairs(values: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items()))


def _hop(where: Target) -> tuple[str, int, str]:
    """Where DNS and TCP must reach: the proxy when one is used, else the operator."""
    if where.proxy:
        parts = urlsplit(where.proxy)
        return parts.hostname or "", parts.port or 80, "proxy"
    return where.host, where.port, "operator"


def check_dns(ctx: DoctorContext, check: Check) -> Finding:
    where = target(ctx)
    host, port, role = _hop(where)
    try:
        ipaddress.ip_address(host.strip("[]"))
        return check.ok(f"{host} is an IP address: no lookup needed", evidence={"host": host})
    except ValueError:
        pass
    started = time.monotonic()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return check.fail(
            f"cannot resolve the {role} {host}: {getattr(exc, 'strerror', None) or exc}",
            evidence={"host": host, "role": role},
            fix=f"getent hosts {host}   (check the DNS settings and the network)",
            exit_code=_UNAVAILABLE,
        )
    addresses = sorted({str(info[4][0]) for info in infos})
    ms = int((time.monotonic() - started) * 1000)
    return check.ok(
        f"{host} → {', '.join(addresses[:4])} ({ms} ms)",
        evidence={"host": host, "role": role, "addresses": addresses, "ms": ms},
    )


def check_tcp(ctx: DoctorContext, check: Check) -> Finding:
    where = target(ctx)
    host, port, role = _hop(where)
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=DOCTOR_TIMEOUT):
            pass
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        return check.fail(
            f"cannot connect to the {role} {host}:{port}: {why}",
            evidence={"host": host, "port": port, "role": role, "error": why},
            fix=_reach_fix(ctx, where),
            exit_code=_UNAVAILABLE,
        )
    ms = int((time.monotonic() - started) * 1000)
    return check.ok(
        f"connected to {host}:{port} in {ms} ms",
        evidence={"host": host, "port": port, "role": role, "ms": ms},
    )


def _peer_certificate(where: Target, *, verify: bool, ca_bundle: str | None) -> tuple[bytes, str]:
    import ssl

    from sochi_cli.api.client import _ssl_context

    context = _ssl_context(ca_bundle)
    if not verify:  # only to show what the server presents when verification failed
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((where.host, where.port), timeout=DOCTOR_TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname=where.host) as tls,
    ):
        der = tls.getpeercert(binary_form=True) or b""
        return der, str(tls.version())


def _describe(der: bytes, ctx: DoctorContext) -> dict[str, Any]:
    if not der:
        return {}
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    days = (cert.not_valid_after_utc - ctx.options.clock()).days
    return {
        "subject": name_text(cert.subject),
        "issuer": name_text(cert.issuer),
        "not_after": cert.not_valid_after_utc,
        "days_left": days,
    }


def check_tls(ctx: DoctorContext, check: Check) -> Finding:
    import ssl

    where = target(ctx)
    if where.scheme != "https":
        raise SkipCheck(f"plain http to the loopback address {where.host}: no TLS (the sandbox)")
    if where.proxy:
        raise SkipCheck(f"through the proxy {where.proxy}: TLS is checked by the latency request")
    config = ctx.require_config()
    ca_bundle = config.get("ca_bundle")
    try:
        der, version = _peer_certificate(where, verify=True, ca_bundle=ca_bundle)
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or "certificate verify failed"
        try:
            presented = _describe(_peer_certificate(where, verify=False, ca_bundle=None)[0], ctx)
        except (OSError, ValueError):
            presented = {}
        return check.fail(
            f"the TLS certificate of {where.host} does not verify: {reason}",
            evidence={"host": where.host, "reason": reason, "presented": presented},
            fix="if the operator (or your company's proxy) uses a private CA: "
            "sochi config set ca_bundle /path/to/ca.pem   (verification cannot be turned off)",
            exit_code=_UNAVAILABLE,
        )
    except (ssl.SSLError, OSError) as exc:
        return check.fail(
            f"TLS handshake with {where.host}:{where.port} failed: {exc}",
            evidence={"host": where.host},
            fix=_reach_fix(ctx, where),
            exit_code=_UNAVAILABLE,
        )
    described = _describe(der, ctx)
    evidence = {"host": where.host, "tls_version": version, "certificate": described}
    days = described.get("days_left", 9999)
    if days <= TLS_EXPIRY_WARN_DAYS:
        return check.warn(
            f"the operator's TLS certificate expires in {days} days",
            evidence=evidence,
            fix="nothing to do on your side; tell the operator's support (sochi support)",
        )
    return check.ok(
        f"{version}, certificate verifies (issuer {described.get('issuer', '?')}, "
        f"{days} days left)",
        evidence=evidence,
    )


def check_latency(ctx: DoctorContext, check: Check) -> Finding:
    from sochi_cli.api import resources

    client = ctx.client()
    times = []
    for attempt in range(3):
        started = time.monotonic()
        if attempt == 0:
            ctx.status()  # memoised for the operator and clock checks
        else:
            client.call(resources.status.get())
        times.append((time.monotonic() - started) * 1000)
    median = int(statistics.median(times))
    evidence = {"samples_ms": [int(t) for t in times], "median_ms": median}
    if median > LATENCY_WARN_MS:
        return check.warn(
            f"the operator answers slowly: median {median} ms over 3 requests",
            evidence=evidence,
            fix="a slow link: large batches take longer; `sochi submit --concurrency 4` "
            "eases the load",
        )
    return check.ok(f"GET /status in {median} ms (median of 3)", evidence=evidence)


def ntp_fix() -> str:
    if sys.platform == "darwin":
        return "sudo sntp -sS time.apple.com"
    if sys.platform.startswith("win"):
        return "w32tm /resync"
    return "sudo timedatectl set-ntp true"


def check_clock(ctx: DoctorContext, check: Check) -> Finding:
    report = ctx.status()
    skew = report.skew_seconds
    evidence = {
        "skew_seconds": round(skew, 1),
        "server_time": report.status.server_time,
        "local_time": report.local_time,
    }
    ahead = -skew  # positive: this machine runs ahead of the operator
    if ahead > SKEW_FAIL_SECONDS:
        return check.fail(
            f"this machine's clock is {ahead:.0f} s ahead of the operator's: signatures "
            "carry a signing time in the future and are refused (signing_time_in_future)",
            evidence=evidence,
            fix=ntp_fix(),
            exit_code=int(ExitCode.AUTH),
        )
    if abs(skew) > SKEW_WARN_SECONDS:
        side = "ahead of" if ahead > 0 else "behind"
        return check.warn(
            f"this machine's clock is {abs(skew):.0f} s {side} the operator's: signing times "
            "are evidence in a dispute",
            evidence=evidence,
            fix=ntp_fix(),
        )
    return check.ok(f"within {abs(skew):.1f} s of the operator's clock", evidence=evidence)


CHECKS = [
    Check("network.proxy", "HTTP proxy", check_proxy),
    Check("network.dns", "DNS", check_dns, clause="2.1", network=True),
    Check("network.tcp", "TCP to the operator", check_tcp, clause="2.1", network=True),
    Check("network.tls", "TLS certificate of the operator", check_tls, clause="2.1", network=True),
    Check("network.latency", "Latency", check_latency, clause="2.1", network=True),
    Check("network.clock", "Clock against the operator", check_clock, clause="8.2.3", network=True),
]

__all__ = ["CHECKS", "ntp_fix", "proxy_for", "proxy_settings", "without_credentials"]
