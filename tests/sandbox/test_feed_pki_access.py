"""Events long poll, inbox with signed acks, PKI (chain, CRL, revoke, renewal), geo rule."""

from __future__ import annotations

import base64
import json
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from sochi_cli.cms import verify_detached
from sochi_cli.sandbox.seed import bulk_client_inn
from tests.sandbox.harness import Api, b64, problem

FIRM = "00203202010077"


def test_events_feed_continues_from_cursor(api: Api) -> None:
    headers = api.login()
    first = api.http.get("/events", headers=headers).json()
    assert first["events"][0]["type"] == "inbox.received"
    cursor = first["next_cursor"]
    empty = api.http.get(f"/events?after={cursor}&wait=0", headers=headers).json()
    assert empty == {"events": [], "next_cursor": cursor}
    api.submit(headers, bulk_client_inn(0))
    more = api.http.get(f"/events?after={cursor}", headers=headers).json()
    assert [e["type"] for e in more["events"]] == ["submission.received"]
    assert more["next_cursor"] == more["events"][-1]["cursor"]
    problem(api.http.get("/events?wait=61", headers=headers), 422, "validation_failed")
    problem(api.http.get("/events?after=x", headers=headers), 400, "invalid_cursor")
    # a cursor past the feed's last event (the feed was reset since): not issued by it
    ahead = str(int(more["next_cursor"]) + 1)
    problem(api.http.get(f"/events?after={ahead}", headers=headers), 400, "invalid_cursor")


def test_long_poll_returns_when_an_event_arrives(api: Api) -> None:
    headers = api.login()
    cursor = api.http.get("/events", headers=headers).json()["next_cursor"]
    result: dict[str, object] = {}

    def poll() -> None:
        result["body"] = api.http.get(f"/events?after={cursor}&wait=20", headers=headers).json()

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.3)
    api.http.post("/sandbox/inbox", json={"inn": FIRM, "agency": "SF", "subject": "Hello"})
    thread.join(timeout=15)
    assert not thread.is_alive()
    body = result["body"]
    assert isinstance(body, dict) and body["events"][0]["type"] == "inbox.received"


def test_inbox_item_is_signed_and_ack_returns_operator_receipt(api: Api) -> None:
    headers = api.login()
    item = api.http.get("/inbox", headers=headers).json()["items"][0]
    document = base64.b64decode(item["document"])
    verify_detached(base64.b64decode(item["signature"]), document)
    bad = api.http.post(
        f"/inbox/{item['id']}/ack", json={"signature": b64(api.sign(b"other"))}, headers=headers
    )
    problem(bad, 422, "signature_invalid")
    r = api.http.post(
        f"/inbox/{item['id']}/ack", json={"signature": b64(api.sign(document))}, headers=headers
    )
    assert r.status_code == 200, r.text
    receipt = r.json()["receipt"]
    assert receipt["kind"] == "inbox_ack" and r.json()["item"]["ack_receipt_id"] == receipt["id"]
    assert json.loads(base64.b64decode(receipt["document"]))["inbox_id"] == item["id"]
    again = api.http.post(
        f"/inbox/{item['id']}/ack", json={"signature": b64(api.sign(document))}, headers=headers
    )
    assert again.json()["receipt"] == receipt
    problem(
        api.http.post("/inbox/inb_x/ack", json={"signature": "AA=="}, headers=headers),
        404,
        "inbox_item_not_found",
    )


def test_chain_and_crl_with_revocation_date_and_reason(api: Api) -> None:
    chain = api.http.get("/pki/chain").json()["certificates"]
    roles = [c["role"] for c in chain]
    assert roles[:2] == ["operator_ca", "root"]
    root = x509.load_der_x509_certificate(base64.b64decode(chain[1]["certificate"]))
    operator_ca = x509.load_der_x509_certificate(base64.b64decode(chain[0]["certificate"]))
    assert "Main CA (sandbox)" in root.subject.rfc4514_string()
    operator_ca.verify_directly_issued_by(root)
    headers = api.login()
    serial = api.http.get("/certificates", headers=headers).json()["items"][0]["serial"]
    api.advance(10)
    r = api.http.post(
        f"/certificates/{serial}/revoke", json={"reason": "key_compromise"}, headers=headers
    )
    assert r.json()["status"] == "revoked" and r.json()["revoked_at"] == "2026-11-23T06:00:10Z"
    problem(
        api.http.post(
            f"/certificates/{serial}/revoke", json={"reason": "key_compromise"}, headers=headers
        ),
        409,
        "certificate_revoked",
    )
    problem(
        api.http.post(f"/certificates/{serial}/revoke", json={"reason": "bored"}, headers=headers),
        422,
        "validation_failed",
    )
    problem(
        api.http.post("/certificates/abc/revoke", json={"reason": "superseded"}, headers=headers),
        404,
        "certificate_not_found",
    )
    response = api.http.get("/pki/crl")
    assert response.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    assert crl.is_signature_valid(operator_ca.public_key())
    entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
    assert entry is not None
    assert entry.revocation_date_utc.isoformat() == "2026-11-23T06:00:10+00:00"
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )


