"""Seeding: accounts, certificates (with exported demo key files), clients, notices, inbox."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from sochi_cli.sandbox.pki import AGENCIES, new_ec_key, new_rsa_key, serial_hex
from sochi_cli.sandbox.state import month_of
from sochi_cli.sandbox.util import iso_now, new_id
from sochi_cli.store.files import atomic_write_bytes, atomic_write_text, make_private_dirs

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

    from sochi_cli.sandbox.state import Sandbox
    from sochi_cli.token.file import KeySigner

DEMO_PASSPHRASE = "sochi-demo"  # noqa: S105 - documented; not a word sochi prints (it is redacted)
DEMO_PIN = "271828"
DEMO_CREDENTIAL = "ecl-alatoo-1"
REPRESENTATIVE_INN = "00203202010077"
SELF_FILER_INN = "00105201510033"
PENDING_INN = "21503198800123"
DEFAULT_BULK_CLIENTS = 12  # enough for the demo; benchmarks ask for more with --bulk-clients

_REQUISITES = {
    "legal_name": "",
    "locality": "Bishkek",
    "legal_address": "",
    "actual_address": "",
    "head_name": "",
    "head_position": "",
    "head_passport_series": "ID",
    "head_passport_number": "",
    "email": "",
    "phone": "",
}

# (inn, name, poa kind) — poa kind: valid | expired | natural | detached
NAMED_CLIENTS: list[tuple[str, str, str]] = [
    ("02010201910123", "Ak-Suu Trade LLC", "valid"),
    ("01503201810045", "Bishkek Bakery LLC", "valid"),
    ("00712201610078", "Issyk-Kul Tour LLC", "valid"),
    ("02201202010011", "Naryn Agro LLC", "expired"),
    ("01108201710099", "Osh Textile LLC", "detached"),
    ("12505199000042", "Gulnara Toktogulova", "natural"),
    ("22011198500017", "Ermek Sadykov", "natural"),
]


def bulk_client_inn(index: int) -> str:
    """INN of generated client `index` (0-based): legal entities registered 01.01.2020."""
    return f"001012020{index:05d}"


def bulk_client_name(index: int) -> str:
    return f"Client {index:05d} LLC"


def hash_pin(pin: str) -> str:
    return hashlib.sha256(("sochi-sandbox:" + pin).encode()).hexdigest()


def add_account(
    sandbox: Sandbox,
    conn: sqlite3.Connection,
    *,
    inn: str,
    name: str,
    kind: str,
    head: str,
    position: str,
    email: str,
    balance: int,
    state: str = "active",
    ecloud: bool = False,
    channel: str = "office",
) -> None:
    now = sandbox.now()
    requisites = {
        **_REQUISITES,
        "legal_name": name,
        "legal_address": "Bishkek, Chuy Ave 100",
        "actual_address": "Bishkek, Chuy Ave 100",
        "head_name": head,
        "head_position": position,
        "head_passport_number": "1234567",
        "email": email,
        "phone": "+996 312 000000",
    }
    conn.execute(
        "INSERT INTO accounts (inn, name, kind, reg_state, reg_channel, requested_at, activated_at,"
        " requisites, ecloud_subscribed, monthly_fee, balance, created_at, billed_month)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            inn,
            name,
            kind,
            state,
            channel,
            iso_now(now if state == "pending" else now - timedelta(days=30)),
            iso_now(now - timedelta(days=29)) if state == "active" else None,
            json.dumps(requisites),
            int(ecloud),
            50000 if ecloud else 0,
            0,
            iso_now(now),
            _prev_month(month_of(now)),
        ),
    )
    if balance:
        sandbox.charge(conn, inn, "topup", balance, "opening balance")


def _prev_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def issue_certificate(
    sandbox: Sandbox,
    conn: sqlite3.Connection,
    key: PrivateKeyTypes,
    *,
    inn: str,
    owner_name: str,
    position: str,
    org_name: str,
    key_kind: str,
    credential_id: str | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    digital_signature: bool = True,
    non_repudiation: bool = True,
) -> x509.Certificate:
    now = sandbox.now()
    not_before = not_before or now - timedelta(days=30)
    not_after = not_after or not_before + timedelta(days=365)
    cert = sandbox.pki.issue(
        key.public_key(),  # type: ignore[arg-type]
        inn=inn,
        owner_name=owner_name,
        position=position,
        org_name=org_name,
        not_before=not_before,
        not_after=not_after,
        digital_signature=digital_signature,
        non_repudiation=non_repudiation,
    )
    conn.execute(
        "INSERT INTO certificates (serial, inn, owner_name, position, org_name, not_before,"
        " not_after, der, key_kind, credential_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            serial_hex(cert),
            inn,
            owner_name,
            position,
            org_name,
            iso_now(cert.not_valid_before_utc),
            iso_now(cert.not_valid_after_utc),
            cert.public_bytes(serialization.Encoding.DER),
            key_kind,
            credential_id,
        ),
    )
    return cert


def pkcs12_bytes(
    sandbox: Sandbox, key: PrivateKeyTypes, cert: x509.Certificate, passphrase: str
) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        cert.subject.rfc4514_string().encode()[:64],
        key,  # type: ignore[arg-type]
        cert,
        sandbox.pki.chain(),
        serialization.BestAvailableEncryption(passphrase.encode()),
    )


def _export(
    sandbox: Sandbox, stem: str, key: PrivateKeyTypes, cert: x509.Certificate
) -> dict[str, str]:
    demo = sandbox.data_dir / "demo"
    make_private_dirs(demo)
    p12 = demo / f"{stem}.p12"
    atomic_write_bytes(p12, pkcs12_bytes(sandbox, key, cert, DEMO_PASSPHRASE), mode=0o600)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    atomic_write_bytes(demo / f"{stem}-key.pem", key_pem, mode=0o600)
    chain_pem = b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in [cert, *sandbox.pki.chain()]
    )
    atomic_write_bytes(demo / f"{stem}-cert.pem", chain_pem)
    atomic_write_bytes(demo / f"{stem}-cert.der", cert.public_bytes(serialization.Encoding.DER))
    return {
        "pkcs12": str(p12),
        "key_pem": str(demo / f"{stem}-key.pem"),
        "cert_pem": str(demo / f"{stem}-cert.pem"),
        "cert_der": str(demo / f"{stem}-cert.der"),
    }


def _poa(kind: str, today: Any, number: int) -> dict[str, Any]:
    if kind == "expired":
        issued, until = today - timedelta(days=500), today - timedelta(days=30)
    else:
        issued, until = today - timedelta(days=200), today + timedelta(days=365)
    return {
        "number": f"POA-{number:04d}",
        "issued_on": issued.isoformat(),
        "valid_until": until.isoformat(),
        "notarised": kind == "natural",
        "scan_sha256": hashlib.sha256(f"poa scan {number}".encode()).hexdigest(),
        "period_from": None,
        "period_to": None,
    }


def seed_demo(
    sandbox: Sandbox, *, bulk_clients: int = DEFAULT_BULK_CLIENTS, history: bool = False
) -> dict[str, Any]:
    """Write the demo data set (see docs/api.md "Demo seed"); returns the demo facts.

    `history` adds the filing history of sandbox/history.py (what `sochi due` shows).
    """
    from sochi_cli.sandbox.history import bulk_taxpayer, named_taxpayer, seeded_filings
    from sochi_cli.sandbox.taxpayers import save_taxpayer

    rep_key, self_key, pending_key = new_rsa_key(), new_rsa_key(), new_rsa_key()
    cloud_key = new_ec_key()
    today = sandbox.today()
    now = sandbox.now()
    with sandbox.db.tx() as conn:
        add_account(
            sandbox,
            conn,
            inn=REPRESENTATIVE_INN,
            name="Salyk Kenesh LLC",
            kind="tax_representative",
            head="Aida Beishenova",
            position="Chief accountant",
            email="office@salyk-kenesh.kg",
            balance=5_000_000,
        )
        add_account(
            sandbox,
            conn,
            inn=SELF_FILER_INN,
            name="Ala-Too Soft LLC",
            kind="self_filer",
            head="Nurlan Abdyldaev",
            position="Director",
            email="info@alatoo-soft.kg",
            balance=300_000,
            ecloud=True,
        )
        add_account(
            sandbox,
            conn,
            inn=PENDING_INN,
            name="Bakyt Asanov",
            kind="self_filer",
            head="Bakyt Asanov",
            position="Sole trader",
            email="bakyt.asanov@mail.kg",
            balance=50_000,
            state="pending",
            channel="remote",
        )
        rep_cert = issue_certificate(
            sandbox,
            conn,
            rep_key,
            inn=REPRESENTATIVE_INN,
            owner_name="Aida Beishenova",
            position="Chief accountant",
            org_name="Salyk Kenesh LLC",
            key_kind="file",
        )
        self_cert = issue_certificate(
            sandbox,
            conn,
            self_key,
            inn=SELF_FILER_INN,
            owner_name="Nurlan Abdyldaev",
            position="Director",
            org_name="Ala-Too Soft LLC",
            key_kind="file",
        )
        cloud_cert = issue_certificate(
            sandbox,
            conn,
            cloud_key,
            inn=SELF_FILER_INN,
            owner_name="Nurlan Abdyldaev",
            position="Director",
            org_name="Ala-Too Soft LLC",
            key_kind="cloud",
            credential_id=DEMO_CREDENTIAL,
        )
        pending_cert = issue_certificate(
            sandbox,
            conn,
            pending_key,
            inn=PENDING_INN,
            owner_name="Bakyt Asanov",
            position="Sole trader",
            org_name="Bakyt Asanov",
            key_kind="file",
        )
        conn.execute(
            "INSERT INTO credentials (id, inn, serial, key_pem, pin_hash) VALUES (?,?,?,?,?)",
            (
                DEMO_CREDENTIAL,
                SELF_FILER_INN,
                serial_hex(cloud_cert),
                cloud_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
                hash_pin(DEMO_PIN),
            ),
        )
        seq = 0
        for number, (inn, name, kind) in enumerate(NAMED_CLIENTS, start=1):
            seq += 1
            detached = kind == "detached"
            conn.execute(
                "INSERT INTO clients (rep_inn, inn, seq, name, kind, status, added_at,"
                " detached_at, detach_reason, poa) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    REPRESENTATIVE_INN,
                    inn,
                    seq,
                    name,
                    "natural" if inn[0] in "12" else "legal",
                    "detached" if detached else "active",
                    iso_now(now - timedelta(days=200)),
                    iso_now(now - timedelta(days=10)) if detached else None,
                    "contract ended" if detached else None,
                    json.dumps(_poa(kind, today, number)),
                ),
            )
        for index in range(bulk_clients):
            seq += 1
            conn.execute(
                "INSERT INTO clients (rep_inn, inn, seq, name, kind, status, added_at, poa)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (
                    REPRESENTATIVE_INN,
                    bulk_client_inn(index),
                    seq,
                    bulk_client_name(index),
                    "legal",
                    "active",
                    iso_now(now - timedelta(days=100)),
                    json.dumps(_poa("valid", today, 100 + index)),
                ),
            )
        for inn in [c[0] for c in NAMED_CLIENTS] + [
            REPRESENTATIVE_INN,
            SELF_FILER_INN,
            PENDING_INN,
        ]:
            save_taxpayer(conn, inn, named_taxpayer(inn, today))
        for index in range(bulk_clients):
            save_taxpayer(
                conn, bulk_client_inn(index), bulk_taxpayer(index, bulk_client_inn(index), today)
            )
        filed: dict[tuple[str, str, str], str] = {}
        if history:
            names = {inn: name for inn, name, _kind in NAMED_CLIENTS}
            names.update((bulk_client_inn(i), bulk_client_name(i)) for i in range(bulk_clients))
            names[REPRESENTATIVE_INN] = "Salyk Kenesh LLC"
            signers = _history_signers(sandbox, rep_key, rep_cert)
            for filing in seeded_filings(today, bulk_clients):
                key = (filing.client_inn, filing.form, filing.period)
                filed[key] = _seed_filing(
                    sandbox, conn, filing, signers, names[filing.client_inn], today
                )
            _ledger_in_time_order(conn, REPRESENTATIVE_INN)
        conn.execute(
            "INSERT INTO notices (id, kind, title, body, published_at) VALUES (?,?,?,?,?)",
            (
                new_id("ntc"),
                "info",
                "Welcome to the СОчИ sandbox",
                "This is a sandbox operator: nothing filed here reaches a state body.",
                iso_now(now),
            ),
        )
        asked = bulk_client_inn(12) if bulk_clients > 12 else NAMED_CLIENTS[0][0]
        asked_period = _month_back(today, 2)
        sandbox.add_inbox_item(
            conn,
            inn=REPRESENTATIVE_INN,
            agency="STS",
            kind="request",
            subject=f"Request for explanations on STI-077 {asked_period} of {asked}",
            body=f"Please confirm the VAT credit declared by {asked} for {asked_period} "
            "and send the invoices it rests on.",
            client_inn=asked,
            submission_id=filed.get((asked, "STI-077", asked_period)),
        )
        sandbox.add_inbox_item(
            conn,
            inn=SELF_FILER_INN,
            agency="SF",
            kind="notice",
            subject="New contribution rates",
            body="Contribution rates change from next month.",
        )
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seed', 'demo')")
    facts = {
        "passphrase": DEMO_PASSPHRASE,
        "representative": {
            "inn": REPRESENTATIVE_INN,
            "name": "Salyk Kenesh LLC",
            "person": "Aida Beishenova",
            "serial": serial_hex(rep_cert),
            **_export(sandbox, "representative", rep_key, rep_cert),
        },
        "self_filer": {
            "inn": SELF_FILER_INN,
            "name": "Ala-Too Soft LLC",
            "serial": serial_hex(self_cert),
            **_export(sandbox, "self-filer", self_key, self_cert),
            "credential_id": DEMO_CREDENTIAL,
            "pin": DEMO_PIN,
            "cloud_serial": serial_hex(cloud_cert),
        },
        "pending": {
            "inn": PENDING_INN,
            "name": "Bakyt Asanov",
            "serial": serial_hex(pending_cert),
            **_export(sandbox, "pending", pending_key, pending_cert),
        },
        "seeded_on": today.isoformat(),
        "history": history,
        "clients": {
            "valid": [c[0] for c in NAMED_CLIENTS if c[2] == "valid"],
            "expired_poa": [c[0] for c in NAMED_CLIENTS if c[2] == "expired"],
            "detached": [c[0] for c in NAMED_CLIENTS if c[2] == "detached"],
            "natural": [c[0] for c in NAMED_CLIENTS if c[2] == "natural"],
            "bulk": {
                "count": bulk_clients,
                "first": bulk_client_inn(0) if bulk_clients else None,
                "inn_pattern": "001012020NNNNN",
            },
        },
    }
    _write_readme(sandbox.data_dir / "demo", facts)
    return facts


def _month_back(today: Any, months: int) -> str:
    from sochi_cli.sandbox.history import month_back

    return month_back(today, months)


def _history_signers(
    sandbox: Sandbox, key: PrivateKeyTypes, cert: x509.Certificate
) -> list[KeySigner]:
    """The representative's signers for its past filings: the current certificate, and the
    one before it (same key, valid the year up to the current one) for older filings — a
    signature is checked against the certificate valid at its signing time."""
    from sochi_cli.token.file import KeySigner

    previous = sandbox.pki.issue(
        key.public_key(),  # type: ignore[arg-type]
        inn=REPRESENTATIVE_INN,
        owner_name="Aida Beishenova",
        position="Chief accountant",
        org_name="Salyk Kenesh LLC",
        not_before=cert.not_valid_before_utc - timedelta(days=365),
        not_after=cert.not_valid_before_utc + timedelta(days=1),
    )
    chain = sandbox.pki.chain()
    return [KeySigner(key, cert, chain), KeySigner(key, previous, chain)]


def _seed_filing(
    sandbox: Sandbox,
    conn: sqlite3.Connection,
    filing: Any,
    signers: list[KeySigner],
    client_name: str,
    today: Any,
) -> str:
    """One past submission as it was filed: the report and the representative's signature
    (kept, so `GET /submissions/{id}/report|signature` and `sochi archive reconcile` have
    them), its delivery receipt, the agency's protocol and the fee."""
    from sochi_cli.cms.build import sign_detached
    from sochi_cli.sandbox.catalogue import FORMS_BY_CODE
    from sochi_cli.sandbox.history import filed_at
    from sochi_cli.sandbox.samples import report_xml
    from sochi_cli.timeutil import BISHKEK

    form = FORMS_BY_CODE[filing.form]
    day = filed_at(filing.form, filing.period, filing.late, today)
    received = datetime(day.year, day.month, day.day, 11, 0, tzinfo=BISHKEK)
    received = min(received, sandbox.now() - timedelta(minutes=5))
    decided = received + timedelta(hours=2)
    report = report_xml(
        form_code=filing.form,
        client_inn=filing.client_inn,
        client_name=client_name,
        period=filing.period,
        correction=0,
        values=filing.values,
        filer_inn=REPRESENTATIVE_INN,
        composed_on=day,
    ).encode()
    signed_at = received - timedelta(minutes=2)
    signer = next(s for s in signers if s.certificate.not_valid_before_utc <= signed_at)
    signature = sign_detached(report, signer, signing_time=signed_at)
    cert = signer.certificate
    sub_id = new_id("sub")
    sha = hashlib.sha256(report).hexdigest()
    filename = f"{filing.form}_{filing.client_inn}_{filing.period}_0.xml"
    conn.executemany(
        "INSERT INTO documents (submission_id, part, filename, sha256, data) VALUES (?,?,?,?,?)",
        [
            (sub_id, "report", filename, sha, report),
            (
                sub_id,
                "signature",
                filename + ".p7s",
                hashlib.sha256(signature).hexdigest(),
                signature,
            ),
        ],
    )
    signer_json = {
        "certificate_serial": serial_hex(cert),
        "inn": REPRESENTATIVE_INN,
        "name": cert.subject.rfc4514_string(),
        "signing_time": iso_now(signed_at),
    }
    protocol = None
    if filing.status != "delivered":
        from sochi_cli.sandbox.reports import totals_errors

        errors = totals_errors(form, filing.values)
        agency = form["agency"]
        receipt_id = sandbox.issue_receipt(
            conn,
            kind="protocol",
            issuer=agency,
            inn=REPRESENTATIVE_INN,
            submission_id=sub_id,
            document={
                "type": "agency_protocol",
                "submission_id": sub_id,
                "verdict": filing.status,
                "errors": errors,
                "decided_at": iso_now(decided),
                "agency": {"code": agency, "name": AGENCIES[agency]},
                "client_inn": filing.client_inn,
                "form": filing.form,
                "period": filing.period,
            },
        )
        protocol = {"verdict": filing.status, "errors": errors, "receipt_id": receipt_id}
    conn.execute(
        "INSERT INTO submissions (id, account_inn, idem_key, fingerprint, client_inn, form,"
        " period, correction, status, received_at, delivered_at, decided_at, due_ts, fee, late,"
        " report, attachments, signer, values_json, protocol)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            sub_id,
            REPRESENTATIVE_INN,
            f"seed-{sub_id}",
            sha,
            filing.client_inn,
            filing.form,
            filing.period,
            0,
            filing.status,
            iso_now(received),
            iso_now(received + timedelta(minutes=1)),
            None if protocol is None else iso_now(decided),
            None,
            form["fee"],
            int(filing.late),
            json.dumps({"filename": filename, "sha256": sha, "size": len(report)}),
            "[]",
            json.dumps(signer_json),
            json.dumps(filing.values),
            None if protocol is None else json.dumps(protocol),
        ),
    )
    receipt = {
        "type": "delivery_receipt",
        "submission_id": sub_id,
        "filer_inn": REPRESENTATIVE_INN,
        "client_inn": filing.client_inn,
        "form": filing.form,
        "period": filing.period,
        "correction": 0,
        "report_sha256": sha,
        "signature_sha256": hashlib.sha256(signature).hexdigest(),
        "received_at": iso_now(received),
        "operator": sandbox.operator_identity(),
    }
    sandbox.issue_receipt(
        conn,
        kind="delivery",
        issuer="operator",
        inn=REPRESENTATIVE_INN,
        submission_id=sub_id,
        document=receipt,
    )
    balance = (
        int(
            conn.execute(
                "SELECT balance FROM accounts WHERE inn=?", (REPRESENTATIVE_INN,)
            ).fetchone()[0]
        )
        - form["fee"]
    )
    conn.execute("UPDATE accounts SET balance=? WHERE inn=?", (balance, REPRESENTATIVE_INN))
    conn.execute(
        "INSERT INTO charges (id, account_inn, at, kind, amount, balance_after, submission_id,"
        " description) VALUES (?,?,?,?,?,?,?,?)",
        (
            new_id("chg"),
            REPRESENTATIVE_INN,
            iso_now(received),
            "submission_fee",
            -form["fee"],
            balance,
            sub_id,
            f"{filing.form} {filing.period} for {filing.client_inn}",
        ),
    )
    return sub_id


