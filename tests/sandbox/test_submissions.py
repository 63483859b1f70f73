"""Submissions: idempotency, POA, signatures, schema, balance, the state machine, receipts."""

from __future__ import annotations

import base64
import json

from cryptography import x509

from sochi_cli.cms import parse_signature, verify_detached
from sochi_cli.sandbox.seed import bulk_client_inn
from tests.sandbox.harness import Api, problem

CLIENT = bulk_client_inn(0)
EXPIRED = "02201202010011"
DETACHED = "01108201710099"
SELF_FILER = "00105201510033"


def test_filing_returns_submission_and_signed_delivery_receipt(api: Api) -> None:
    headers = api.login()
    r = api.submit(headers, CLIENT)
    assert r.status_code == 201, r.text
    body = r.json()
    submission, receipt = body["submission"], body["receipt"]
    assert submission["status"] == "received" and submission["fee"] == 2000
    assert submission["client_inn"] == CLIENT and submission["filer_inn"] == "00203202010077"
    assert submission["receipt_ids"] == [receipt["id"]]
    document = base64.b64decode(receipt["document"])
    parsed = verify_detached(base64.b64decode(receipt["signature"]), document)
    assert "receipts" in parsed.signer_certificate.subject.rfc4514_string()
    data = json.loads(document)
    assert data["type"] == "delivery_receipt" and data["submission_id"] == submission["id"]
    assert api.http.get("/account/balance", headers=headers).json()["balance"] == 5_000_000 - 2000
    assert api.http.get(f"/receipts/{receipt['id']}", headers=headers).json() == receipt


def test_same_idempotency_key_returns_the_same_submission(api: Api) -> None:
    headers = api.login()
    report = api.report(CLIENT)
    signature = api.sign(report)
    first = api.submit(headers, CLIENT, key="same", report=report, signature=signature)
    again = api.submit(headers, CLIENT, key="same", report=report, signature=signature)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["receipt"] == first.json()["receipt"]
    assert again.json()["submission"]["id"] == first.json()["submission"]["id"]
    listing = api.http.get("/submissions", headers=headers).json()
    assert len(listing["items"]) == 1
    assert api.http.get("/account/balance", headers=headers).json()["balance"] == 5_000_000 - 2000


def test_same_key_with_different_content_is_a_conflict(api: Api) -> None:
    headers = api.login()
    assert api.submit(headers, CLIENT, key="k1").status_code == 201
    problem(api.submit(headers, bulk_client_inn(1), key="k1"), 409, "idempotency_conflict")


def test_idempotency_key_is_required_and_checked(api: Api) -> None:
    headers = api.login()
    report = api.report(CLIENT)
    files = {"meta": (None, "{}"), "report": ("r.xml", report), "signature": ("s", b"x")}
    problem(
        api.http.post("/submissions", files=files, headers=headers), 400, "idempotency_key_missing"
    )
    problem(
        api.http.post("/submissions", files=files, headers={**headers, "Idempotency-Key": "a b"}),
        400,
        "idempotency_key_invalid",
    )


def test_refusal_stores_nothing_and_frees_the_key(api: Api) -> None:
    headers = api.login()
    api.http.put("/sandbox/balance", json={"inn": "00203202010077", "balance": 0})
    report = api.report(CLIENT)
    signature = api.sign(report)
    body = problem(
        api.submit(headers, CLIENT, key="retry", report=report, signature=signature),
        402,
        "balance_exhausted",
    )
    assert body["required"] == 2000 and body["balance"] == 0
    assert api.http.get("/submissions", headers=headers).json()["items"] == []
    api.http.post("/sandbox/topup", json={"inn": "00203202010077", "amount": 5000})
    assert (
        api.submit(headers, CLIENT, key="retry", report=report, signature=signature).status_code
        == 201
    )


def test_balance_below_fee_is_exhausted(api: Api) -> None:
    headers = api.login()
    api.http.put("/sandbox/balance", json={"inn": "00203202010077", "balance": 1999})
    problem(api.submit(headers, CLIENT), 402, "balance_exhausted")


