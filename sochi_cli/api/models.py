"""Typed models of the operator API contract (docs/api.md), pydantic v2.

Unknown fields the server adds are ignored (forward compatible); a missing required field
or a wrong type is a `MalformedResponse` naming the endpoint. Imported only by code that
talks to the operator, never at CLI start-up.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ApiModel(BaseModel):
    """Base: ignores unknown fields, JSON-friendly through `to_json()`."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=False)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class Page(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class Items(ApiModel, Generic[T]):
    items: list[T]


# -- status -------------------------------------------------------------------------------
class Window(ApiModel):
    starts_at: datetime
    ends_at: datetime
    kind: str = "announced"
    title: str = ""


class WeeklyWindow(ApiModel):
    weekday: str
    start: str
    end: str
    time_zone: str = "Asia/Bishkek"


class MaintenanceInfo(ApiModel):
    active: bool = False
    current: Window | None = None
    next: Window | None = None
    weekly: WeeklyWindow | None = None
    announced: list[Window] = Field(default_factory=list)


class Notice(ApiModel):
    id: str
    kind: str
    title: str
    body: str = ""
    published_at: datetime | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class Status(ApiModel):
    service: str = ""
    api_version: str = "1"
    sandbox: bool = False
    server_time: datetime
    time_zone: str = "Asia/Bishkek"
    maintenance: MaintenanceInfo = Field(default_factory=MaintenanceInfo)
    notices: list[Notice] = Field(default_factory=list)


# -- auth ---------------------------------------------------------------------------------
class Challenge(ApiModel):
    challenge_id: str
    nonce: str
    expires_at: datetime | None = None


class Person(ApiModel):
    name: str = ""
    position: str = ""


class Subscriber(ApiModel):
    inn: str
    name: str
    kind: str
    registration_state: str = "active"
    certificate_serial: str | None = None
    person: Person | None = None