def _ledger_in_time_order(conn: sqlite3.Connection, inn: str) -> None:
    """The history's fees are seeded client by client; a ledger reads in time. Rewrite the
    account's charges oldest first, the opening top-up a day before the first fee, each
    `balance_after` the running balance again (the feed is in `seq` order: `sochi account
    charges` and the dashboard's balance chart read it so)."""
    rows = conn.execute(
        "SELECT id, at, kind, amount, submission_id, description FROM charges"
        " WHERE account_inn=? ORDER BY seq",
        (inn,),
    ).fetchall()
    fees = sorted((r for r in rows if r[2] != "topup"), key=lambda r: r[1])
    if not fees:
        return
    first = datetime.fromisoformat(fees[0][1].replace("Z", "+00:00"))
    topups = [(r[0], iso_now(first - timedelta(days=1)), *r[2:]) for r in rows if r[2] == "topup"]
    conn.execute("DELETE FROM charges WHERE account_inn=?", (inn,))
    balance = 0
    for charge_id, at, kind, amount, submission_id, description in [*topups, *fees]:
        balance += int(amount)
        conn.execute(
            "INSERT INTO charges (id, account_inn, at, kind, amount, balance_after,"
            " submission_id, description) VALUES (?,?,?,?,?,?,?,?)",
            (charge_id, inn, at, kind, amount, balance, submission_id, description),
        )