def test_poa_rules(api: Api) -> None:
    headers = api.login()
    problem(api.submit(headers, EXPIRED), 403, "poa_expired")
    problem(api.submit(headers, DETACHED), 403, "client_detached")
    problem(api.submit(headers, "00909202099999"), 403, "poa_missing")
    poa = {
        "number": "9",
        "issued_on": "2026-01-01",
        "valid_until": "2027-12-31",
        "period_from": "2026-11",
    }
    assert api.http.put(f"/clients/{CLIENT}/poa", json=poa, headers=headers).status_code == 200
    problem(api.submit(headers, CLIENT, period="2026-10"), 403, "poa_period_not_covered")
    future = {**poa, "issued_on": "2026-12-01", "period_from": None}
    api.http.put(f"/clients/{CLIENT}/poa", json=future, headers=headers)
    problem(api.submit(headers, CLIENT), 403, "poa_expired")


def test_self_filer_files_only_for_itself(api: Api) -> None:
    headers = api.login("self_filer")
    problem(api.submit(headers, CLIENT, who="self_filer"), 403, "not_tax_representative")
    assert api.submit(headers, SELF_FILER, who="self_filer").status_code == 201


def test_pending_registration_cannot_file(api: Api) -> None:
    headers = api.login("pending")
    problem(api.submit(headers, "21503198800123", who="pending"), 403, "registration_pending")


def test_signature_rules(api: Api) -> None:
    headers = api.login()
    report = api.report(CLIENT)
    body = problem(
        api.submit(headers, CLIENT, report=report, signature=b"garbage"), 422, "signature_invalid"
    )
    assert body["reason"] == "malformed" and body["part"] == "signature"
    other = api.sign(api.report(bulk_client_inn(1)))
    assert (
        problem(
            api.submit(headers, CLIENT, report=report, signature=other), 422, "signature_invalid"
        )["reason"]
        == "digest_mismatch"
    )
    by_other_subscriber = api.sign(report, "self_filer")
    assert (
        problem(
            api.submit(headers, CLIENT, report=report, signature=by_other_subscriber),
            422,
            "signature_invalid",
        )["reason"]
        == "certificate_mismatch"
    )
    expired = api.new_signer(not_before="2024-01-01T00:00:00Z", not_after="2025-01-01T00:00:00Z")
    assert (
        problem(
            api.submit(headers, CLIENT, report=report, signature=api.sign(report, expired)),
            422,
            "signature_invalid",
        )["reason"]
        == "expired"
    )


def test_signature_made_before_revocation_stands_after_it_fails(api: Api) -> None:
    headers = api.login()
    signer = api.new_signer()
    report = api.report(CLIENT)
    before = api.sign(report, signer)
    api.advance(60)
    serial = format(signer.certificate.serial_number, "x")
    api.http.post(
        f"/certificates/{serial}/revoke", json={"reason": "key_compromise"}, headers=headers
    )
    api.advance(60)
    after = api.sign(report, signer)
    assert (
        problem(
            api.submit(headers, CLIENT, key="after", report=report, signature=after),
            422,
            "signature_invalid",
        )["reason"]
        == "revoked"
    )
    assert (
        api.submit(headers, CLIENT, key="before", report=report, signature=before).status_code
        == 201
    )


