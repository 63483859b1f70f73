"""Fixtures: our own demo-seeded sandbox on a loopback socket, clock pinned to a Wednesday noon
(Bishkek), agency verdicts immediate; helpers that file reports through the real API."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina

from sochi_cli.api import resources as R
from sochi_cli.api.client import MemoryTokens, OperatorClient
from sochi_cli.api.models import SubmissionCreated
from sochi_cli.cms import sign_detached
from sochi_cli.services.session import sign_in
from sochi_cli.token.file import KeySigner
from tests.api.conftest import WEDNESDAY_NOON, Sandbox
from tests.api.servers import serve
from tests.support import run_cli

ACME = "02010201910123"  # demo client with a valid POA


@pytest.fixture(scope="session")
def op_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from sochi_cli.sandbox import create_app

    data_dir = tmp_path_factory.mktemp("operator-sandbox")
    app = create_app(data_dir, seed="demo", bulk_clients=2, now=WEDNESDAY_NOON)
    facts = json.loads((data_dir / "demo" / "demo.json").read_text())
    with serve(app, lifespan=True) as root:
        sb = Sandbox(root, root + "/api/v1", data_dir, facts, app)
        sb.control("PUT", "clock", {"now": WEDNESDAY_NOON.isoformat(), "frozen": False})
        sb.control("PUT", "agency", {"delivery_delay_seconds": 0, "verdict_delay_seconds": 0})
        yield sb


@pytest.fixture
def cli_env(op_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    monkeypatch.setenv("SOCHI_API_URL", op_sandbox.api)
    monkeypatch.setenv("SOCHI_KEY_FILE", op_sandbox.rep["pkcs12"])
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", op_sandbox.facts["passphrase"])
    return op_sandbox


@pytest.fixture
def logged_in(cli_env: Sandbox) -> Sandbox:
    result = run_cli("login")
    assert result.code == 0, result.stderr
    return cli_env


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    with stamina.set_testing(True, attempts=2):
        yield


def signer_of(sb: Sandbox, who: str = "representative") -> KeySigner:
    return KeySigner.from_pkcs12(Path(sb.facts[who]["pkcs12"]), sb.facts["passphrase"].encode())


def report_bytes(period: str, *, inn: str = ACME, payable: str = "10.00") -> bytes:
    """An STI-077 report; a wrong `payable` breaks a totals rule (the agency rejects it)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<report xmlns="urn:sochi:report:1" '
        f'form="STI-077" version="1"><header><inn>{inn}</inn><name>Ak-Suu</name>'
        f"<period>{period}</period><correction>0</correction></header><body>"
        "<turnover>100.00</turnover><vat_charged>12.00</vat_charged>"
        f"<vat_credit>2.00</vat_credit><vat_payable>{payable}</vat_payable></body></report>"
    ).encode()


def file_report(sb: Sandbox, period: str, *, payable: str = "10.00") -> SubmissionCreated:
    """File one report as the representative straight through the API client."""
    report = report_bytes(period, payable=payable)
    with OperatorClient(sb.api, tokens=MemoryTokens()) as client:
        client._engine.tokens.store(sign_in(client, signer_of(sb)))  # type: ignore[union-attr]
        return client.call(
            R.submissions.create(
                idempotency_key=f"op-{uuid.uuid4()}",
                client_inn=ACME,
                form="STI-077",
                period=period,
                report=report,
                signature=sign_detached(report, signer_of(sb)),
                report_filename="vat.xml",
            )
        )
