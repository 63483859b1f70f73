"""Transport failures: unreachable server, TLS failure, malformed answers, unknown fields."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sochi_cli.api import resources
from sochi_cli.api.calls import Call, model_parser
from sochi_cli.api.client import AsyncOperatorClient, OperatorClient, RetryPolicy
from sochi_cli.api.errors import MalformedResponse, ServerUnreachable, TlsFailure
from sochi_cli.api.models import Status
from sochi_cli.errors import ExitCode
from tests.api.servers import garbage_app, self_signed, serve
from tests.support import run_cli

FAST = RetryPolicy(attempts=2, timeout=5, wait_initial=0.01, wait_max=0.02, wait_jitter=0.01)


@pytest.fixture(scope="module")
def garbage_url() -> Iterator[str]:
    with serve(garbage_app) as url:
        yield url + "/api/v1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_one_line_with_a_sandbox_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOCHI_API_URL", f"http://127.0.0.1:{free_port()}/api/v1")
    result = run_cli("status")
    assert result.code == ExitCode.UNAVAILABLE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "cannot reach the operator" in lines[0] and "connection refused" in lines[0]
    assert "sochi sandbox serve" in lines[0]


def test_unreachable_server_raises_typed_error() -> None:
    with (
        OperatorClient(f"http://127.0.0.1:{free_port()}/api/v1", retry=FAST) as client,
        pytest.raises(ServerUnreachable),
    ):
        client.call(resources.status.get())


def test_tls_failure_is_clear_and_a_ca_bundle_fixes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certfile, keyfile = self_signed(tmp_path)
    with serve(garbage_app, certfile=certfile, keyfile=keyfile) as url:
        api = url + "/api/v1"
        with OperatorClient(api, retry=FAST) as client, pytest.raises(TlsFailure) as info:
            client.call(resources.account.tariffs())
        assert "does not verify" in info.value.message
        monkeypatch.setenv("SOCHI_API_URL", api)
        result = run_cli("account", "tariffs")
        assert result.code == ExitCode.UNAVAILABLE
        assert "TLS certificate of 127.0.0.1 does not verify" in result.stderr
        assert "ca_bundle" in result.stderr
        # The same server, trusted through the profile's ca_bundle: verification still on.
        monkeypatch.setenv("SOCHI_CA_BUNDLE", str(certfile))
        ok = run_cli("account", "tariffs", "--json")
        assert ok.code == 0, ok.stderr
        assert json.loads(ok.stdout)["items"][0]["code"] == "x"


def test_malformed_json_names_the_endpoint(
    garbage_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCHI_API_URL", garbage_url)
    result = run_cli("status")
    assert result.code == ExitCode.UNAVAILABLE
    assert result.stderr.startswith(
        "error: the operator's answer to GET /status is malformed: not valid JSON"
    )
    wrong_shape = run_cli("forms", "list")
    assert wrong_shape.code == ExitCode.UNAVAILABLE
    assert "GET /forms is malformed: items.0." in wrong_shape.stderr


def test_unknown_fields_in_answers_are_tolerated(garbage_url: str) -> None:
    with OperatorClient(garbage_url, retry=FAST) as client:
        tariffs = client.call(resources.account.tariffs())
    assert tariffs.items[0].amount == 100


async def test_async_client_shares_the_contract(garbage_url: str) -> None:
    transport = httpx.ASGITransport(app=garbage_app)
    async with AsyncOperatorClient(
        "http://sandbox/api/v1", transport=transport, retry=FAST
    ) as client:
        tariffs = await client.call(resources.account.tariffs())
        assert tariffs.currency == "KGS"
        with pytest.raises(MalformedResponse, match="GET /status"):
            await client.call(resources.status.get())
        bad_gateway: Call[Status] = Call("GET", "boom", model_parser(Status), auth=False)
        with pytest.raises(Exception) as info:
            await client.call(bad_gateway)
        assert getattr(info.value, "exit_code", None) == ExitCode.UNAVAILABLE


def test_sends_user_agent_with_version() -> None:
    seen: list[str] = []

    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        seen.append(dict(scope["headers"])[b"user-agent"].decode())
        await garbage_app({**scope, "path": "/api/v1/tariffs"}, receive, send)

    import asyncio

    async def main() -> None:
        async with AsyncOperatorClient(
            "http://x/api/v1", transport=httpx.ASGITransport(app=app)
        ) as c:
            await c.call(resources.account.tariffs())

    asyncio.run(main())
    from sochi_cli import __version__

    assert seen == [f"sochi/{__version__}"]
