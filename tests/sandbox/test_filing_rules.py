"""One original per taxpayer, form and period; corrections in order; early filing; late flag;
the agency's register rules (not registered, before registration, inactive, cross-checks)."""

from __future__ import annotations

from decimal import Decimal

from sochi_cli.sandbox.catalogue import FORMS_BY_CODE
from sochi_cli.sandbox.history import history_values
from sochi_cli.sandbox.seed import REPRESENTATIVE_INN, bulk_client_inn
from tests.sandbox.harness import Api, problem

CLIENT = bulk_client_inn(0)


def _balance(api: Api, headers: dict[str, str]) -> int:
    return int(api.http.get("/account/balance", headers=headers).json()["balance"])


def _correction(api: Api, headers: dict[str, str], number: int, key: str, **values: str) -> object:
    report = api.report(CLIENT, correction=number, values=values or None)
    meta = {"client_inn": CLIENT, "form": "STI-077", "period": "2026-10", "correction": number}
    return api.submit(headers, CLIENT, key=key, report=report, meta=meta)


def test_a_second_original_is_refused_naming_the_first_and_charges_nothing(api: Api) -> None:
    headers = api.login()
    first = api.submit(headers, CLIENT, key="first").json()["submission"]
    balance = _balance(api, headers)
    values = {"turnover": "1.00", "vat_charged": "0.12", "vat_credit": "0", "vat_payable": "0.12"}
    body = problem(
        api.submit(headers, CLIENT, key="second", report=api.report(CLIENT, values=values)),
        409,
        "original_exists",
    )
    assert body["submission_id"] == first["id"] and body["next_correction"] == 1
    assert first["id"] in body["detail"] and "correction 1" in body["detail"]
    assert _balance(api, headers) == balance
    listing = api.http.get(f"/submissions?client={CLIENT}", headers=headers).json()["items"]
    assert [s["id"] for s in listing] == [first["id"]]


def test_corrections_must_come_in_order_and_a_rejected_one_is_filed_again(api: Api) -> None:
    headers = api.login()
    balance = _balance(api, headers)
    body = problem(_correction(api, headers, 1, "c1-early"), 409, "correction_out_of_order")
    assert body["next_correction"] == 0
    assert _balance(api, headers) == balance  # refused: nothing charged
    assert api.submit(headers, CLIENT, key="orig").status_code == 201
    balance = _balance(api, headers)
    problem(_correction(api, headers, 2, "c2"), 409, "correction_out_of_order")
    assert _balance(api, headers) == balance
    api.http.put("/sandbox/agency", json={"delivery_delay_seconds": 0, "verdict_delay_seconds": 0})
    broken = {"turnover": "10", "vat_charged": "1.2", "vat_credit": "0", "vat_payable": "9"}
    assert _correction(api, headers, 1, "c1-broken", **broken).status_code == 201
    api.advance(0)
    rejected = api.http.get("/submissions?status=rejected", headers=headers).json()["items"]
    assert [s["correction"] for s in rejected] == [1]
    assert _correction(api, headers, 1, "c1-again").status_code == 201  # 1 again, not 2
    assert _correction(api, headers, 2, "c2-now").status_code == 201


def test_a_period_that_has_not_ended_is_refused_unless_the_form_allows_it(api: Api) -> None:
    headers = api.login()
    balance = _balance(api, headers)
    body = problem(api.submit(headers, CLIENT, period="2026-11"), 422, "period_not_ended")
    assert body["period_ends"] == "2026-11-30"
    assert _balance(api, headers) == balance
    annual = api.submit(headers, CLIENT, form="STI-001", period="2026")  # early filing allowed
    assert annual.status_code == 201, annual.text


def test_late_filing_is_accepted_and_marked_late(api: Api) -> None:
    headers = api.login()  # Monday 23 November: October's VAT was due on Friday 20 November
    late = api.submit(headers, CLIENT, period="2026-10").json()["submission"]
    assert late["late"] is True
    api.clock.set(api.clock.now().replace(day=20), frozen=True)  # Friday 20 November, 12:00
    in_time = api.submit(headers, bulk_client_inn(1), period="2026-10").json()["submission"]
    assert in_time["late"] is False


def _decided(api: Api, headers: dict[str, str], sub_id: str) -> dict:
    api.advance(0)
    return api.http.get(f"/submissions/{sub_id}", headers=headers).json()


