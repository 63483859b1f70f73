"""`sochi due` for a big firm: 500 clients × 10 000 submissions, the service end to end.

Measures (1) the pure computation (`compute_obligations`) over 500 clients with their
registrations, 6 forms and 10 000 submissions, and (2) `obligations_report` against a real
sandbox (in-process ASGI) seeded with 500 clients and 10 000 submissions: the operator's
listing parsed page by page, the journal read, the whole report.
Usage: python bench/obligations.py [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CLIENTS = 500
SUBMISSIONS = 10_000
_REPORT = '{"filename": "r.xml", "sha256": "00", "size": 1}'


def _synthetic() -> tuple[list, list, list, date]:
    from sochi_cli.api.models import Form, Submission, Taxpayer
    from sochi_cli.sandbox.catalogue import FORMS, form_summary
    from sochi_cli.sandbox.history import bulk_taxpayer, month_back
    from sochi_cli.sandbox.seed import bulk_client_inn
    from sochi_cli.services.obligations import TaxpayerRef

    today = date(2026, 11, 30)
    forms = [Form.model_validate(form_summary(f)) for f in FORMS]
    taxpayers = [
        TaxpayerRef(
            bulk_client_inn(i),
            f"Client {i:05d} LLC",
            Taxpayer.model_validate(bulk_taxpayer(i, bulk_client_inn(i), today)),
        )
        for i in range(CLIENTS)
    ]
    subs = []
    for n in range(SUBMISSIONS):
        i = n % CLIENTS
        subs.append(
            Submission.model_validate(
                {
                    "id": f"sub_{n}",
                    "client_inn": bulk_client_inn(i),
                    "form": ["STI-077", "SF-001", "STI-100"][n // CLIENTS % 3],
                    "period": month_back(today, 1 + n // (CLIENTS * 3)),
                    "status": "accepted" if n % 17 else "rejected",
                    "correction": 0,
                }
            )
        )
    return taxpayers, forms, subs, today


def pure() -> dict[str, float]:
    from sochi_cli.services.obligations import DueQuery, compute_obligations

    taxpayers, forms, subs, today = _synthetic()
    t0 = time.perf_counter()
    report = compute_obligations(taxpayers, forms, subs, [], DueQuery(), today)
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 3), "obligations": len(report.obligations)}


def against_sandbox() -> dict[str, float]:
    import warnings

    warnings.filterwarnings("ignore")
    from fastapi.testclient import TestClient

    from sochi_cli.api.client import MemoryTokens, OperatorClient
    from sochi_cli.sandbox import create_app
    from sochi_cli.sandbox.clock import SandboxClock
    from sochi_cli.sandbox.seed import REPRESENTATIVE_INN, bulk_client_inn
    from sochi_cli.services.obligations import DueQuery, obligations_report

    with tempfile.TemporaryDirectory() as tmp:
        clock = SandboxClock()
        clock.set(datetime(2026, 11, 30, 6, 0, tzinfo=UTC), frozen=True)
        t0 = time.perf_counter()
        app = create_app(Path(tmp) / "sb", seed="demo", clock=clock, bulk_clients=CLIENTS)
        sandbox = app.state.sandbox
        with sandbox.db.tx() as conn:  # 10 000 accepted submissions, inserted directly
            rows = [
                (
                    f"sub_b{n}", REPRESENTATIVE_INN, f"k{n}", "f", bulk_client_inn(n % CLIENTS),
                    ["STI-077", "SF-001", "STI-100"][n // CLIENTS % 3],
                    f"2026-{10 - n // (CLIENTS * 3):02d}", 0, "accepted",
                    "2026-11-01T00:00:00Z", 2000, 0, _REPORT, "[]", "{}", "{}",
                )
                for n in range(SUBMISSIONS)
            ]  # fmt: skip
            conn.executemany(
                "INSERT INTO submissions (id, account_inn, idem_key, fingerprint, client_inn,"
                " form, period, correction, status, received_at, fee, late, report,"
                " attachments, signer, values_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        seeded = time.perf_counter() - t0
        http = TestClient(app, base_url="http://127.0.0.1")
        tokens = MemoryTokens()
        tokens.store(_login(http))  # type: ignore[arg-type]
        client = OperatorClient(
            "http://127.0.0.1/api/v1",
            tokens=tokens,
            transport=http._transport,  # the app in-process, no socket
        )
        t0 = time.perf_counter()
        report = obligations_report(client, "bench", DueQuery())
        seconds = time.perf_counter() - t0
        sandbox.close()
    return {
        "seed_seconds": round(seeded, 2),
        "report_seconds": round(seconds, 3),
        "obligations": len(report.obligations),
    }


def _login(http: object) -> object:
    import base64

    from cryptography.hazmat.primitives import serialization

    from sochi_cli.api.models import TokenGrant
    from sochi_cli.cms import sign_detached
    from sochi_cli.token.file import KeySigner

    demo = json.loads(http.get("/api/v1/sandbox/demo").content)  # type: ignore[attr-defined]
    signer = KeySigner.from_pkcs12(Path(demo["representative"]["pkcs12"]), b"sochi-demo")
    challenge = http.post("/api/v1/auth/challenge").json()  # type: ignore[attr-defined]
    nonce = base64.b64decode(challenge["nonce"])
    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    grant = http.post(  # type: ignore[attr-defined]
        "/api/v1/auth/token",
        json={
            "challenge_id": challenge["challenge_id"],
            "certificate": base64.b64encode(der).decode(),
            "signature": base64.b64encode(sign_detached(nonce, signer)).decode(),
        },
    ).json()
    return TokenGrant.model_validate(grant)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {"pure": pure(), "sandbox": against_sandbox()}
    print(f"{'measure':<44}{'value':>12}")
    print(f"{'compute, 500 clients x 10k submissions (s)':<44}{results['pure']['seconds']:>12}")
    print(f"{'  obligations':<44}{results['pure']['obligations']:>12}")
    print(f"{'report against the sandbox (s)':<44}{results['sandbox']['report_seconds']:>12}")
    print(f"{'  obligations':<44}{results['sandbox']['obligations']:>12}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
