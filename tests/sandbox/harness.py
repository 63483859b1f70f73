"""Test harness for the sandbox: an ASGI client with login/sign/file helpers, problem asserts."""

from __future__ import annotations

import base64
import json
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from sochi_cli.cms import sign_detached
from sochi_cli.sandbox.clock import SandboxClock
from sochi_cli.sandbox.samples import body_values, report_xml
from sochi_cli.sandbox.seed import REPRESENTATIVE_INN
from sochi_cli.token.file import KeySigner

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402

# Monday 2026-11-23 12:00 Bishkek: far from the Friday maintenance window
MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
BULK = 20


class Api:
    """A TestClient on /api/v1 plus helpers to log in, sign and file."""

    def __init__(self, app: Any, clock: SandboxClock) -> None:
        self.app = app
        self.sandbox = app.state.sandbox
        self.clock = clock
        self.http = TestClient(app, base_url="http://sandbox.test/api/v1")
        self.facts: dict[str, Any] = self.http.get("/sandbox/demo").json()
        self.signers: dict[str, KeySigner] = {}

    # -- keys --------------------------------------------------------------------------
    def signer(self, who: str = "representative") -> KeySigner:
        if who not in self.signers:
            path = Path(self.facts[who]["pkcs12"])
            self.signers[who] = KeySigner.from_pkcs12(path, b"sochi-demo")
        return self.signers[who]

    def new_signer(self, inn: str = REPRESENTATIVE_INN, **fields: Any) -> KeySigner:
        body = {"inn": inn, "owner_name": "Test Person", **fields}
        r = self.http.post("/sandbox/certificates", json=body)
        assert r.status_code == 201, r.text
        data = r.json()
        path = self.sandbox.data_dir / f"{data['serial']}.p12"
        path.write_bytes(base64.b64decode(data["pkcs12"]))
        return KeySigner.from_pkcs12(path, data["passphrase"].encode())

    def sign(
        self, data: bytes, who: str | KeySigner = "representative", at: datetime | None = None
    ) -> bytes:
        signer = self.signer(who) if isinstance(who, str) else who
        return sign_detached(data, signer, signing_time=at or self.clock.now())

    # -- auth --------------------------------------------------------------------------
    def token_request(self, who: str | KeySigner = "representative", **headers: str) -> Any:
        signer = self.signer(who) if isinstance(who, str) else who
        challenge = self.http.post("/auth/challenge").json()
        nonce = base64.b64decode(challenge["nonce"])
        return self.http.post(
            "/auth/token",
            json={
                "challenge_id": challenge["challenge_id"],
                "certificate": b64(signer.certificate.public_bytes(serialization.Encoding.DER)),
                "signature": b64(self.sign(nonce, signer)),
            },
            headers=headers,
        )

    def login(self, who: str | KeySigner = "representative") -> dict[str, str]:
        r = self.token_request(who)
        assert r.status_code == 200, r.text
        return {"Authorization": "Bearer " + r.json()["access_token"]}

    # -- filing ------------------------------------------------------------------------
    def report(
        self,
        client_inn: str,
        *,
        form: str = "STI-077",
        period: str = "2026-10",
        values: dict[str, str] | None = None,
        correction: int = 0,
    ) -> bytes:
        import random

        values = values if values is not None else body_values(form, random.Random(client_inn))
        return report_xml(
            form_code=form,
            client_inn=client_inn,
            client_name="Client LLC",
            period=period,
            correction=correction,
            values=values,
        ).encode()

    def submit(
        self,
        headers: dict[str, str],
        client_inn: str,
        *,
        key: str | None = None,
        form: str = "STI-077",
        period: str = "2026-10",
        report: bytes | None = None,
        signature: bytes | None = None,
        who: str | KeySigner = "representative",
        meta: dict[str, Any] | None = None,
        attachments: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    ) -> Any:
        report = report if report is not None else self.report(client_inn, form=form, period=period)
        signature = signature if signature is not None else self.sign(report, who)
        meta = (
            meta
            if meta is not None
            else {"client_inn": client_inn, "form": form, "period": period, "correction": 0}
        )
        files: list[tuple[str, Any]] = [
            ("meta", (None, json.dumps(meta))),
            ("report", ("report.xml", report, "application/xml")),
            ("signature", ("report.xml.p7s", signature, "application/pkcs7-signature")),
        ]
        for index, (data, sig) in enumerate(attachments):
            files.append(("attachment", (f"a{index}.pdf", data, "application/pdf")))
            files.append(
                ("attachment_signature", (f"a{index}.p7s", sig, "application/pkcs7-signature"))
            )
        return self.http.post(
            "/submissions",
            files=files,
            headers={**headers, "Idempotency-Key": key or f"k-{client_inn}-{form}-{period}"},
        )

    def advance(self, seconds: float) -> None:
        r = self.http.post("/sandbox/clock/advance", json={"seconds": seconds})
        assert r.status_code == 200, r.text


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert `response` is a problem+json with `status` and `code`; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"].endswith("/" + code)
    return body