def test_renewal_paths(api: Api) -> None:
    headers = api.login()
    certs = api.http.get("/certificates", headers=headers).json()["items"]
    file_cert = certs[0]
    assert file_cert["renewal"] == "office_visit"
    r = api.http.post(
        "/certificates/renewal", json={"serial": file_cert["serial"]}, headers=headers
    )
    assert r.status_code == 201 and r.json()["state"] == "office_visit_required"
    signer = api.signer()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Aida Beishenova")]))
        .sign(signer._key, hashes.SHA256())
    )
    body = {"serial": file_cert["serial"], "csr": b64(csr.public_bytes(serialization.Encoding.DER))}
    r = api.http.post("/certificates/renewal", json=body, headers=headers)
    assert r.status_code == 201 and r.json()["state"] == "issued"
    assert r.json()["certificate"]["serial"] != file_cert["serial"]
    problem(
        api.http.post("/certificates/renewal", json={**body, "csr": b64(b"junk")}, headers=headers),
        422,
        "validation_failed",
    )
    cloud_headers = api.login("self_filer")
    cloud = next(
        c
        for c in api.http.get("/certificates", headers=cloud_headers).json()["items"]
        if c["key_kind"] == "cloud"
    )
    assert cloud["renewal"] == "automatic"
    r = api.http.post(
        "/certificates/renewal", json={"serial": cloud["serial"]}, headers=cloud_headers
    )
    assert (
        r.json()["state"] == "issued"
        and r.json()["certificate"]["credential_id"] == cloud["credential_id"]
    )
    api.http.patch("/account", json={"requisites": {"head_position": "CEO"}}, headers=cloud_headers)
    problem(
        api.http.post(
            "/certificates/renewal", json={"serial": cloud["serial"]}, headers=cloud_headers
        ),
        409,
        "requisites_changed",
    )


def test_requests_from_abroad_need_an_approved_request(api: Api) -> None:
    abroad = {"X-Sandbox-Client-Country": "DE", "X-Sandbox-Client-IP": "91.205.52.10"}
    problem(api.token_request(**abroad), 403, "geo_blocked")
    headers = api.login()
    problem(api.http.get("/account", headers={**headers, **abroad}), 403, "geo_blocked")
    request = {
        "inn": FIRM,
        "ip": "91.205.52.10",
        "country": "DE",
        "city": "Berlin",
        "from": "2026-11-20",
        "to": "2026-12-20",
        "email": "someone@else.kg",
    }
    problem(
        api.http.post("/access/abroad", json=request, headers=abroad), 422, "email_not_registered"
    )
    problem(
        api.http.post("/access/abroad", json={**request, "ip": "10.0.0.1"}),
        422,
        "validation_failed",
    )
    problem(api.http.post("/access/abroad", json={**request, "inn": "9"}), 422, "invalid_inn")
    r = api.http.post(
        "/access/abroad", json={**request, "email": "office@salyk-kenesh.kg"}, headers=abroad
    )
    assert r.status_code == 201 and r.json()["state"] == "approved"
    assert api.http.get("/account", headers={**headers, **abroad}).status_code == 200
    assert api.token_request(**abroad).status_code == 200
    other_ip = {**abroad, "X-Sandbox-Client-IP": "91.205.52.11"}
    problem(api.http.get("/account", headers={**headers, **other_ip}), 403, "geo_blocked")
    api.http.put("/sandbox/clock", json={"now": "2026-12-21T06:00:00Z", "frozen": True})
    problem(api.token_request(**abroad), 403, "geo_blocked")
    assert len(api.http.get("/access/abroad", headers=api.login()).json()["items"]) == 1
