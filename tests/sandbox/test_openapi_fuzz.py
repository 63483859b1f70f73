"""A bounded schemathesis run over /openapi.json: no 5xx, responses match their schemas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from sochi_cli.sandbox import create_app
from sochi_cli.sandbox.clock import SandboxClock
from tests.sandbox.harness import MONDAY, Api

_TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    clock = SandboxClock()
    clock.set(MONDAY, frozen=True)
    app = create_app(tmp_path_factory.mktemp("fuzz"), seed="demo", clock=clock, bulk_clients=5)
    app.state.sandbox.settings.long_poll_cap_seconds = 0.05
    api = Api(app, clock)
    _TOKEN.update(api.login())
    yield app
    app.state.sandbox.close()


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    # sandbox controls and logout change the whole server's behaviour (clock, chaos, reset)
    return schema.exclude(path_regex="^/api/v1/sandbox").exclude(path_regex="/auth/logout$")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_5xx_and_matches_its_schema(case: Any) -> None:
    case.call_and_validate(
        headers=dict(_TOKEN),
        checks=[not_a_server_error, response_schema_conformance],
    )


def test_openapi_documents_problem_responses(fuzz_app: Any) -> None:
    from fastapi.testclient import TestClient

    document = TestClient(fuzz_app).get("/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    post = document["paths"]["/api/v1/submissions"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert "application/problem+json" in post["responses"]["402"]["content"]
