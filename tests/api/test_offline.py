"""Things that need no operator: support hours, balance projection, problem mapping."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sochi_cli.api.errors import (
    BalanceExhausted,
    GeoBlocked,
    Maintenance,
    OperatorSignatureInvalid,
    OperatorUnavailable,
    OperatorValidationFailed,
    PoaExpired,
    error_from_problem,
)
from sochi_cli.errors import ExitCode
from sochi_cli.services.account import project_balance, som
from sochi_cli.services.support import support_info
from tests.support import run_cli


def problem(code: str, status: int, **extra: object) -> bytes:
    return json.dumps(
        {
            "type": f"x/{code}",
            "title": code,
            "status": status,
            "detail": f"detail of {code}",
            "code": code,
            **extra,
        }
    ).encode()


def test_problem_codes_map_to_typed_errors() -> None:
    err = error_from_problem(
        503,
        problem(
            "maintenance",
            503,
            window={"starts_at": "2026-11-27T11:30:00Z", "ends_at": "2026-11-27T14:30:00Z"},
        ),
        endpoint="GET /account",
        retry_after_header="120",
    )
    assert isinstance(err, Maintenance) and err.retry_after == 120
    assert err.exit_code == ExitCode.UNAVAILABLE and "20:30 (Bishkek)" in err.message
    # the hint names the window the operator named: no weekly phrase for an announced one
    assert (
        err.hint
        == "announced maintenance window 2026-11-27 17:30–20:30 (Bishkek); try after it ends"
    )
    weekly = error_from_problem(
        503,
        problem(
            "maintenance",
            503,
            window={
                "starts_at": "2026-12-04T11:30:00Z",
                "ends_at": "2026-12-04T14:30:00Z",
                "kind": "weekly",
            },
        ),
        endpoint="GET /events",
    )
    assert weekly.hint == (
        "planned weekly maintenance (every Friday 17:30–20:30 Bishkek); try after it ends"
    )
    bare = error_from_problem(503, problem("maintenance", 503), endpoint="GET /events")
    assert bare.hint is not None and "Friday" not in bare.hint
    err = error_from_problem(
        402,
        problem("balance_exhausted", 402, balance=10, required=2000),
        endpoint="POST /submissions",
    )
    assert isinstance(err, BalanceExhausted) and err.required == 2000
    assert err.exit_code == ExitCode.REFUSED
    assert isinstance(
        error_from_problem(403, problem("poa_expired", 403), endpoint="x"), PoaExpired
    )
    geo = error_from_problem(403, problem("geo_blocked", 403), endpoint="x")
    assert isinstance(geo, GeoBlocked) and "sochi access abroad" in (geo.hint or "")
    val = error_from_problem(
        422, problem("validation_failed", 422, errors=[{"path": "a", "message": "b"}]), endpoint="x"
    )
    assert isinstance(val, OperatorValidationFailed) and val.errors == [
        {"path": "a", "message": "b"}
    ]
    assert val.exit_code == ExitCode.VALIDATION
    sig = error_from_problem(
        422, problem("signature_invalid", 422, reason="digest_mismatch"), endpoint="x"
    )
    assert isinstance(sig, OperatorSignatureInvalid) and sig.exit_code == ExitCode.AUTH
    assert error_from_problem(404, b"", endpoint="x").exit_code == ExitCode.NOT_FOUND
    assert error_from_problem(401, b"<html>", endpoint="x").exit_code == ExitCode.AUTH
    assert isinstance(error_from_problem(502, b"bad gateway", endpoint="x"), OperatorUnavailable)


def test_support_knows_the_call_centre_hours() -> None:
    # Friday 2026-11-27 10:00 Bishkek = 04:00 UTC: open.
    assert support_info(datetime(2026, 11, 27, 4, 0, tzinfo=UTC)).open_now
    # Friday 18:00 Bishkek: closed, next opening Monday 09:00 Bishkek = 03:00 UTC.
    closed = support_info(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    assert not closed.open_now
    assert closed.next_opening == datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def test_support_command_in_table_and_json() -> None:
    plain = run_cli("support")
    assert plain.code == 0 and "(996 312) 960 888" in plain.stdout
    data = json.loads(run_cli("support", "--json").stdout)
    assert data["phone"] == "(996 312) 960 888" and isinstance(data["open_now"], bool)


def test_projects_the_month_when_the_balance_runs_out() -> None:
    assert project_balance(120_000, 50_000, date(2026, 11, 10)) == (
        date(2026, 11, 30),
        50_000,
        date(2027, 1, 31),
    )
    assert project_balance(30_000, 50_000, date(2026, 11, 10))[1:] == (30_000, date(2026, 11, 30))
    assert project_balance(5_000, 0, date(2026, 11, 10))[2] is None
    assert som(500000) == "5000.00" and som(-2000) == "-20.00"


def test_wrong_date_format_is_one_clear_line() -> None:
    result = run_cli(
        "access",
        "abroad",
        "--inn",
        "00203202010077",
        "--ip",
        "92.62.72.10",
        "--country",
        "DE",
        "--city",
        "Berlin",
        "--from",
        "01.12.2026",
        "--to",
        "2026-12-20",
        "--email",
        "a@b.kg",
    )
    assert result.code == ExitCode.USAGE
    assert result.stderr.strip() == "error: --from '01.12.2026' is not a date YYYY-MM-DD"


def test_wrong_inn_format_is_refused_before_any_request() -> None:
    # No server is running at the sandbox URL: the INN check must come first.
    result = run_cli("clients", "show", "123")
    assert result.code == ExitCode.VALIDATION
    assert "INN '123' is invalid: an INN is 14 digits" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
