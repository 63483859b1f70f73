"""Every endpoint of the contract as a `Call` builder, grouped per noun (no I/O here).

client.call(resources.account.get())
for c in client.iterate(resources.clients.list(status="active")): ...
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sochi_cli.api import models as m
from sochi_cli.api.calls import Call, FilePart, model_parser


def _seg(value: str) -> str:
    return quote(value, safe="")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _paged(path: str, model: Any, limit: int | None, **params: str | None) -> Call[Any]:
    query = {k: v for k, v in params.items() if v is not None}
    if limit is not None:
        query["limit"] = str(limit)
    return Call("GET", path, model_parser(m.Page[model]), params=query)


class StatusResource:
    def get(self) -> Call[m.Status]:
        return Call("GET", "status", model_parser(m.Status), auth=False)


class AuthResource:
    def challenge(self) -> Call[m.Challenge]:
        return Call("POST", "auth/challenge", model_parser(m.Challenge), json={}, auth=False)

    def token(
        self, challenge_id: str, certificate_der: bytes, signature_der: bytes
    ) -> Call[m.TokenGrant]:
        body = {
            "challenge_id": challenge_id,
            "certificate": _b64(certificate_der),
            "signature": _b64(signature_der),
        }
        return Call("POST", "auth/token", model_parser(m.TokenGrant), json=body, auth=False)

    def refresh(self, refresh_token: str) -> Call[m.TokenGrant]:
        body = {"refresh_token": refresh_token}
        return Call("POST", "auth/refresh", model_parser(m.TokenGrant), json=body, auth=False)

    def logout(self) -> Call[None]:
        return Call("POST", "auth/logout", lambda _p, _s: None, json={}, body="empty")


class AccountResource:
    def get(self) -> Call[m.Account]:
        return Call("GET", "account", model_parser(m.Account))

    def update(self, requisites: Mapping[str, str]) -> Call[m.Account]:
        body = {"requisites": dict(requisites)}
        return Call("PATCH", "account", model_parser(m.Account), json=body)

    def balance(self) -> Call[m.Balance]:
        return Call("GET", "account/balance", model_parser(m.Balance))

    def charges(self, *, limit: int | None = None) -> Call[m.Page[m.Charge]]:
        return _paged("account/charges", m.Charge, limit)

    def tariffs(self) -> Call[m.Tariffs]:
        return Call("GET", "tariffs", model_parser(m.Tariffs), auth=False)


def poa_body(
    *,
    number: str,
    issued_on: date,
    valid_until: date,
    notarised: bool = False,
    scan_sha256: str | None = None,
    period_from: str | None = None,
    period_to: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": number,
        "issued_on": issued_on.isoformat(),
        "valid_until": valid_until.isoformat(),
        "notarised": notarised,
    }
    optional = {"scan_sha256": scan_sha256, "period_from": period_from, "period_to": period_to}
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


class ClientsResource:
    def list(
        self, *, status: str | None = None, limit: int | None = None
    ) -> Call[m.Page[m.Client]]:
        return _paged("clients", m.Client, limit, status=status)

    def get(self, inn: str) -> Call[m.Client]:
        return Call("GET", f"clients/{_seg(inn)}", model_parser(m.Client))

    def add(self, inn: str, name: str, poa: Mapping[str, Any]) -> Call[m.Client]:
        body = {"inn": inn, "name": name, "poa": dict(poa)}
        return Call("POST", "clients", model_parser(m.Client), json=body)

    def replace_poa(self, inn: str, poa: Mapping[str, Any]) -> Call[m.Client]:
        return Call("PUT", f"clients/{_seg(inn)}/poa", model_parser(m.Client), json=dict(poa))

    def attach(self, inn: str, poa: Mapping[str, Any], name: str | None = None) -> Call[m.Client]:
        body: dict[str, Any] = {"poa": dict(poa)}
        if name:
            body["name"] = name
        return Call("POST", f"clients/{_seg(inn)}/attach", model_parser(m.Client), json=body)

    def detach(self, inn: str, reason: str | None = None) -> Call[m.Client]:
        body = {"reason": reason} if reason else {}
        # Detaching twice returns the same client: safe to retry, so keyed as idempotent.
        return Call(
            "POST",
            f"clients/{_seg(inn)}/detach",
            model_parser(m.Client),
            json=body,
            replay_safe=True,
        )


class FormsResource:
    def list(self) -> Call[m.Items[m.Form]]:
        return Call("GET", "forms", model_parser(m.Items[m.Form]), auth=False)

    def get(self, code: str) -> Call[m.Form]:
        return Call("GET", f"forms/{_seg(code)}", model_parser(m.Form), auth=False)


def _parse_created(payload: Any, status: int) -> m.SubmissionCreated:
    created = m.SubmissionCreated.model_validate(payload)
    created.replayed = status == 200
    return created


class SubmissionsResource:
    def create(
        self,
        *,
        idempotency_key: str,
        client_inn: str,
        form: str,
        period: str,
        report: bytes | Path,
        signature: bytes,
        correction: int = 0,
        report_filename: str | None = None,
        attachments: Sequence[tuple[str, bytes, bytes]] = (),
    ) -> Call[m.SubmissionCreated]:
        """Multipart POST; `attachments` are (filename, content, detached signature DER)."""
        if isinstance(report, Path):
            report_filename = report_filename or report.name
            report = report.read_bytes()
        meta = {"client_inn": client_inn, "form": form, "period": period, "correction": correction}
        files: list[FilePart] = [
            ("meta", ("meta.json", json.dumps(meta).encode(), "application/json")),
            ("report", (report_filename or "report.xml", report, "application/xml")),
            ("signature", ("report.p7s", signature, "application/pkcs7-signature")),
        ]
        for name, content, sig in attachments:
            files.append(("attachment", (name, content, "application/octet-stream")))
            files.append(
                ("attachment_signature", (f"{name}.p7s", sig, "application/pkcs7-signature"))
            )
        return Call(
            "POST", "submissions", _parse_created, files=files, idempotency_key=idempotency_key
        )

    def list(
        self,
        *,
        client: str | None = None,
        form: str | None = None,
        period: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> Call[m.Page[m.Submission]]:
        return _paged(
            "submissions",
            m.Submission,
            limit,
            client=client,
            form=form,
            period=period,
            status=status,
        )

    def get(self, submission_id: str) -> Call[m.Submission]:
        return Call("GET", f"submissions/{_seg(submission_id)}", model_parser(m.Submission))

    def receipts(self, submission_id: str) -> Call[m.Items[m.Receipt]]:
        return Call(
            "GET",
            f"submissions/{_seg(submission_id)}/receipts",
            model_parser(m.Items[m.Receipt]),
        )

    def document(self, submission_id: str, part: str) -> Call[bytes]:
        """The bytes filed: `report`, `signature`, `attachments/N`, `attachments/N/signature`."""
        return Call(
            "GET",
            f"submissions/{_seg(submission_id)}/{part}",
            lambda content, _s: bytes(content),
            body="bytes",
        )


class ReceiptsResource:
    def get(self, receipt_id: str) -> Call[m.Receipt]:
        return Call("GET", f"receipts/{_seg(receipt_id)}", model_parser(m.Receipt))


class EventsResource:
    def poll(
        self, *, after: str | None = None, wait: int = 0, limit: int | None = None
    ) -> Call[m.EventBatch]:
        params = {"wait": str(wait)}
        if after is not None:
            params["after"] = after
        if limit is not None:
            params["limit"] = str(limit)
        return Call("GET", "events", model_parser(m.EventBatch), params=params)


class InboxResource:
    def list(
        self, *, unacknowledged: bool | None = None, limit: int | None = None
    ) -> Call[m.Page[m.InboxItem]]:
        flag = "true" if unacknowledged else None
        return _paged("inbox", m.InboxItem, limit, unacknowledged=flag)

    def get(self, item_id: str) -> Call[m.InboxItem]:
        return Call("GET", f"inbox/{_seg(item_id)}", model_parser(m.InboxItem))

    def ack(self, item_id: str, signature_der: bytes) -> Call[m.InboxAck]:
        # Acknowledging twice returns the first acknowledgement: safe to retry.
        return Call(
            "POST",
            f"inbox/{_seg(item_id)}/ack",
            model_parser(m.InboxAck),
            json={"signature": _b64(signature_der)},
            replay_safe=True,
        )

    def reply(
        self,
        item_id: str,
        *,
        document: bytes,
        filename: str,
        signature: bytes,
        attachments: Sequence[tuple[str, bytes, bytes]] = (),
    ) -> Call[m.InboxAck]:
        """Multipart POST of a signed answer; the same document again returns the first reply."""
        files: list[FilePart] = [
            ("document", (filename, document, "application/octet-stream")),
            ("signature", (f"{filename}.p7s", signature, "application/pkcs7-signature")),
        ]
        for name, content, sig in attachments:
            files.append(("attachment", (name, content, "application/octet-stream")))
            files.append(
                ("attachment_signature", (f"{name}.p7s", sig, "application/pkcs7-signature"))
            )
        return Call(
            "POST",
            f"inbox/{_seg(item_id)}/reply",
            model_parser(m.InboxAck),
            files=files,
            replay_safe=True,
        )


class PkiResource:
    def chain(self) -> Call[m.PkiChain]:
        return Call("GET", "pki/chain", model_parser(m.PkiChain), auth=False)

    def crl(self) -> Call[bytes]:
        return Call("GET", "pki/crl", lambda content, _s: bytes(content), auth=False, body="bytes")


class CertificatesResource:
    def list(self) -> Call[m.Items[m.Certificate]]:
        return Call("GET", "certificates", model_parser(m.Items[m.Certificate]))

    def revoke(self, serial: str, reason: str) -> Call[m.Certificate]:
        return Call(
            "POST",
            f"certificates/{_seg(serial)}/revoke",
            model_parser(m.Certificate),
            json={"reason": reason},
        )

    def renew(self, serial: str, csr_der: bytes | None = None) -> Call[m.Renewal]:
        body: dict[str, Any] = {"serial": serial}
        if csr_der is not None:
            body["csr"] = _b64(csr_der)
        return Call("POST", "certificates/renewal", model_parser(m.Renewal), json=body)


class AccessResource:
    def request_abroad(
        self,
        *,
        inn: str,
        ip: str,
        country: str,
        city: str,
        date_from: date,
        date_to: date,
        email: str,
    ) -> Call[m.AbroadRequest]:
        body = {
            "inn": inn,
            "ip": ip,
            "country": country,
            "city": city,
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "email": email,
        }
        return Call("POST", "access/abroad", model_parser(m.AbroadRequest), json=body, auth=False)

    def list_abroad(self) -> Call[m.Items[m.AbroadRequest]]:
        return Call("GET", "access/abroad", model_parser(m.Items[m.AbroadRequest]))


status = StatusResource()
auth = AuthResource()
account = AccountResource()
clients = ClientsResource()
forms = FormsResource()
submissions = SubmissionsResource()
receipts = ReceiptsResource()
events = EventsResource()
inbox = InboxResource()
pki = PkiResource()
certificates = CertificatesResource()
access = AccessResource()

__all__ = [
    "access",
    "account",
    "auth",
    "certificates",
    "clients",
    "events",
    "forms",
    "inbox",
    "pki",
    "poa_body",
    "receipts",
    "status",
    "submissions",
]
