"""E-Cloud signing (CSC API v2 shape) against the real sandbox operator app, in process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from sochi_cli.cms import sign_detached_many, verify_detached
from sochi_cli.errors import AuthError
from sochi_cli.sandbox import create_app
from sochi_cli.sandbox.seed import DEMO_CREDENTIAL, DEMO_PIN, SELF_FILER_INN
from sochi_cli.services import certificates as certs
from sochi_cli.services.verify import STANDING, verify_dispute
from sochi_cli.timeutil import to_bishkek, utcnow
from sochi_cli.token.cloud import CloudSigner

API = "http://testserver/api/v1"


def _outside_maintenance():
    """Now, or a little earlier if now is in the Friday 17:30–20:30 (Bishkek) window."""
    moment = utcnow()
    while True:
        local = to_bishkek(moment)
        if local.weekday() == 4 and (17, 30) <= (local.hour, local.minute) < (20, 30):
            moment -= timedelta(hours=1)
            continue
        return moment


@pytest.fixture
def sandbox(tmp_path):
    app = create_app(tmp_path / "sandbox", seed="demo", bulk_clients=0, now=_outside_maintenance())
    with TestClient(app) as client:
        yield client


def _otp(client):
    def read(info):
        messages = client.get(
            f"{API}/sandbox/otp", params={"credential": info.credential_id}
        ).json()["messages"]
        return messages[-1]["otp"]

    return read


def _signer(client, pin=DEMO_PIN, **kw):
    return CloudSigner(
        api_url=API,
        user_id=SELF_FILER_INN,
        pin=lambda _info: pin,
        otp=_otp(client),
        client=client,
        **kw,
    )


def test_cloud_signatures_stand_under_clause_8(sandbox):
    contents = [b"first report", b"second report", b"third report"]
    with _signer(sandbox, chunk_size=2) as signer:
        assert signer.info.credential_id == DEMO_CREDENTIAL
        sigs = sign_detached_many(contents, signer)
    for sig, body in zip(sigs, contents, strict=True):
        verify_detached(sig, body)
    # one authorisation (one one-time code) for the whole batch, signHash in 2 chunks
    outbox = sandbox.get(f"{API}/sandbox/otp", params={"credential": DEMO_CREDENTIAL}).json()
    assert len(outbox["messages"]) == 1
    chain = certs.parse_certificates(sandbox.get(f"{API}/pki/chain").content)
    crl = certs.parse_crl(sandbox.get(f"{API}/pki/crl").content)
    root_crl = certs.parse_crl(sandbox.get(f"{API}/pki/crl", params={"ca": "root"}).content)
    report = verify_dispute(
        contents[0],
        sigs[0],
        trust_roots=[c for c in chain if certs.self_signed(c)],
        crls=[crl, root_crl],
        extra_certificates=chain,
    )
    assert report.verdict == STANDING, report.reason


def test_cloud_wrong_pin_is_not_retried(sandbox):
    with _signer(sandbox, pin="000000") as signer, pytest.raises(AuthError) as err:
        sign_detached_many([b"x"], signer)
    assert err.value.code == "cloud_invalid_pin"
    assert "000000" not in err.value.one_line()
    outbox = sandbox.get(f"{API}/sandbox/otp", params={"credential": DEMO_CREDENTIAL}).json()
    assert len(outbox["messages"]) == 1


def test_cloud_unknown_user_has_no_credential(sandbox):
    signer = CloudSigner(
        api_url=API, user_id="00000000000000", pin=lambda _: "", otp=lambda _: "", client=sandbox
    )
    with pytest.raises(AuthError) as err, signer:
        pass
    assert err.value.code == "cloud_credential_missing"
