"""Status, maintenance windows, and authentication by signed challenge."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization

from tests.sandbox.harness import Api, b64, problem


def test_status_answers_without_login(api: Api) -> None:
    r = api.http.get("/status")
    assert r.status_code == 200
    body = r.json()
    assert body["server_time"] == "2026-11-23T06:00:00Z"
    assert body["maintenance"]["active"] is False
    assert body["maintenance"]["next"]["starts_at"] == "2026-11-27T11:30:00Z"
    assert body["maintenance"]["weekly"] == {
        "weekday": "friday",
        "start": "17:30",
        "end": "20:30",
        "time_zone": "Asia/Bishkek",
    }


def test_weekly_friday_window_answers_maintenance_with_retry_after(api: Api) -> None:
    api.http.put("/sandbox/clock", json={"now": "2026-11-27T12:00:00Z", "frozen": True})
    r = api.http.get("/forms")
    body = problem(r, 503, "maintenance")
    assert r.headers["Retry-After"] == str(150 * 60)
    assert body["retry_after"] == 150 * 60
    assert body["window"]["ends_at"] == "2026-11-27T14:30:00Z"
    # status, the sandbox controls and the OpenAPI document stay open
    assert api.http.get("/status").json()["maintenance"]["active"] is True
    assert api.http.get("/sandbox/clock").status_code == 200
    assert api.http.get("http://sandbox.test/openapi.json").status_code == 200


def test_announced_window_is_published_and_enforced(api: Api) -> None:
    r = api.http.post(
        "/sandbox/maintenance",
        json={
            "starts_at": "2026-11-24T03:00:00Z",
            "ends_at": "2026-11-24T04:00:00Z",
            "title": "DB upgrade",
        },
    )
    assert r.status_code == 201
    status = api.http.get("/status").json()
    assert status["maintenance"]["announced"][0]["title"] == "DB upgrade"
    assert any(n["kind"] == "planned_works" for n in status["notices"])
    api.http.put("/sandbox/clock", json={"now": "2026-11-24T03:30:00Z", "frozen": True})
    body = problem(api.http.get("/tariffs"), 503, "maintenance")
    assert body["window"]["kind"] == "announced"


def test_login_with_signed_challenge_returns_tokens_and_subscriber(api: Api) -> None:
    r = api.token_request("representative")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["subscriber"]["inn"] == "00203202010077"
    assert body["subscriber"]["kind"] == "tax_representative"
    assert body["subscriber"]["person"]["position"] == "Chief accountant"


def _challenge_and_signature(api: Api) -> tuple[dict[str, str], dict[str, str]]:
    signer = api.signer()
    challenge = api.http.post("/auth/challenge").json()
    body = {
        "challenge_id": challenge["challenge_id"],
        "certificate": b64(signer.certificate.public_bytes(serialization.Encoding.DER)),
        "signature": b64(api.sign(base64.b64decode(challenge["nonce"]))),
    }
    return challenge, body


def test_replayed_challenge_is_refused(api: Api) -> None:
    _, body = _challenge_and_signature(api)
    assert api.http.post("/auth/token", json=body).status_code == 200
    problem(api.http.post("/auth/token", json=body), 401, "challenge_replayed")


def test_expired_challenge_is_refused(api: Api) -> None:
    _, body = _challenge_and_signature(api)
    api.advance(301)
    problem(api.http.post("/auth/token", json=body), 401, "challenge_expired")


def test_unknown_challenge_is_refused(api: Api) -> None:
    _, body = _challenge_and_signature(api)
    body["challenge_id"] = "chl_nope"
    problem(api.http.post("/auth/token", json=body), 401, "challenge_unknown")


def test_garbage_signature_is_malformed(api: Api) -> None:
    _, body = _challenge_and_signature(api)
    body["signature"] = b64(b"\x30\x03garbage")
    assert (
        problem(api.http.post("/auth/token", json=body), 401, "signature_invalid")["reason"]
        == "malformed"
    )


def test_signature_over_other_bytes_is_refused(api: Api) -> None:
    challenge = api.http.post("/auth/challenge").json()
    body = {
        "challenge_id": challenge["challenge_id"],
        "certificate": b64(api.signer().certificate.public_bytes(serialization.Encoding.DER)),
        "signature": b64(api.sign(challenge["nonce"].encode())),  # the base64 text, not the bytes
    }
    assert (
        problem(api.http.post("/auth/token", json=body), 401, "signature_invalid")["reason"]
        == "digest_mismatch"
    )


def test_certificate_not_matching_the_signer_is_refused(api: Api) -> None:
    _, body = _challenge_and_signature(api)
    other = api.signer("self_filer").certificate.public_bytes(serialization.Encoding.DER)
    body["certificate"] = b64(other)
    assert (
        problem(api.http.post("/auth/token", json=body), 401, "signature_invalid")["reason"]
        == "certificate_mismatch"
    )


def test_expired_certificate_cannot_log_in(api: Api) -> None:
    signer = api.new_signer(not_before="2024-01-01T00:00:00Z", not_after="2025-01-01T00:00:00Z")
    body = problem(api.token_request(signer), 401, "signature_invalid")
    assert body["reason"] == "expired"


def test_revoked_certificate_cannot_log_in(api: Api) -> None:
    signer = api.new_signer()
    headers = api.login()
    serial = format(signer.certificate.serial_number, "x")
    r = api.http.post(
        f"/certificates/{serial}/revoke", json={"reason": "key_compromise"}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert problem(api.token_request(signer), 401, "signature_invalid")["reason"] == "revoked"


def test_certificate_without_signing_key_usage_is_refused(api: Api) -> None:
    signer = api.new_signer(key_usage=["key_encipherment"])
    assert (
        problem(api.token_request(signer), 401, "signature_invalid")["reason"] == "wrong_key_usage"
    )


def test_missing_or_unknown_token_is_unauthorized(api: Api) -> None:
    problem(api.http.get("/account"), 401, "unauthorized")
    problem(api.http.get("/account", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")


def test_access_token_expires_and_refresh_rotates(api: Api) -> None:
    tokens = api.token_request().json()
    api.advance(901)
    problem(
        api.http.get("/account", headers={"Authorization": "Bearer " + tokens["access_token"]}),
        401,
        "token_expired",
    )
    r = api.http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200
    fresh = r.json()
    assert (
        api.http.get(
            "/account", headers={"Authorization": "Bearer " + fresh["access_token"]}
        ).status_code
        == 200
    )
    problem(
        api.http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        401,
        "refresh_invalid",
    )


def test_logout_ends_the_session(api: Api) -> None:
    headers = api.login()
    assert api.http.post("/auth/logout", headers=headers).status_code == 204
    problem(api.http.get("/account", headers=headers), 401, "unauthorized")


def test_malformed_json_and_wrong_content_type_are_problems(api: Api) -> None:
    problem(
        api.http.post(
            "/auth/token", content=b"{nope", headers={"Content-Type": "application/json"}
        ),
        400,
        "malformed_json",
    )
    problem(
        api.http.post("/auth/token", content=b"a=b", headers={"Content-Type": "text/plain"}),
        415,
        "unsupported_media_type",
    )
    problem(api.http.post("/auth/token", json=[1, 2]), 400, "malformed_json")
    body = problem(
        api.http.post("/auth/token", json={"challenge_id": "x"}), 422, "validation_failed"
    )
    assert {e["path"] for e in body["errors"]} == {"certificate", "signature"}


def test_unknown_path_and_method_are_problems(api: Api) -> None:
    problem(api.http.get("/nowhere"), 404, "not_found")
    problem(api.http.delete("/status"), 405, "method_not_allowed")


def test_json_body_over_one_mebibyte_is_too_large(api: Api) -> None:
    big = b'{"challenge_id": "' + b"x" * (1024 * 1024) + b'"}'
    problem(
        api.http.post("/auth/token", content=big, headers={"Content-Type": "application/json"}),
        413,
        "payload_too_large",
    )