def test_a_refusal_is_not_replayed_and_a_filed_key_is_replayed_before_any_check(
    api: Api,
) -> None:
    """What re-signing a refused report relies on (docs/api.md): a refusal saves no result
    under the key, so the same key with a new signature files once; and a key that holds a
    submission is answered from it before any other check, so a refusal proves nothing is
    filed under the key."""
    headers = api.login()
    signer = api.new_signer()
    report = api.report(CLIENT)
    serial = format(signer.certificate.serial_number, "x")
    api.http.post(
        f"/certificates/{serial}/revoke", json={"reason": "key_compromise"}, headers=headers
    )
    api.advance(60)
    refused = api.sign(report, signer)
    for _ in range(2):  # refused again, not a replay of the first refusal
        body = problem(
            api.submit(headers, CLIENT, key="k", report=report, signature=refused),
            422,
            "signature_invalid",
        )
        assert body["reason"] == "revoked"
    good = api.sign(report)
    first = api.submit(headers, CLIENT, key="k", report=report, signature=good)
    assert first.status_code == 201, first.text
    # filed: the refused signature under the same key is now a conflict naming the filing
    conflict = problem(
        api.submit(headers, CLIENT, key="k", report=report, signature=refused),
        409,
        "idempotency_conflict",
    )
    assert conflict["submission_id"] == first.json()["submission"]["id"]
    # the POA lapses after filing: the same request is still answered with the filing
    poa = {"number": "9", "issued_on": "2020-01-01", "valid_until": "2020-12-31"}
    assert api.http.put(f"/clients/{CLIENT}/poa", json=poa, headers=headers).status_code == 200
    again = api.submit(headers, CLIENT, key="k", report=report, signature=good)
    assert again.status_code == 200 and again.json() == first.json()
    assert len(api.http.get("/submissions", headers=headers).json()["items"]) == 1


def test_attachments_need_their_own_signatures(api: Api) -> None:
    headers = api.login()
    pdf = b"%PDF-1.4 scan"
    r = api.submit(headers, CLIENT, attachments=[(pdf, api.sign(pdf))])
    assert r.status_code == 201
    assert r.json()["submission"]["attachments"][0]["size"] == len(pdf)
    body = problem(
        api.submit(headers, bulk_client_inn(1), attachments=[(pdf, api.sign(b"other"))]),
        422,
        "signature_invalid",
    )
    assert body["part"] == "attachment_signature[0]"


def test_schema_errors_list_paths(api: Api) -> None:
    headers = api.login()
    values = {"turnover": "abc", "vat_charged": "1.234", "vat_credit": "0", "color": "red"}
    report = api.report(CLIENT, values=values)
    body = problem(api.submit(headers, CLIENT, report=report), 422, "validation_failed")
    paths = {e["path"] for e in body["errors"]}
    assert paths == {"body/turnover", "body/vat_charged", "body/color", "body/vat_payable"}
    assert all("line" in e for e in body["errors"] if e["path"] != "body/vat_payable")
    problem(api.submit(headers, CLIENT, report=b"<report"), 422, "validation_failed")
    doctype = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><report/>'
    problem(api.submit(headers, CLIENT, report=doctype), 422, "validation_failed")
    mismatch = api.report(bulk_client_inn(1))
    body = problem(api.submit(headers, CLIENT, report=mismatch), 422, "validation_failed")
    assert body["errors"][0]["path"] == "header/inn"


def test_meta_form_and_inn_are_checked(api: Api) -> None:
    headers = api.login()
    problem(
        api.submit(
            headers, CLIENT, meta={"client_inn": CLIENT, "form": "XX-1", "period": "2026-10"}
        ),
        422,
        "form_not_found",
    )
    problem(
        api.submit(
            headers, CLIENT, meta={"client_inn": "123", "form": "STI-077", "period": "2026-10"}
        ),
        422,
        "invalid_inn",
    )
    body = problem(
        api.submit(
            headers,
            CLIENT,
            meta={
                "client_inn": CLIENT,
                "form": "STI-077",
                "period": "2026-10",
                "correction": "x",
                "extra": 1,
            },
        ),
        422,
        "validation_failed",
    )
    assert {e["path"] for e in body["errors"]} == {"meta.correction", "meta.extra"}
    future = api.report(CLIENT, period="2027-01")
    problem(api.submit(headers, CLIENT, period="2027-01", report=future), 422, "validation_failed")