def _write_readme(demo: Path, facts: dict[str, Any]) -> None:
    atomic_write_text(demo / "demo.json", json.dumps(facts, indent=2) + "\n")
    rep = facts["representative"]
    text = f"""СОчИ sandbox — demo data (nothing here is real)

Tax representative: {rep["name"]} (INN {rep["inn"]}), signer {rep["person"]}
  PKCS#12 for the file signer: {rep["pkcs12"]}  (passphrase: {facts["passphrase"]})
  sochi config set key_file {rep["pkcs12"]} --profile sandbox
  Load into a SoftHSM token (no script needed):
    softhsm2-util --init-token --free --label sochi --so-pin 0000 --pin 1234
    SOCHI_PIN=1234 SOCHI_KEY_PASSPHRASE={facts["passphrase"]} sochi token import \\
      --p12 {rep["pkcs12"]} --token-label sochi --id 01 --label demo \\
      --pkcs11-lib /usr/lib/softhsm/libsofthsm2.so
Self-filer: {facts["self_filer"]["name"]} (INN {facts["self_filer"]["inn"]})
  PKCS#12: {facts["self_filer"]["pkcs12"]}
  E-Cloud credential {facts["self_filer"]["credential_id"]}, PIN {facts["self_filer"]["pin"]}
  (the one-time code arrives in GET /api/v1/sandbox/otp?credential=...)
Pending registration: {facts["pending"]["name"]} (INN {facts["pending"]["inn"]})
Clients of the representative: see GET /api/v1/clients; generated clients have INNs
  001012020NNNNN (NNNNN = 00000 … {facts["clients"]["bulk"]["count"] - 1:05d}).
"""
    atomic_write_text(demo / "README.txt", text)


def demo_facts(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / "demo" / "demo.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


__all__ = [
    "DEFAULT_BULK_CLIENTS",
    "DEMO_CREDENTIAL",
    "DEMO_PASSPHRASE",
    "DEMO_PIN",
    "PENDING_INN",
    "REPRESENTATIVE_INN",
    "SELF_FILER_INN",
    "add_account",
    "bulk_client_inn",
    "bulk_client_name",
    "demo_facts",
    "hash_pin",
    "issue_certificate",
    "pkcs12_bytes",
    "seed_demo",
]
