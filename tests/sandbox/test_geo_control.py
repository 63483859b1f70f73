"""`PUT /sandbox/geo`: every request without the X-Sandbox-Client-* headers comes from there."""

from __future__ import annotations

from tests.sandbox.harness import Api, problem


def test_geo_control_places_every_client_abroad(api: Api) -> None:
    headers = api.login()
    assert api.http.get("/sandbox/geo").json() == {"country": None, "ip": None}
    r = api.http.put("/sandbox/geo", json={"country": "de", "ip": "91.205.52.10"})
    assert r.status_code == 200 and r.json() == {"country": "DE", "ip": "91.205.52.10"}
    problem(api.http.get("/account", headers=headers), 403, "geo_blocked")
    problem(api.token_request(), 403, "geo_blocked")
    assert api.http.get("/status").status_code == 200  # exempt, as documented
    # the per-request headers still win over the control
    home = {"X-Sandbox-Client-Country": "KG"}
    assert api.http.get("/account", headers={**headers, **home}).status_code == 200
    api.http.put("/sandbox/geo", json={"country": None, "ip": None})
    assert api.http.get("/account", headers=headers).status_code == 200


def test_geo_control_refuses_garbage(api: Api) -> None:
    problem(api.http.put("/sandbox/geo", json={"country": "DEU"}), 422, "validation_failed")
    problem(api.http.put("/sandbox/geo", json={"ip": "not-an-ip"}), 422, "validation_failed")
    problem(api.http.put("/sandbox/geo", json={"city": "Berlin"}), 422, "validation_failed")