def test_bad_multipart_bodies_are_problems(api: Api) -> None:
    headers = {**api.login(), "Idempotency-Key": "m1"}
    problem(
        api.http.post("/submissions", json={"meta": {}}, headers=headers),
        415,
        "unsupported_media_type",
    )
    problem(
        api.http.post(
            "/submissions",
            content=b"--zz\r\nbroken",
            headers={**headers, "Content-Type": "multipart/form-data; boundary=zz"},
        ),
        422,
        "validation_failed",
    )
    problem(
        api.http.post("/submissions", files={"meta": (None, "{nope")}, headers=headers),
        422,
        "validation_failed",
    )
    problem(
        api.http.post(
            "/submissions",
            files={"meta": (None, "[1]"), "report": ("r", b"x"), "signature": ("s", b"x")},
            headers=headers,
        ),
        400,
        "malformed_json",
    )
    problem(
        api.http.post(
            "/submissions", content=b"x", headers={**headers, "Content-Type": "multipart/form-data"}
        ),
        400,
        "malformed_multipart",
    )


def test_oversize_report_is_refused(api: Api) -> None:
    headers = api.login()
    big = b"<" + b"x" * (10 * 1024 * 1024 + 1)
    problem(api.submit(headers, CLIENT, report=big, signature=b"x"), 413, "payload_too_large")


def test_state_machine_reaches_accepted_with_agency_protocol(api: Api) -> None:
    headers = api.login()
    sub = api.submit(headers, CLIENT).json()["submission"]
    api.advance(1)
    assert (
        api.http.get(f"/submissions/{sub['id']}", headers=headers).json()["status"] == "delivered"
    )
    api.advance(2)
    final = api.http.get(f"/submissions/{sub['id']}", headers=headers).json()
    assert final["status"] == "accepted" and final["protocol"]["verdict"] == "accepted"
    receipts = api.http.get(f"/submissions/{sub['id']}/receipts", headers=headers).json()["items"]
    assert [r["kind"] for r in receipts] == ["delivery", "protocol"]
    protocol = receipts[1]
    parsed = parse_signature(base64.b64decode(protocol["signature"]))
    verify_detached(base64.b64decode(protocol["signature"]), base64.b64decode(protocol["document"]))
    assert "State Tax Service" in parsed.signer_certificate.subject.rfc4514_string()
    events = api.http.get("/events", headers=headers).json()["events"]
    assert [e["type"] for e in events if e.get("submission_id") == sub["id"]] == [
        "submission.received",
        "submission.delivered",
        "submission.accepted",
    ]


def test_totals_breaker_is_rejected_with_fields_and_inbox_notice(api: Api) -> None:
    headers = api.login()
    api.http.put("/sandbox/agency", json={"delivery_delay_seconds": 0, "verdict_delay_seconds": 0})
    values = {"turnover": "1000", "vat_charged": "120", "vat_credit": "20", "vat_payable": "90"}
    sub = api.submit(headers, CLIENT, report=api.report(CLIENT, values=values)).json()["submission"]
    api.advance(0)
    final = api.http.get(f"/submissions/{sub['id']}", headers=headers).json()
    assert final["status"] == "rejected"
    assert final["protocol"]["errors"][0]["path"] == "body/vat_payable"
    inbox = api.http.get("/inbox?unacknowledged=true", headers=headers).json()["items"]
    assert any(item["submission_id"] == sub["id"] for item in inbox)


def test_listing_filters_and_pages(api: Api) -> None:
    headers = api.login()
    for index in range(3):
        assert api.submit(headers, bulk_client_inn(index)).status_code == 201
    page = api.http.get("/submissions?limit=2", headers=headers).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = api.http.get(
        f"/submissions?limit=2&cursor={page['next_cursor']}", headers=headers
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    only = api.http.get(
        f"/submissions?client={bulk_client_inn(1)}&status=received", headers=headers
    ).json()
    assert [s["client_inn"] for s in only["items"]] == [bulk_client_inn(1)]
    problem(api.http.get("/submissions/sub_nope", headers=headers), 404, "submission_not_found")
    problem(api.http.get("/receipts/rcp_nope", headers=headers), 404, "receipt_not_found")
    other = api.login("self_filer")
    problem(
        api.http.get(f"/submissions/{page['items'][0]['id']}", headers=other),
        404,
        "submission_not_found",
    )


def test_signer_certificate_carries_inn_name_and_position(api: Api) -> None:
    cert = api.signer().certificate
    from cryptography.x509.oid import NameOID

    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "00203202010077"
    assert cert.subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Chief accountant"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