class TokenGrant(ApiModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int = 900
    subscriber: Subscriber


# -- account ------------------------------------------------------------------------------
class Registration(ApiModel):
    state: str
    requested_at: datetime | None = None
    activated_at: datetime | None = None
    channel: str | None = None


REQUISITE_FIELDS = (
    "legal_name",
    "locality",
    "legal_address",
    "actual_address",
    "head_name",
    "head_position",
    "head_passport_series",
    "head_passport_number",
    "email",
    "phone",
)


class Requisites(ApiModel):
    legal_name: str | None = None
    locality: str | None = None
    legal_address: str | None = None
    actual_address: str | None = None
    head_name: str | None = None
    head_position: str | None = None
    head_passport_series: str | None = None
    head_passport_number: str | None = None
    email: str | None = None
    phone: str | None = None


class Ecloud(ApiModel):
    subscribed: bool = False
    monthly_fee: int = 0


class TaxpayerRegistration(ApiModel):
    kind: str
    since: date
    until: date | None = None


class Taxpayer(ApiModel):
    """The tax register's view of a taxpayer: which forms apply to it, from when."""

    status: str = "active"
    registered_on: date | None = None
    inactive_since: date | None = None
    registrations: list[TaxpayerRegistration] = Field(default_factory=list)


class Account(ApiModel):
    inn: str
    name: str
    kind: str
    registration: Registration
    requisites: Requisites = Field(default_factory=Requisites)
    ecloud: Ecloud = Field(default_factory=Ecloud)
    status: str = "active"
    created_at: datetime | None = None
    taxpayer: Taxpayer | None = None


class Balance(ApiModel):
    balance: int
    currency: str = "KGS"
    status: str = "active"
    as_of: datetime | None = None


class Charge(ApiModel):
    id: str
    at: datetime
    kind: str
    amount: int
    balance_after: int | None = None
    submission_id: str | None = None
    description: str = ""


class Tariff(ApiModel):
    code: str
    title: str = ""
    amount: int
    unit: str = ""


class Tariffs(ApiModel):
    currency: str = "KGS"
    items: list[Tariff]


# -- clients ------------------------------------------------------------------------------
class Poa(ApiModel):
    number: str
    issued_on: date
    valid_until: date
    notarised: bool = False
    scan_sha256: str | None = None
    period_from: str | None = None
    period_to: str | None = None


class Client(ApiModel):
    inn: str
    name: str
    kind: str = "legal"
    status: str = "active"
    added_at: datetime | None = None
    detached_at: datetime | None = None
    detach_reason: str | None = None
    poa: Poa | None = None
    poa_state: str | None = None
    taxpayer: Taxpayer | None = None


# -- forms --------------------------------------------------------------------------------
class Agency(ApiModel):
    code: str
    name: str = ""


class Deadline(ApiModel):
    kind: str
    day: int | None = None
    days: int | None = None
    month: int | None = None
    text: str = ""


class FieldSpec(ApiModel):
    name: str
    title: str = ""
    type: str = "string"
    required: bool = False
    min: str | None = None
    max: str | None = None
    max_length: int | None = None
    pattern: str | None = None
    enum: list[str] | None = None


class TotalRule(ApiModel):
    total: str
    add: list[str] = Field(default_factory=list)
    subtract: list[str] = Field(default_factory=list)
    message: str = ""


class FormSchema(ApiModel):
    fields: list[FieldSpec] = Field(default_factory=list)
    totals: list[TotalRule] = Field(default_factory=list)


class Form(ApiModel):
    code: str
    version: int = 1
    title: str = ""
    agency: Agency
    periodicity: str
    deadline: Deadline | None = None
    fee: int = 0
    filers: list[str] = Field(default_factory=list)
    registration: str | None = None  # the taxpayer registration that obliges this form
    early_filing: bool = False  # may be filed before its period ends
    form_schema: FormSchema | None = Field(default=None, alias="schema")


# -- submissions & receipts -----------------------------------------------------------------
class FileRef(ApiModel):
    filename: str
    sha256: str
    size: int


class SignerInfo(ApiModel):
    certificate_serial: str | None = None
    inn: str | None = None
    name: str | None = None
    signing_time: datetime | None = None


class ProtocolError(ApiModel):
    path: str = ""
    message: str = ""
    line: int | None = None


class Protocol(ApiModel):
    verdict: str
    errors: list[ProtocolError] = Field(default_factory=list)
    receipt_id: str | None = None


class Submission(ApiModel):
    id: str
    idempotency_key: str | None = None
    client_inn: str
    filer_inn: str | None = None
    form: str
    period: str
    correction: int = 0
    status: str
    received_at: datetime | None = None
    delivered_at: datetime | None = None
    decided_at: datetime | None = None
    fee: int = 0
    late: bool = False
    report: FileRef | None = None
    attachments: list[FileRef] = Field(default_factory=list)
    signer: SignerInfo | None = None
    receipt_ids: list[str] = Field(default_factory=list)
    protocol: Protocol | None = None


class Receipt(ApiModel):
    id: str
    kind: str
    submission_id: str | None = None
    inbox_id: str | None = None
    issuer: str = "operator"
    issued_at: datetime | None = None
    document: str  # base64
    document_media_type: str = "application/json"
    signature: str  # base64 DER CMS

    def document_bytes(self) -> bytes:
        import base64

        return base64.b64decode(self.document)

    def signature_bytes(self) -> bytes:
        import base64

        return base64.b64decode(self.signature)


class SubmissionCreated(ApiModel):
    submission: Submission
    receipt: Receipt
    replayed: bool = False  # True when the server answered 200 (same idempotency key)


# -- events & inbox -----------------------------------------------------------------------
class Event(ApiModel):
    id: str
    cursor: str
    type: str
    at: datetime | None = None
    submission_id: str | None = None
    status: str | None = None
    inbox_id: str | None = None


class EventBatch(ApiModel):
    events: list[Event]
    next_cursor: str | None = None


class InboxItem(ApiModel):
    id: str
    agency: Agency
    kind: str
    subject: str = ""
    body: str = ""
    received_at: datetime | None = None
    submission_id: str | None = None
    document: str = ""
    signature: str = ""
    acknowledged_at: datetime | None = None
    ack_receipt_id: str | None = None
    client_inn: str | None = None
    replied_at: datetime | None = None
    reply_receipt_id: str | None = None


class InboxAck(ApiModel):
    item: InboxItem
    receipt: Receipt


# -- PKI & certificates -------------------------------------------------------------------
class ChainCertificate(ApiModel):
    role: str
    subject: str = ""
    serial: str = ""
    certificate: str  # base64 DER


class PkiChain(ApiModel):
    certificates: list[ChainCertificate]


class Certificate(ApiModel):
    serial: str
    subject: str = ""
    inn: str | None = None
    owner_name: str | None = None
    position: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    status: str = "valid"
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    key_kind: str | None = None
    credential_id: str | None = None
    renewal: str | None = None
    certificate: str = ""


class Renewal(ApiModel):
    id: str
    serial: str
    state: str
    certificate: Certificate | None = None
    fee: int = 0


# -- access from abroad -------------------------------------------------------------------
class AbroadRequest(ApiModel):
    id: str
    state: str
    inn: str
    ip: str
    country: str
    city: str
    from_: date = Field(alias="from")
    to: date
    email: str
    created_at: datetime | None = None
    decided_at: datetime | None = None


__all__ = [
    "REQUISITE_FIELDS",
    "AbroadRequest",
    "Account",
    "Agency",
    "ApiModel",
    "Balance",
    "Certificate",
    "ChainCertificate",
    "Challenge",
    "Charge",
    "Client",
    "Deadline",
    "Event",
    "EventBatch",
    "FieldSpec",
    "FileRef",
    "Form",
    "FormSchema",
    "InboxAck",
    "InboxItem",
    "Items",
    "MaintenanceInfo",
    "Notice",
    "Page",
    "PkiChain",
    "Poa",
    "Protocol",
    "Receipt",
    "Renewal",
    "Requisites",
    "Status",
    "Submission",
    "SubmissionCreated",
    "Subscriber",
    "Tariff",
    "Tariffs",
    "Taxpayer",
    "TaxpayerRegistration",
    "TokenGrant",
    "Window",
]
