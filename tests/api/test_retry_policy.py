"""Which failures are retried, and how long for: idempotent or keyed requests only,
`Retry-After` honoured (plus jitter) and bounded."""

from __future__ import annotations

import json

from sochi_cli.api import resources as R
from sochi_cli.api.client import RetryPolicy, _Engine
from sochi_cli.api.errors import error_from_problem


def problem(code: str, status: int) -> bytes:
    return json.dumps({"code": code, "status": status, "title": code}).encode()


ENGINE = _Engine(
    "http://127.0.0.1:1/api/v1", None, RetryPolicy(max_retry_after=30, wait_jitter=0.5)
)
TRANSIENT = error_from_problem(
    503, problem("transient_failure", 503), endpoint="x", retry_after_header="2"
)


def test_idempotent_request_waits_at_least_retry_after() -> None:
    wait = ENGINE.retry_hook(R.account.get())(TRANSIENT)
    assert isinstance(wait, float) and 2.0 <= wait <= 2.5


def test_unkeyed_post_is_not_resent_after_a_possible_commit() -> None:
    assert ENGINE.retry_hook(R.clients.add("0", "n", {}))(TRANSIENT) is False


def test_keyed_submission_is_resent() -> None:
    call = R.submissions.create(
        idempotency_key="k", client_inn="0", form="F", period="P", report=b"r", signature=b"s"
    )
    assert ENGINE.retry_hook(call)(TRANSIENT) is not False


def test_rate_limit_is_resent_for_any_request() -> None:
    limited = error_from_problem(
        429, problem("rate_limited", 429), endpoint="x", retry_after_header="1"
    )
    assert ENGINE.retry_hook(R.clients.add("0", "n", {}))(limited) is not False


def test_long_retry_after_and_maintenance_are_reported_not_waited() -> None:
    long = error_from_problem(
        503, problem("transient_failure", 503), endpoint="x", retry_after_header="3600"
    )
    assert ENGINE.retry_hook(R.account.get())(long) is False
    maintenance = error_from_problem(
        503, problem("maintenance", 503), endpoint="x", retry_after_header="5"
    )
    assert ENGINE.retry_hook(R.account.get())(maintenance) is False


def test_client_errors_are_never_retried() -> None:
    refused = error_from_problem(403, problem("poa_missing", 403), endpoint="x")
    assert ENGINE.retry_hook(R.account.get())(refused) is False
