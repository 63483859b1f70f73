"""Pydantic models of the contract's request and response bodies (published in /openapi.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class Page(Out):
    items: list[dict[str, Any]]
    next_cursor: str | None


# ---- status ----------------------------------------------------------------------------
class WindowOut(Out):
    starts_at: str
    ends_at: str
    kind: str
    title: str


class MaintenanceOut(Out):
    active: bool
    current: WindowOut | None
    next: WindowOut | None
    weekly: dict[str, str]
    announced: list[WindowOut]


class NoticeOut(Out):
    id: str
    kind: str
    title: str
    body: str
    published_at: str
    starts_at: str | None
    ends_at: str | None


class StatusOut(Out):
    service: str
    api_version: str
    sandbox: bool
    server_time: str
    time_zone: str
    maintenance: MaintenanceOut
    notices: list[NoticeOut]


# ---- auth ------------------------------------------------------------------------------
class ChallengeIn(Request):
    pass


class ChallengeOut(Out):
    challenge_id: str
    nonce: str
    expires_at: str


class TokenIn(Request):
    challenge_id: str = Field(max_length=200)
    certificate: str = Field(max_length=100_000)
    signature: str = Field(max_length=200_000)


class RefreshIn(Request):
    refresh_token: str = Field(max_length=500)


class SubscriberOut(Out):
    inn: str
    name: str
    kind: str
    registration_state: str
    certificate_serial: str
    person: dict[str, str]


class TokenOut(Out):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    subscriber: SubscriberOut


# ---- account ---------------------------------------------------------------------------
class Requisites(Request):
    legal_name: str | None = Field(None, min_length=1, max_length=300)
    locality: str | None = Field(None, min_length=1, max_length=200)
    legal_address: str | None = Field(None, min_length=1, max_length=500)
    actual_address: str | None = Field(None, min_length=1, max_length=500)
    head_name: str | None = Field(None, min_length=1, max_length=200)
    head_position: str | None = Field(None, min_length=1, max_length=200)
    head_passport_series: str | None = Field(None, min_length=1, max_length=10)
    head_passport_number: str | None = Field(None, min_length=1, max_length=20)
    email: str | None = Field(None, min_length=3, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(None, min_length=1, max_length=50)


class AccountPatch(Request):
    requisites: Requisites


class AccountOut(Out):
    inn: str
    name: str
    kind: str
    registration: dict[str, str | None]
    requisites: dict[str, str]
    ecloud: dict[str, Any]
    status: str
    created_at: str


class BalanceOut(Out):
    balance: int
    currency: str
    status: str
    as_of: str


class TariffsOut(Out):
    currency: str
    items: list[dict[str, Any]]


# ---- clients ---------------------------------------------------------------------------
class PoaIn(Request):
    number: str = Field(min_length=1, max_length=100)
    issued_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    valid_until: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    notarised: bool = False
    scan_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    period_from: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    period_to: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


class ClientIn(Request):
    inn: str = Field(max_length=100)
    name: str = Field(min_length=1, max_length=300)
    poa: PoaIn


class AttachIn(Request):
    poa: PoaIn
    name: str | None = Field(None, min_length=1, max_length=300)


class DetachIn(Request):
    reason: str | None = Field(None, max_length=500)


class ClientOut(Out):
    inn: str
    name: str
    kind: str
    status: str
    added_at: str
    detached_at: str | None
    detach_reason: str | None
    poa: dict[str, Any] | None
    poa_state: str
    taxpayer: dict[str, Any]


# ---- forms -----------------------------------------------------------------------------
class FormOut(Out):
    code: str
    version: int
    title: str
    agency: dict[str, str]
    periodicity: str
    deadline: dict[str, Any]
    fee: int
    filers: list[str]
    schema_: dict[str, Any] | None = Field(None, alias="schema")


class FormsOut(Out):
    items: list[FormOut]


# ---- submissions -----------------------------------------------------------------------
class ReceiptOut(Out):
    id: str
    kind: str
    submission_id: str | None
    inbox_id: str | None
    issuer: str
    issued_at: str
    document: str
    document_media_type: str
    signature: str


class SubmissionOut(Out):
    id: str
    idempotency_key: str
    client_inn: str
    filer_inn: str
    form: str
    period: str
    correction: int
    status: str
    received_at: str
    delivered_at: str | None
    decided_at: str | None
    fee: int
    late: bool
    report: dict[str, Any]
    attachments: list[dict[str, Any]]
    signer: dict[str, Any]
    receipt_ids: list[str]
    protocol: dict[str, Any] | None


class SubmissionCreated(Out):
    submission: SubmissionOut
    receipt: ReceiptOut


class ReceiptsOut(Out):
    items: list[ReceiptOut]


class EventsOut(Out):
    events: list[dict[str, Any]]
    next_cursor: str | None


class InboxItemOut(Out):
    id: str
    agency: dict[str, str]
    kind: str
    subject: str
    body: str
    received_at: str
    submission_id: str | None
    document: str
    signature: str
    acknowledged_at: str | None
    ack_receipt_id: str | None
    client_inn: str | None = None
    replied_at: str | None = None
    reply_receipt_id: str | None = None


class ReplyCreated(Out):
    item: InboxItemOut
    receipt: ReceiptOut


class AckIn(Request):
    signature: str = Field(max_length=200_000)


class AckOut(Out):
    item: InboxItemOut
    receipt: ReceiptOut


# ---- PKI -------------------------------------------------------------------------------
class ChainOut(Out):
    certificates: list[dict[str, str]]


class CertificateOut(Out):
    serial: str
    subject: str
    inn: str
    owner_name: str
    position: str
    not_before: str
    not_after: str
    status: str
    revoked_at: str | None
    revocation_reason: str | None
    key_kind: str
    credential_id: str | None
    renewal: str
    certificate: str


class CertificatesOut(Out):
    items: list[CertificateOut]


class RevokeIn(Request):
    reason: Literal[
        "key_compromise",
        "affiliation_changed",
        "superseded",
        "cessation_of_operation",
        "unspecified",
    ]


class RenewalIn(Request):
    serial: str = Field(max_length=100)
    csr: str | None = Field(None, max_length=100_000)


class RenewalOut(Out):
    id: str
    serial: str
    state: str
    certificate: CertificateOut | None
    fee: int


class AbroadIn(Request):
    inn: str = Field(max_length=100)
    ip: str = Field(max_length=100)
    country: str = Field(pattern=r"^[A-Za-z]{2}$")
    city: str = Field(min_length=1, max_length=200)
    from_: str = Field(alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$")
    to: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    email: str = Field(min_length=3, max_length=200)


class AbroadOut(Out):
    id: str
    state: str
    inn: str
    ip: str
    country: str
    city: str
    from_: str = Field(alias="from")
    to: str
    email: str
    created_at: str
    decided_at: str | None


class AbroadListOut(Out):
    items: list[AbroadOut]
