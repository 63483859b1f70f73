"""The client covers every endpoint of the contract (sync over a socket, async over ASGI)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sochi_cli.api import resources as R
from sochi_cli.api.client import AsyncOperatorClient, MemoryTokens, OperatorClient
from sochi_cli.api.errors import (
    Conflict,
    OperatorNotFound,
    OperatorSignatureInvalid,
    PoaExpired,
    SessionExpired,
    Unauthorized,
)
from sochi_cli.cms import sign_detached, verify_detached
from sochi_cli.services.session import sign_in
from sochi_cli.token.file import KeySigner
from tests.api.conftest import Sandbox

VALID_CLIENT = "02010201910123"
EXPIRED_POA_CLIENT = "02201202010011"


def signer_of(sb: Sandbox, who: str = "representative") -> KeySigner:
    return KeySigner.from_pkcs12(Path(sb.facts[who]["pkcs12"]), sb.facts["passphrase"].encode())


@pytest.fixture
def client(sb: Sandbox) -> Iterator[OperatorClient]:
    with OperatorClient(sb.api, tokens=MemoryTokens()) as c:
        grant = sign_in(c, signer_of(sb))
        c._engine.tokens.store(grant)  # type: ignore[union-attr]
        yield c


def report_bytes(period: str, *, inn: str = VALID_CLIENT, payable: str = "10.00") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<report xmlns="urn:sochi:report:1" '
        f'form="STI-077" version="1"><header><inn>{inn}</inn><name>Ak-Suu</name>'
        f"<period>{period}</period><correction>0</correction></header><body>"
        "<turnover>100.00</turnover><vat_charged>12.00</vat_charged>"
        f"<vat_credit>2.00</vat_credit><vat_payable>{payable}</vat_payable></body></report>"
    ).encode()


def submit(
    client: OperatorClient,
    sb: Sandbox,
    key: str,
    report: bytes,
    *,
    inn: str = VALID_CLIENT,
    period: str = "2026-01",
    signature: bytes | None = None,
):  # type: ignore[no-untyped-def]
    signature = signature or sign_detached(report, signer_of(sb))
    return client.call(
        R.submissions.create(
            idempotency_key=key,
            client_inn=inn,
            form="STI-077",
            period=period,
            report=report,
            signature=signature,
            report_filename="vat.xml",
        )
    )


def test_submission_is_idempotent_and_receipts_verify(client: OperatorClient, sb: Sandbox) -> None:
    key = f"test-{uuid.uuid4()}"
    report = report_bytes("2026-01")
    signature = sign_detached(report, signer_of(sb))  # a resend carries the same bytes
    first = submit(client, sb, key, report, signature=signature)
    assert first.replayed is False and first.submission.status == "received"
    again = submit(client, sb, key, report, signature=signature)
    assert again.replayed is True and again.submission.id == first.submission.id
    with pytest.raises(Conflict):
        submit(client, sb, key, report_bytes("2026-02"), period="2026-02")
    sub_id = first.submission.id
    assert client.call(R.submissions.get(sub_id)).id == sub_id
    receipts = client.call(R.submissions.receipts(sub_id)).items
    assert receipts[0].kind == "delivery"
    receipt = client.call(R.receipts.get(receipts[0].id))
    verify_detached(receipt.signature_bytes(), receipt.document_bytes())
    listed = list(client.iterate(R.submissions.list(client=VALID_CLIENT, form="STI-077", limit=1)))
    assert sub_id in {s.id for s in listed}


def test_refusals_are_typed(client: OperatorClient, sb: Sandbox) -> None:
    report = report_bytes("2026-01", inn=EXPIRED_POA_CLIENT)
    with pytest.raises(PoaExpired):
        submit(client, sb, f"t-{uuid.uuid4()}", report, inn=EXPIRED_POA_CLIENT)
    good = report_bytes("2026-03")
    bad_signature = sign_detached(b"other content", signer_of(sb))
    with pytest.raises(OperatorSignatureInvalid) as info:
        client.call(
            R.submissions.create(
                idempotency_key=f"t-{uuid.uuid4()}",
                client_inn=VALID_CLIENT,
                form="STI-077",
                period="2026-03",
                report=good,
                signature=bad_signature,
            )
        )
    assert info.value.reason == "digest_mismatch"
    with pytest.raises(OperatorNotFound):
        client.call(R.submissions.get("sub_nope"))


def test_events_long_poll_and_inbox_ack(client: OperatorClient, sb: Sandbox) -> None:
    batch = client.call(R.events.poll(wait=0, limit=500))
    cursor = batch.next_cursor
    submit(client, sb, f"ev-{uuid.uuid4()}", report_bytes("2026-04"), period="2026-04")
    newer = client.call(R.events.poll(after=cursor, wait=2))
    assert any(e.type == "submission.received" for e in newer.events)
    item = sb.control(
        "POST",
        "inbox",
        {"inn": sb.rep["inn"], "agency": "STS", "kind": "notice", "subject": "s", "body": "b"},
    )
    unacked = list(client.iterate(R.inbox.list(unacknowledged=True)))
    assert item["id"] in {i.id for i in unacked}
    full = client.call(R.inbox.get(item["id"]))
    document = base64.b64decode(full.document)
    ack = client.call(R.inbox.ack(full.id, sign_detached(document, signer_of(sb))))
    assert ack.receipt.kind == "inbox_ack" and ack.item.acknowledged_at is not None
    again = client.call(R.inbox.ack(full.id, sign_detached(document, signer_of(sb))))
    assert again.receipt.id == ack.receipt.id


def test_pki_certificates_revoke_and_renewal(client: OperatorClient, sb: Sandbox) -> None:
    from cryptography import x509

    chain = client.call(R.pki.chain())
    assert chain.certificates[0].role == "operator_ca"
    crl = x509.load_der_x509_crl(client.call(R.pki.crl()))
    assert crl.next_update_utc is not None
    extra = sb.control(
        "POST",
        "certificates",
        {"inn": sb.rep["inn"], "owner_name": "Aida Beishenova", "position": "Chief accountant"},
    )
    serials = {c.serial for c in client.call(R.certificates.list()).items}
    assert extra["serial"] in serials
    revoked = client.call(R.certificates.revoke(extra["serial"], "key_compromise"))
    assert revoked.status == "revoked" and revoked.revocation_reason == "key_compromise"
    with pytest.raises(Conflict):
        client.call(R.certificates.revoke(extra["serial"], "key_compromise"))
    renewal = client.call(R.certificates.renew(sb.rep["serial"]))
    assert renewal.state == "office_visit_required"


def test_account_clients_forms_and_access_calls(client: OperatorClient, sb: Sandbox) -> None:
    assert client.call(R.account.get()).inn == sb.rep["inn"]
    assert client.call(R.account.balance()).currency == "KGS"
    assert client.call(R.account.tariffs()).items
    list(client.iterate(R.account.charges(limit=2)))
    names = [c.inn for c in client.iterate(R.clients.list(limit=2))]
    assert len(names) == len(set(names)) >= 5  # several pages, no duplicates
    replaced = client.call(
        R.clients.replace_poa(
            VALID_CLIENT,
            R.poa_body(
                number="POA-0001",
                issued_on=__import__("datetime").date(2026, 1, 1),
                valid_until=__import__("datetime").date(2030, 1, 1),
            ),
        )
    )
    assert replaced.poa is not None and replaced.poa.number == "POA-0001"
    assert client.call(R.forms.get("SF-001")).form_schema is not None
    request = client.call(
        R.access.request_abroad(
            inn=sb.rep["inn"],
            ip="92.62.72.11",
            country="KZ",
            city="Almaty",
            date_from=__import__("datetime").date(2026, 12, 1),
            date_to=__import__("datetime").date(2026, 12, 5),
            email="office@salyk-kenesh.kg",
        )
    )
    assert request.id in {r.id for r in client.call(R.access.list_abroad()).items}


def test_logout_ends_the_session(sb: Sandbox) -> None:
    with OperatorClient(sb.api, tokens=MemoryTokens()) as c:
        c._engine.tokens.store(sign_in(c, signer_of(sb)))  # type: ignore[union-attr]
        c.call(R.auth.logout())
        with pytest.raises(Unauthorized):
            c.call(R.account.get())


def test_refresh_with_an_unknown_refresh_token_means_login_again(sb: Sandbox) -> None:
    with OperatorClient(sb.api, tokens=MemoryTokens()) as c:
        grant = sign_in(c, signer_of(sb))
    sb.control("POST", "clock/advance", {"seconds": 1000})  # the access token has expired
    tokens = MemoryTokens(grant.access_token, "bogus-refresh-token")
    with OperatorClient(sb.api, tokens=tokens) as c, pytest.raises(SessionExpired) as info:
        c.call(R.account.get())
    assert info.value.hint == "run `sochi login`"


@pytest.fixture(scope="module")
def asgi_sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dict]:  # type: ignore[type-arg]
    import json

    from sochi_cli.sandbox import create_app
    from tests.api.conftest import WEDNESDAY_NOON

    data = tmp_path_factory.mktemp("asgi-sandbox")
    app = create_app(data, seed="demo", bulk_clients=0, now=WEDNESDAY_NOON)
    return app, json.loads((data / "demo" / "demo.json").read_text())


async def test_async_client_over_asgi_refreshes_once_for_concurrent_calls(
    asgi_sandbox: tuple[object, dict],  # type: ignore[type-arg]
) -> None:
    import asyncio

    app, facts = asgi_sandbox
    signer = KeySigner.from_pkcs12(
        Path(facts["representative"]["pkcs12"]), facts["passphrase"].encode()
    )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    tokens = MemoryTokens()
    async with AsyncOperatorClient(
        "http://sandbox/api/v1", transport=transport, tokens=tokens
    ) as client:
        challenge = await client.call(R.auth.challenge())
        from cryptography.hazmat.primitives.serialization import Encoding

        nonce = base64.b64decode(challenge.nonce)
        grant = await client.call(
            R.auth.token(
                challenge.challenge_id,
                signer.certificate.public_bytes(Encoding.DER),
                sign_detached(nonce, signer),
            )
        )
        tokens.store(grant)
        await client.call(R.clients.get(VALID_CLIENT))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
            base_url="http://sandbox",
        ) as control:
            await control.post("/api/v1/sandbox/clock/advance", json={"seconds": 1000})
        results = await asyncio.gather(*(client.call(R.account.get()) for _ in range(5)))
        assert {a.inn for a in results} == {facts["representative"]["inn"]}
        assert tokens.access_token() != grant.access_token
        names = [c.inn async for c in client.iterate(R.clients.list(limit=2))]
        assert VALID_CLIENT in names