def test_the_agency_rejects_by_the_register_and_by_another_accepted_report(api: Api) -> None:
    headers = api.login()
    api.http.put("/sandbox/agency", json={"delivery_delay_seconds": 0, "verdict_delay_seconds": 0})
    with api.sandbox.db.tx() as conn:  # client 3: an employer since 1 October, VAT payer
        conn.execute(
            "UPDATE taxpayers SET registrations=? WHERE inn=?",
            (
                '[{"kind": "vat_payer", "since": "2020-01-01", "until": null},'
                ' {"kind": "employer", "since": "2026-10-01", "until": null}]',
                bulk_client_inn(3),
            ),
        )
        conn.execute(
            "UPDATE taxpayers SET status='inactive', inactive_since='2026-09-01' WHERE inn=?",
            (bulk_client_inn(4),),
        )

    def file(inn: str, form: str, period: str, **kw: object) -> dict:
        report = api.report(inn, form=form, period=period, values=kw.get("values"))  # type: ignore[arg-type]
        r = api.submit(headers, inn, form=form, period=period, report=report)
        assert r.status_code == 201, r.text
        return _decided(api, headers, r.json()["submission"]["id"])

    client3 = bulk_client_inn(3)
    balance = _balance(api, headers)
    not_registered = file(client3, "STI-081", "2026-10")
    before = file(
        client3, "STI-100", "2026-09", values=history_values(client3, "STI-100", "2026-09")
    )
    inactive = file(bulk_client_inn(4), "STI-077", "2026-10")
    base = history_values(client3, "SF-001", "2026-10")
    assert file(client3, "SF-001", "2026-10", values=base)["status"] == "accepted"
    other = history_values(client3, "STI-100", "2026-10", payroll_shift=500)
    disagree = file(client3, "STI-100", "2026-10", values=other)
    messages = {
        name: (sub["status"], sub["protocol"]["errors"][0]["message"])
        for name, sub in {
            "not_registered": not_registered,
            "before": before,
            "inactive": inactive,
            "disagree": disagree,
        }.items()
    }
    assert messages["not_registered"] == (
        "rejected",
        "the taxpayer is not registered as a sales tax payer (STI-081 does not apply)",
    )
    assert messages["before"] == (
        "rejected",
        "period 2026-09 is before the taxpayer's registration as an employer on 2026-10-01",
    )
    assert messages["inactive"] == ("rejected", "the taxpayer is inactive since 2026-09-01")
    assert messages["disagree"][0] == "rejected"
    # an agency rejection is a filing made: every one of the five was charged its fee
    fees = sum(
        FORMS_BY_CODE[f]["fee"] for f in ("STI-081", "STI-100", "STI-077", "SF-001", "STI-100")
    )
    assert _balance(api, headers) == balance - fees
    payroll = Decimal(other["payroll"])
    assert f"payroll {payroll} disagrees with contribution_base" in messages["disagree"][1]
    inbox = api.http.get("/inbox", headers=headers).json()["items"]
    notice = next(i for i in inbox if i["submission_id"] == inactive["id"])
    assert notice["client_inn"] == bulk_client_inn(4) and inactive["id"] in notice["body"]


def test_clients_carry_their_taxpayer_registrations(api: Api) -> None:
    headers = api.login()
    client = api.http.get(f"/clients/{CLIENT}", headers=headers).json()
    kinds = {r["kind"] for r in client["taxpayer"]["registrations"]}
    assert {"taxpayer", "vat_payer", "employer", "statistics_respondent"} <= kinds
    account = api.http.get("/account", headers=headers).json()
    assert account["inn"] == REPRESENTATIVE_INN and account["taxpayer"]["status"] == "active"
    form = api.http.get("/forms/STI-001").json()
    assert form["registration"] == "taxpayer" and form["early_filing"] is True


def test_a_detached_client_is_attached_again_with_a_new_poa(api: Api) -> None:
    headers = api.login()
    detached = "01108201710099"
    poa = {"number": "77", "issued_on": "2026-11-01", "valid_until": "2027-11-01"}
    problem(
        api.http.put(f"/clients/{detached}/poa", json=poa, headers=headers), 409, "client_detached"
    )
    r = api.http.post(f"/clients/{detached}/attach", json={"poa": poa}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active" and r.json()["poa"]["number"] == "77"
    problem(
        api.http.post(f"/clients/{detached}/attach", json={"poa": poa}, headers=headers),
        409,
        "client_active",
    )
