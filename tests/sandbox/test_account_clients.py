"""Account, balance, charges, tariffs, forms, and clients with powers of attorney."""

from __future__ import annotations

from tests.sandbox.harness import Api, problem

FIRM = "00203202010077"
SELF_FILER = "00105201510033"


def test_account_shows_kind_registration_and_requisites(api: Api) -> None:
    account = api.http.get("/account", headers=api.login()).json()
    assert account["kind"] == "tax_representative"
    assert account["registration"]["state"] == "active"
    assert account["requisites"]["head_name"] == "Aida Beishenova"
    self_filer = api.http.get("/account", headers=api.login("self_filer")).json()
    assert self_filer["kind"] == "self_filer"
    assert self_filer["ecloud"] == {"subscribed": True, "monthly_fee": 50000}


def test_pending_registration_is_shown_and_blocks_clients(api: Api) -> None:
    headers = api.login("pending")
    assert api.http.get("/account", headers=headers).json()["registration"]["state"] == "pending"
    problem(api.http.get("/clients", headers=headers), 403, "registration_pending")


def test_requisites_patch_changes_only_given_fields(api: Api) -> None:
    headers = api.login()
    r = api.http.patch(
        "/account", json={"requisites": {"phone": "+996 555 123456"}}, headers=headers
    )
    assert r.status_code == 200
    assert r.json()["requisites"]["phone"] == "+996 555 123456"
    assert r.json()["requisites"]["head_name"] == "Aida Beishenova"
    body = problem(
        api.http.patch("/account", json={"requisites": {"email": "nope"}}, headers=headers),
        422,
        "validation_failed",
    )
    assert body["errors"][0]["path"] == "requisites.email"
    problem(
        api.http.patch("/account", json={"requisites": {"shoe_size": "42"}}, headers=headers),
        422,
        "validation_failed",
    )


def test_balance_charges_and_tariffs(api: Api) -> None:
    headers = api.login()
    assert api.http.get("/account/balance", headers=headers).json()["balance"] == 5_000_000
    charges = api.http.get("/account/charges", headers=headers).json()
    assert charges["items"][0]["kind"] == "topup" and charges["next_cursor"] is None
    tariffs = {t["code"]: t for t in api.http.get("/tariffs").json()["items"]}
    assert tariffs["submission:STI-077"]["amount"] == 2000
    assert tariffs["ecloud_subscription"]["unit"] == "per_month"
    r = api.http.post("/sandbox/topup", json={"inn": FIRM, "amount": 1000})
    assert r.json()["balance"] == 5_001_000
    problem(api.http.get("/account/charges?cursor=zz", headers=headers), 400, "invalid_cursor")


def test_ecloud_subscription_is_debited_at_month_end(api: Api) -> None:
    headers = api.login("self_filer")
    before = api.http.get("/account/balance", headers=headers).json()["balance"]
    api.http.put("/sandbox/clock", json={"now": "2026-12-01T00:00:00Z", "frozen": True})
    headers = api.login("self_filer")
    charges = api.http.get("/account/charges", headers=headers).json()["items"]
    subscription = [c for c in charges if c["kind"] == "ecloud_subscription"]
    assert [c["amount"] for c in subscription] == [-50000]
    assert "2026-11" in subscription[0]["description"]
    assert api.http.get("/account/balance", headers=headers).json()["balance"] == before - 50000


def test_subscription_stops_at_zero(api: Api) -> None:
    api.http.put("/sandbox/balance", json={"inn": SELF_FILER, "balance": 30000})
    api.http.put("/sandbox/clock", json={"now": "2027-01-01T00:00:00Z", "frozen": True})
    headers = api.login("self_filer")
    balance = api.http.get("/account/balance", headers=headers).json()
    assert balance == {**balance, "balance": 0, "status": "suspended"}


