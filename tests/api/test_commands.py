"""Every operator command against the running sandbox, in plain (script) and JSON output."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from sochi_cli.errors import ExitCode
from tests.api.conftest import Sandbox, as_json, ok
from tests.support import run_cli

ACME = "02010201910123"  # a demo client with a valid POA


def new_inn() -> str:
    return f"001012021{random.randint(0, 99999):05d}"


def test_status_shows_state_windows_notices_and_skew(cli_env: Sandbox) -> None:
    data = as_json(run_cli("status", "--json"))
    assert data["state"] == "up" and data["sandbox"] is True
    assert data["maintenance"]["next"]["kind"] == "weekly"
    assert data["maintenance"]["next"]["seconds_left"] > 0
    assert data["notices"][0]["title"].startswith("Welcome")
    # The sandbox clock is set ahead of this machine: the skew shows it.
    assert data["clock_skew_seconds"] > 0
    plain = ok(run_cli("status"))
    assert "state\tup" in plain.stdout
    assert "next window\t" in plain.stdout and "(Bishkek)" in plain.stdout
    assert "starts in" in plain.stdout and "clock skew\t+" in plain.stdout


def test_status_during_maintenance_and_other_commands_refused(logged_in: Sandbox) -> None:
    friday = logged_in.control("GET", "clock")["now"]
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(friday.replace("Z", "+00:00")) + timedelta(days=2, hours=6)
    logged_in.control("PUT", "clock", {"now": moment.isoformat(), "frozen": False})  # Fri 18:00
    data = as_json(run_cli("status", "--json"))
    assert data["state"] == "maintenance"
    assert data["maintenance"]["current"]["seconds_left"] > 0
    plain = ok(run_cli("status"))
    assert "maintenance\t" in plain.stdout and "ends in" in plain.stdout
    refused = run_cli("account", "show")
    assert refused.code == ExitCode.UNAVAILABLE
    assert "(until " in refused.stderr and "20:30 (Bishkek)" in refused.stderr


def test_account_show_and_update(logged_in: Sandbox) -> None:
    data = as_json(run_cli("account", "show", "--json"))
    assert data["inn"] == logged_in.rep["inn"]
    assert data["registration"]["state"] == "active"
    assert "legal_address" in data["requisites"]
    phone = f"+996 555 {random.randint(100000, 999999)}"
    updated = as_json(run_cli("account", "update", "--set", f"phone={phone}", "--json"))
    assert updated["requisites"]["phone"] == phone
    plain = ok(run_cli("account", "show"))
    assert f"phone\t{phone}" in plain.stdout
    bad = run_cli("account", "update", "--set", "shoe_size=42")
    assert bad.code == ExitCode.USAGE and "unknown requisite 'shoe_size'" in bad.stderr


def test_account_balance_charges_and_tariffs(logged_in: Sandbox) -> None:
    balance = as_json(run_cli("account", "balance", "--json"))
    assert balance["currency"] == "KGS" and balance["status"] == "active"
    assert (
        balance["balance"]
        == f"{balance['balance_tyiyn'] // 100}.{balance['balance_tyiyn'] % 100:02d}"
    )
    assert "runs_out_on" in balance and "projected_month_end_debit" in balance
    plain = ok(run_cli("account", "balance"))
    assert f"balance\t{balance['balance']} KGS" in plain.stdout
    charges = as_json(run_cli("account", "charges", "--json"))
    assert isinstance(charges, list)
    ok(run_cli("account", "charges"))
    tariffs = as_json(run_cli("account", "tariffs", "--json"))
    codes = {t["code"] for t in tariffs["items"]}
    assert "submission:STI-077" in codes
    assert "submission:STI-077\t20.00" in ok(run_cli("account", "tariffs")).stdout


def test_self_filer_balance_projects_ecloud_debits(
    cli_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCHI_KEY_FILE", cli_env.self_filer["pkcs12"])
    ok(run_cli("login"))
    balance = as_json(run_cli("account", "balance", "--json"))
    assert balance["ecloud_subscribed"] is True
    assert balance["runs_out_on"] is not None


def test_clients_list_show_and_completion_cache(logged_in: Sandbox) -> None:
    items = as_json(run_cli("clients", "list", "--json"))
    assert ACME in {c["inn"] for c in items}
    plain = ok(run_cli("clients", "list"))
    assert any(line.startswith(ACME + "\t") for line in plain.stdout.splitlines())
    shown = as_json(run_cli("clients", "show", ACME, "--json"))
    assert shown["poa_state"] == "valid"
    assert "poa number\t" in ok(run_cli("clients", "show", ACME)).stdout
    from sochi_cli.commands._operator import complete_client_inn

    assert (ACME, "Ak-Suu Trade LLC") in complete_client_inn(None, "0201")  # type: ignore[arg-type]


def test_clients_add_sends_the_scan_hash_and_detach_notifies(
    logged_in: Sandbox, tmp_path: Path
) -> None:
    import hashlib

    scan = tmp_path / "poa.pdf"
    scan.write_bytes(b"%PDF-1.4 scanned power of attorney")
    inn = new_inn()
    added = as_json(
        run_cli(
            "clients",
            "add",
            inn,
            "--name",
            "Tokmok Steel LLC",
            "--poa-scan",
            str(scan),
            "--poa-number",
            "42",
            "--issued",
            "2026-01-10",
            "--valid-until",
            "2030-01-10",
            "--json",
        )
    )
    assert added["poa"]["scan_sha256"] == hashlib.sha256(scan.read_bytes()).hexdigest()
    again = run_cli(
        "clients",
        "add",
        inn,
        "--name",
        "Tokmok Steel LLC",
        "--poa-scan",
        str(scan),
        "--poa-number",
        "42",
        "--issued",
        "2026-01-10",
        "--valid-until",
        "2030-01-10",
    )
    assert again.code == ExitCode.REFUSED
    no_yes = run_cli("clients", "detach", inn)
    assert no_yes.code == ExitCode.USAGE and "--yes" in no_yes.stderr
    detached = as_json(
        run_cli("clients", "detach", inn, "--reason", "contract ended", "--yes", "--json")
    )
    assert detached["status"] == "detached" and detached["detach_reason"] == "contract ended"
    plain = ok(run_cli("clients", "detach", inn, "--yes"))
    assert "status\tdetached" in plain.stdout


def test_clients_add_refuses_bad_input_locally(logged_in: Sandbox, tmp_path: Path) -> None:
    scan = tmp_path / "poa.pdf"
    scan.write_bytes(b"scan")
    base = ["--name", "X", "--poa-scan", str(scan), "--poa-number", "1"]
    bad_inn = run_cli(
        "clients",
        "add",
        "0101202101",
        *base,
        "--issued",
        "2026-01-10",
        "--valid-until",
        "2027-01-10",
    )
    assert bad_inn.code == ExitCode.VALIDATION and "14 digits" in bad_inn.stderr
    bad_date = run_cli(
        "clients", "add", new_inn(), *base, "--issued", "10/01/2026", "--valid-until", "2027-01-10"
    )
    assert bad_date.code == ExitCode.USAGE
    assert bad_date.stderr.strip() == "error: --issued '10/01/2026' is not a date YYYY-MM-DD"
    backwards = run_cli(
        "clients", "add", new_inn(), *base, "--issued", "2027-01-10", "--valid-until", "2026-01-10"
    )
    assert backwards.code == ExitCode.VALIDATION
    natural = run_cli(
        "clients",
        "add",
        "12505199000099",
        *base,
        "--issued",
        "2026-01-10",
        "--valid-until",
        "2027-01-10",
    )
    assert natural.code == ExitCode.VALIDATION and "notarised" in natural.stderr


def test_unknown_client_is_not_found(logged_in: Sandbox) -> None:
    result = run_cli("clients", "show", "00101202199999")
    assert result.code == ExitCode.NOT_FOUND


def test_poa_list_expiring(logged_in: Sandbox) -> None:
    rows = as_json(run_cli("poa", "list", "--json"))
    assert {r["state"] for r in rows} >= {"valid", "expired"}
    expiring = as_json(run_cli("poa", "list", "--expiring", "30d", "--json"))
    assert expiring and all(r["days_left"] <= 30 for r in expiring)
    assert "02201202010011" in {r["inn"] for r in expiring}  # the expired one
    ok(run_cli("poa", "list", "--expiring", "30d"))
    bad = run_cli("poa", "list", "--expiring", "soon")
    assert bad.code == ExitCode.USAGE


def test_self_filer_cannot_manage_clients(
    cli_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCHI_KEY_FILE", cli_env.self_filer["pkcs12"])
    ok(run_cli("login"))
    result = run_cli("clients", "list")
    assert result.code == ExitCode.REFUSED


def test_forms_list_show_cache_and_completion(cli_env: Sandbox) -> None:
    forms = as_json(run_cli("forms", "list", "--json"))
    assert {"STI-077", "SF-001", "NSC-1T"} <= {f["code"] for f in forms}
    assert "STI-077\tSTS\tmonthly" in ok(run_cli("forms", "list")).stdout
    form = as_json(run_cli("forms", "show", "STI-077", "--json"))
    assert form["schema"]["fields"][0]["name"] == "turnover"
    plain = ok(run_cli("forms", "show", "STI-077"))  # in a pipe: the fields, one per line
    assert plain.stdout.splitlines()[0].startswith("turnover\tdecimal\t")
    summary = ok(run_cli("forms", "show", "STI-077", "--summary"))
    assert "total\tvat_payable = vat_charged - vat_credit" in summary.stdout
    assert "turnover" not in summary.stdout
    from sochi_cli.commands._operator import complete_form_code

    assert "STI-077" in complete_form_code(None, "sti")  # type: ignore[arg-type]
    unknown = run_cli("forms", "show", "XYZ-1")
    assert unknown.code == ExitCode.NOT_FOUND
    assert unknown.stderr.strip() == "error: unknown form 'XYZ-1' — see `sochi forms list`"


def _report(
    path: Path, *, form: str = "STI-077", inn: str = ACME, period: str, body: str | None = None
) -> Path:
    body = body or (
        "<turnover>100.00</turnover><vat_charged>12.00</vat_charged>"
        "<vat_credit>2.00</vat_credit><vat_payable>10.00</vat_payable>"
    )
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<report xmlns="urn:sochi:report:1" '
        f'form="{form}" version="1">\n<header>\n<inn>{inn}</inn>\n<name>Ak-Suu</name>\n'
        f"<period>{period}</period>\n<correction>0</correction>\n</header>\n"
        f"<body>\n{body}\n</body>\n</report>\n",
        encoding="utf-8",
    )
    return path


def test_validate_good_and_bad_files(cli_env: Sandbox, tmp_path: Path) -> None:
    good = _report(tmp_path / "good.xml", period="2026-01")
    result = ok(run_cli("validate", str(good)))
    assert result.stdout.startswith(f"{good}: ok")
    assert as_json(run_cli("validate", str(good), "--json"))["ok"] is True
    bad = _report(tmp_path / "bad.xml", period="2026-Q1", inn="123", body="<turnover>x</turnover>")
    unknown = _report(tmp_path / "unknown.xml", form="NOPE-9", period="2026-01")
    result = run_cli("validate", str(good), str(bad), str(unknown))
    assert result.code == ExitCode.VALIDATION
    lines = result.stdout.splitlines()
    assert f"{bad}:4: header/inn: an INN is 14 digits [inn]" in lines
    assert any(
        line.startswith(f"{bad}:6: header/period: a monthly form takes a period YYYY-MM")
        for line in lines
    )
    assert f"{bad}:10: body/turnover: 'x' is not a decimal with at most 2 decimals [type]" in lines
    assert f"{unknown}:2: report/@form: unknown form 'NOPE-9' [form]" in lines
    assert result.stderr.strip().startswith("error: 2 of 3 file(s) failed validation")
    data = json.loads(run_cli("validate", str(bad), "--json").stdout)
    assert data["error"]["code"] == "validation_failed"
    assert data["error"]["details"]["results"][0]["errors"][0]["path"] == "header/inn"


def test_validate_offline_uses_only_the_cache(
    cli_env: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = _report(tmp_path / "good.xml", period="2026-01")
    missing = run_cli("validate", "--offline", str(good))
    assert missing.code == ExitCode.VALIDATION
    assert "form 'STI-077' is not cached (run `sochi forms show STI-077` once online)" in (
        missing.stdout
    )
    ok(run_cli("forms", "show", "STI-077"))
    monkeypatch.setenv("SOCHI_API_URL", "http://127.0.0.1:9/api/v1")  # nothing listens
    ok(run_cli("validate", "--offline", str(good)))
    ok(run_cli("validate", str(good)))  # cached: no network needed either


def test_access_abroad_files_the_request(cli_env: Sandbox) -> None:
    args = [
        "access",
        "abroad",
        "--inn",
        cli_env.rep["inn"],
        "--ip",
        "92.62.72.10",
        "--country",
        "de",
        "--city",
        "Berlin",
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-20",
    ]
    data = as_json(run_cli(*args, "--email", "office@salyk-kenesh.kg", "--json"))
    assert data["state"] == "approved" and data["country"] == "DE" and data["from"] == "2026-12-01"
    plain = ok(run_cli(*args, "--email", "office@salyk-kenesh.kg"))
    assert "state\tapproved" in plain.stdout
    wrong_mail = run_cli(*args, "--email", "someone@else.kg")
    assert wrong_mail.code == ExitCode.VALIDATION
    private_ip = run_cli(
        "access",
        "abroad",
        "--inn",
        cli_env.rep["inn"],
        "--ip",
        "10.0.0.1",
        "--country",
        "DE",
        "--city",
        "Berlin",
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-20",
        "--email",
        "office@salyk-kenesh.kg",
    )
    assert private_ip.code == ExitCode.VALIDATION and "public static" in private_ip.stderr


def test_geo_blocked_request_points_to_access_abroad(logged_in: Sandbox) -> None:
    from sochi_cli.api import resources
    from sochi_cli.api.errors import GeoBlocked
    from sochi_cli.services.session import open_client
    from sochi_cli.store.config import load

    client = open_client(load())
    client._http.headers["X-Sandbox-Client-Country"] = "DE"
    client._http.headers["X-Sandbox-Client-IP"] = "198.51.100.9"
    with client, pytest.raises(GeoBlocked) as info:
        client.call(resources.account.get())
    assert info.value.exit_code == ExitCode.REFUSED
    assert "sochi access abroad" in (info.value.hint or "")


def test_5xx_storm_is_retried_then_reported(logged_in: Sandbox) -> None:
    logged_in.control(
        "PUT",
        "chaos",
        {"error_rate": 1.0, "latency_ms": 0, "drop_after_commit_rate": 0, "drop_mode": "error"},
    )
    result = run_cli("account", "show")
    assert result.code == ExitCode.UNAVAILABLE
    assert len(result.stderr.strip().splitlines()) == 1
    assert "try again" in result.stderr


def test_storm_that_passes_is_absorbed_by_retries(logged_in: Sandbox) -> None:
    """Half the requests fail: with retries every call of a run still succeeds."""
    logged_in.control(
        "PUT",
        "chaos",
        {"error_rate": 0.5, "latency_ms": 0, "drop_after_commit_rate": 0, "drop_mode": "error"},
    )
    import stamina

    from sochi_cli.api import resources
    from sochi_cli.services.session import open_client
    from sochi_cli.store.config import load

    with stamina.set_testing(True, attempts=30), open_client(load()) as client:
        for _ in range(10):
            assert client.call(resources.account.get()).inn == logged_in.rep["inn"]
