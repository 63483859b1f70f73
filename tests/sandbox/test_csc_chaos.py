"""E-Cloud remote signing (CSC v2 shape), chaos, drop-after-commit and rate limits."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from sochi_cli.sandbox.middleware import DroppedResponse
from sochi_cli.sandbox.seed import DEMO_CREDENTIAL, DEMO_PIN, bulk_client_inn
from tests.sandbox.harness import Api, b64, problem

SHA256 = "2.16.840.1.101.3.4.2.1"
ECDSA_SHA256 = "1.2.840.10045.4.3.2"


def _otp(api: Api) -> str:
    assert (
        api.http.post(
            "/csc/v2/credentials/sendOTP", json={"credentialID": DEMO_CREDENTIAL}
        ).status_code
        == 200
    )
    messages = api.http.get(f"/sandbox/otp?credential={DEMO_CREDENTIAL}").json()["messages"]
    return str(messages[-1]["otp"])


def _authorize(api: Api, num: int = 2, pin: str = DEMO_PIN) -> object:
    return api.http.post(
        "/csc/v2/credentials/authorize",
        json={"credentialID": DEMO_CREDENTIAL, "numSignatures": num, "PIN": pin, "OTP": _otp(api)},
    )


def test_cloud_signing_flow_signs_hashes_with_the_credential_key(api: Api) -> None:
    ids = api.http.post("/csc/v2/credentials/list", json={"userID": "00105201510033"}).json()
    assert ids == {"credentialIDs": [DEMO_CREDENTIAL]}
    assert (
        api.http.post("/csc/v2/credentials/list", json={"userID": "00203202010077"}).json()[
            "credentialIDs"
        ]
        == []
    )
    info = api.http.post(
        "/csc/v2/credentials/info", json={"credentialID": DEMO_CREDENTIAL, "certificates": "chain"}
    ).json()
    assert info["key"] == {"status": "enabled", "algo": ["1.2.840.10045.2.1"], "len": 256}
    assert info["cert"]["status"] == "valid" and len(info["cert"]["certificates"]) == 3
    assert info["authMode"] == "explicit" and info["multisign"] >= 1000
    cert = x509.load_der_x509_certificate(base64.b64decode(info["cert"]["certificates"][0]))
    r = _authorize(api)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    sad = r.json()["SAD"]  # type: ignore[attr-defined]
    digests = [hashlib.sha256(b"one").digest(), hashlib.sha256(b"two").digest()]
    signed = api.http.post(
        "/csc/v2/signatures/signHash",
        json={
            "credentialID": DEMO_CREDENTIAL,
            "SAD": sad,
            "hashes": [b64(d) for d in digests],
            "hashAlgo": SHA256,
            "signAlgo": ECDSA_SHA256,
        },
    )
    assert signed.status_code == 200, signed.text
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    for digest, signature in zip(digests, signed.json()["signatures"], strict=True):
        public.verify(base64.b64decode(signature), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    more = api.http.post(
        "/csc/v2/signatures/signHash",
        json={
            "credentialID": DEMO_CREDENTIAL,
            "SAD": sad,
            "hashes": [b64(digests[0])],
            "hashAlgo": SHA256,
            "signAlgo": ECDSA_SHA256,
        },
    )
    problem(more, 422, "sad_exhausted")


def test_wrong_pin_counts_down_then_locks(api: Api) -> None:
    body = problem(_authorize(api, pin="000000"), 401, "invalid_pin")
    assert body["attempts_left"] == 4
    for _ in range(3):
        problem(_authorize(api, pin="000000"), 401, "invalid_pin")
    problem(_authorize(api, pin="000000"), 403, "credential_locked")
    problem(_authorize(api), 403, "credential_locked")


def test_otp_sad_and_algorithm_rules(api: Api) -> None:
    _otp(api)
    wrong_otp = api.http.post(
        "/csc/v2/credentials/authorize",
        json={"credentialID": DEMO_CREDENTIAL, "numSignatures": 1, "PIN": DEMO_PIN, "OTP": "x"},
    )
    problem(wrong_otp, 401, "invalid_otp")
    otp = _otp(api)
    api.advance(301)
    late = api.http.post(
        "/csc/v2/credentials/authorize",
        json={"credentialID": DEMO_CREDENTIAL, "numSignatures": 1, "PIN": DEMO_PIN, "OTP": otp},
    )
    problem(late, 401, "otp_expired")
    sad = _authorize(api).json()["SAD"]  # type: ignore[attr-defined]
    digest = b64(hashlib.sha256(b"x").digest())
    base = {
        "credentialID": DEMO_CREDENTIAL,
        "SAD": sad,
        "hashes": [digest],
        "hashAlgo": SHA256,
        "signAlgo": ECDSA_SHA256,
    }
    problem(
        api.http.post("/csc/v2/signatures/signHash", json={**base, "hashAlgo": "1.3.14.3.2.26"}),
        422,
        "unsupported_algorithm",
    )
    problem(
        api.http.post(
            "/csc/v2/signatures/signHash", json={**base, "signAlgo": "1.2.840.113549.1.1.11"}
        ),
        422,
        "unsupported_algorithm",
    )
    problem(
        api.http.post("/csc/v2/signatures/signHash", json={**base, "hashes": ["AAAA"]}),
        422,
        "validation_failed",
    )
    problem(
        api.http.post("/csc/v2/signatures/signHash", json={**base, "SAD": "nope"}),
        401,
        "sad_invalid",
    )
    problem(
        api.http.post("/csc/v2/credentials/info", json={"credentialID": "nope"}),
        404,
        "credential_not_found",
    )
    api.advance(301)
    problem(api.http.post("/csc/v2/signatures/signHash", json=base), 401, "sad_expired")


def test_error_rate_answers_transient_failure_with_retry_after(api: Api) -> None:
    api.http.put("/sandbox/chaos", json={"error_rate": 1.0})
    r = api.http.get("/forms")
    problem(r, 503, "transient_failure")
    assert r.headers["Retry-After"] == "1"
    assert api.http.get("/status").status_code == 200


def test_dropped_answer_after_commit_is_recovered_by_the_same_key(api: Api) -> None:
    headers = api.login()
    report = api.report(bulk_client_inn(0))
    signature = api.sign(report)
    api.http.put("/sandbox/chaos", json={"drop_after_commit_rate": 1.0, "drop_mode": "error"})
    first = api.submit(headers, bulk_client_inn(0), key="drop", report=report, signature=signature)
    problem(first, 503, "transient_failure")
    api.http.put("/sandbox/chaos", json={})
    again = api.submit(headers, bulk_client_inn(0), key="drop", report=report, signature=signature)
    assert again.status_code == 200  # it had been filed: the same submission, not a second one
    assert len(api.http.get("/submissions", headers=headers).json()["items"]) == 1


def test_drop_mode_close_leaves_no_answer(api: Api) -> None:
    headers = api.login()
    api.http.put("/sandbox/chaos", json={"drop_after_commit_rate": 1.0, "drop_mode": "close"})
    with pytest.raises(DroppedResponse):
        api.submit(headers, bulk_client_inn(0), key="close")
    api.http.put("/sandbox/chaos", json={})
    assert len(api.http.get("/submissions", headers=headers).json()["items"]) == 1


def test_rate_limit_answers_429_with_retry_after(api: Api) -> None:
    api.http.put("/sandbox/limits", json={"requests_per_second": 0.01, "burst": 2})
    assert api.http.get("/forms").status_code == 200
    assert api.http.get("/forms").status_code == 200
    r = api.http.get("/forms")
    problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1


def test_added_latency_still_answers(api: Api) -> None:
    api.http.put("/sandbox/chaos", json={"latency_ms": 20})
    assert api.http.get("/sandbox/chaos").json()["latency_ms"] == 20
    assert api.http.get("/forms").status_code == 200


def test_concurrent_requests_with_one_key_file_once(api: Api) -> None:
    from concurrent.futures import ThreadPoolExecutor

    headers = api.login()
    report = api.report(bulk_client_inn(0))
    signature = api.sign(report)
    with ThreadPoolExecutor(8) as pool:
        codes = sorted(
            pool.map(
                lambda _: (
                    api.submit(
                        headers, bulk_client_inn(0), key="race", report=report, signature=signature
                    ).status_code
                ),
                range(8),
            )
        )
    assert codes == [200] * 7 + [201]
    assert len(api.http.get("/submissions", headers=headers).json()["items"]) == 1
    charges = api.http.get("/account/charges", headers=headers).json()["items"]
    assert [c["kind"] for c in charges].count("submission_fee") == 1