def test_forms_catalogue_has_six_forms_of_three_agencies(api: Api) -> None:
    forms = api.http.get("/forms").json()["items"]
    assert {f["code"] for f in forms} >= {"STI-077", "STI-081", "SF-001", "NSC-1T"}
    assert {f["agency"]["code"] for f in forms} == {"STS", "SF", "NSC"}
    form = api.http.get("/forms/STI-077").json()
    assert form["deadline"]["day"] == 20
    assert form["schema"]["totals"][0]["total"] == "vat_payable"
    problem(api.http.get("/forms/STI-999"), 404, "form_not_found")


def test_clients_are_listed_with_poa_state(api: Api) -> None:
    headers = api.login()
    page = api.http.get("/clients?limit=7", headers=headers).json()
    states = {c["inn"]: (c["status"], c["poa_state"]) for c in page["items"]}
    assert states["02201202010011"] == ("active", "expired")
    assert states["01108201710099"][0] == "detached"
    natural = next(c for c in page["items"] if c["inn"] == "12505199000042")
    assert natural["kind"] == "natural" and natural["poa"]["notarised"] is True
    assert page["next_cursor"] is not None
    rest = api.http.get(f"/clients?cursor={page['next_cursor']}&limit=500", headers=headers).json()
    assert len(rest["items"]) == 20 and rest["next_cursor"] is None


POA = {"number": "77", "issued_on": "2026-11-01", "valid_until": "2027-11-01", "notarised": False}


def test_add_client_rules(api: Api) -> None:
    headers = api.login()
    r = api.http.post(
        "/clients", json={"inn": "00505202212345", "name": "New LLC", "poa": POA}, headers=headers
    )
    assert r.status_code == 201 and r.json()["poa_state"] == "valid"
    problem(
        api.http.post(
            "/clients",
            json={"inn": "00505202212345", "name": "New LLC", "poa": POA},
            headers=headers,
        ),
        409,
        "client_exists",
    )
    problem(
        api.http.post(
            "/clients", json={"inn": "03505202212345", "name": "X", "poa": POA}, headers=headers
        ),
        422,
        "invalid_inn",
    )
    problem(
        api.http.post(
            "/clients",
            json={"inn": "03099202212345"[:13], "name": "X", "poa": POA},
            headers=headers,
        ),
        422,
        "invalid_inn",
    )
    problem(
        api.http.post(
            "/clients", json={"inn": "03102202212345", "name": "X", "poa": POA}, headers=headers
        ),
        422,
        "invalid_inn",
    )  # 31.02 is no date
    problem(
        api.http.post(
            "/clients", json={"inn": "21003199012345", "name": "Man", "poa": POA}, headers=headers
        ),
        422,
        "poa_not_notarised",
    )
    bad = {**POA, "valid_until": "2026-01-01"}
    problem(
        api.http.post(
            "/clients", json={"inn": "00606202212345", "name": "X", "poa": bad}, headers=headers
        ),
        422,
        "validation_failed",
    )
    problem(api.http.get("/clients/00707202212345", headers=headers), 404, "client_not_found")


def test_self_filer_has_no_clients(api: Api) -> None:
    headers = api.login("self_filer")
    problem(api.http.get("/clients", headers=headers), 403, "not_tax_representative")


def test_detach_is_idempotent_and_blocks_new_poa(api: Api) -> None:
    headers = api.login()
    r = api.http.post(
        "/clients/02010201910123/detach", json={"reason": "contract ended"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["status"] == "detached"
    again = api.http.post("/clients/02010201910123/detach", headers=headers)
    assert again.json()["detached_at"] == r.json()["detached_at"]
    problem(
        api.http.put("/clients/02010201910123/poa", json=POA, headers=headers),
        409,
        "client_detached",
    )


def test_remote_registration_completes_after_seven_working_days(api: Api) -> None:
    api.advance(8 * 86400)  # Monday + 8 days = Tuesday: 6 working days
    account = api.http.get("/account", headers=api.login("pending")).json()
    assert account["registration"]["state"] == "pending"
    api.advance(86400)  # Wednesday: the 7th working day
    account = api.http.get("/account", headers=api.login("pending")).json()
    assert account["registration"]["state"] == "active"
