"""Documents from agencies (`/inbox`): list, read with the agency's signature checked, and
acknowledge with the subscriber's signed receipt (contract: CMS over the document bytes)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import SignatureError, UsageError
from sochi_cli.services.receipts import SignatureCheck, check_receipt, check_signature

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import InboxItem, Receipt
    from sochi_cli.services.signing import TrustMaterial
    from sochi_cli.token.base import Signer


def _check_id(item_id: str) -> str:
    value = item_id.strip()
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,128}", value):
        raise UsageError(f"'{item_id}' is not an inbox item id", hint="ids look like inb_…")
    return value


def list_items(client: OperatorClient, *, unread: bool = False) -> list[InboxItem]:
    from sochi_cli.api import resources

    return list(client.iterate(resources.inbox.list(unacknowledged=unread or None, limit=200)))


def document_bytes(item: InboxItem) -> bytes:
    try:
        return base64.b64decode(item.document, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(
            f"inbox item {item.id}: the document is not base64", code="malformed_document"
        ) from None


@dataclass(frozen=True)
class ShownItem:
    item: InboxItem
    document: bytes
    signature: SignatureCheck | None  # the agency's signature over the document

    def to_json(self) -> dict[str, Any]:
        data = self.item.to_json()
        data.pop("document", None)
        data.pop("signature", None)
        data["document_text"] = self.document.decode("utf-8", "replace")
        data["agency_signature"] = self.signature.to_json() if self.signature else None
        return data


def show_item(client: OperatorClient, item_id: str, trust: TrustMaterial | None) -> ShownItem:
    from sochi_cli.api import resources

    item = client.call(resources.inbox.get(_check_id(item_id)))
    document = document_bytes(item)
    check = None
    if item.signature:
        check = check_signature(base64.b64decode(item.signature), document, trust)
    return ShownItem(item, document, check)


@dataclass(frozen=True)
class AckResult:
    item: InboxItem
    receipt: Receipt
    receipt_signature: SignatureCheck
    already: bool  # acknowledged before: nothing was signed this time
    archived: int = 0  # objects added to the local archive (clause 16)

    def to_json(self) -> dict[str, Any]:
        return {
            "inbox_id": self.item.id,
            "acknowledged_at": self.item.to_json()["acknowledged_at"],
            "already_acknowledged": self.already,
            "receipt_id": self.receipt.id,
            "receipt_kind": self.receipt.kind,
            "receipt_signature": self.receipt_signature.to_json(),
            "archived": self.archived,
        }


def acknowledge(
    client: OperatorClient,
    item_id: str,
    signer: Signer,
    *,
    trust: TrustMaterial,
    on_warning: Callable[[str], None] | None = None,
    keep_in: str | None = None,
) -> AckResult:
    """Sign the item's document (clause-1.5 gate first) and send the acknowledgement.

    An item acknowledged before is answered from the operator without signing again. With
    `keep_in` (a profile), the document, our signature and the operator's receipt go into
    that profile's archive and the audit log (clause 16: the subscriber keeps its own copy).
    """
    from sochi_cli.api import resources
    from sochi_cli.services.signing import sign_with_gate

    item = client.call(resources.inbox.get(_check_id(item_id)))
    if item.ack_receipt_id:
        receipt = client.call(resources.receipts.get(item.ack_receipt_id))
        return AckResult(item, receipt, check_receipt(receipt, trust), already=True)
    document = document_bytes(item)
    _journal_sound(keep_in)
    signatures, _gate = sign_with_gate([document], signer, trust=trust, on_warning=on_warning)
    answer = client.call(resources.inbox.ack(item.id, signatures[0]))
    check = check_receipt(answer.receipt, trust)
    if not check.verified:
        raise SignatureError(
            f"the operator's acknowledgement receipt {answer.receipt.id} does not verify: "
            f"{check.problem}",
            code="receipt_signature_invalid",
        )
    archived = (
        _keep_copy(keep_in, answer.item, document, signatures[0], answer.receipt, signer)
        if keep_in
        else 0
    )
    return AckResult(answer.item, answer.receipt, check, already=False, archived=archived)


def _keep_copy(
    profile: str,
    item: InboxItem,
    document: bytes,
    signature: bytes,
    receipt: Receipt,
    signer: Signer,
) -> int:
    """Archive the acknowledged document, our signature and the receipt; audit the ack."""
    name = f"inbox-{item.id}"
    objects = [(document, "inbox_document", name), (signature, "ack_signature", f"{name}.p7s")]
    return _keep(profile, item, receipt, objects, signer, "inbox.ack")


@dataclass(frozen=True)
class ReplyResult:
    item: InboxItem
    receipt: Receipt
    receipt_signature: SignatureCheck
    archived: int

    def to_json(self) -> dict[str, Any]:
        return {
            "inbox_id": self.item.id,
            "client_inn": self.item.client_inn,
            "submission_id": self.item.submission_id,
            "replied_at": self.item.to_json()["replied_at"],
            "receipt_id": self.receipt.id,
            "receipt_kind": self.receipt.kind,
            "receipt_signature": self.receipt_signature.to_json(),
            "archived": self.archived,
        }


def reply(
    client: OperatorClient,
    item_id: str,
    document: Path,
    signer: Signer,
    *,
    trust: TrustMaterial,
    attachments: Sequence[Path] = (),
    on_warning: Callable[[str], None] | None = None,
    keep_in: str | None = None,
) -> ReplyResult:
    """Answer an agency's request: sign the answer (and attachments) after the clause-1.5
    gate, send it, verify the operator's receipt, keep everything in the archive and audit.

    The same answer again returns the first reply's receipt (the operator de-duplicates by
    the document's digest); a different one is refused (`already_replied`).
    """
    from sochi_cli.api import resources
    from sochi_cli.services.signing import sign_with_gate

    item = client.call(resources.inbox.get(_check_id(item_id)))
    if item.kind != "request":
        raise UsageError(
            f"{item.id} is a notice, not a request: there is nothing to answer",
            hint=f"acknowledge it with `sochi inbox ack {item.id}`",
        )
    from sochi_cli.store.files import read_input

    contents = [(document, read_input(document, "answer"))]
    contents += [(path, read_input(path, "attachment")) for path in attachments]
    if not contents[0][1]:
        raise UsageError(f"{document}: the answer is empty")
    _journal_sound(keep_in)
    signatures, _gate = sign_with_gate(
        [data for _path, data in contents], signer, trust=trust, on_warning=on_warning
    )
    answer = client.call(
        resources.inbox.reply(
            item.id,
            document=contents[0][1],
            filename=document.name,
            signature=signatures[0],
            attachments=[
                (path.name, data, sig)
                for (path, data), sig in zip(contents[1:], signatures[1:], strict=True)
            ],
        )
    )
    check = check_receipt(answer.receipt, trust)
    if not check.verified:
        raise SignatureError(
            f"the operator's reply receipt {answer.receipt.id} does not verify: {check.problem}",
            code="receipt_signature_invalid",
        )
    archived = 0
    if keep_in:
        objects = [
            (data, kind, path.name)
            for (path, data), kind in zip(
                contents, ["reply_document"] + ["reply_attachment"] * len(attachments), strict=True
            )
        ]
        objects += [
            (sig, "reply_signature", f"{path.name}.p7s")
            for (path, _data), sig in zip(contents, signatures, strict=True)
        ]
        archived = _keep(keep_in, answer.item, answer.receipt, objects, signer, "inbox.reply")
    return ReplyResult(answer.item, answer.receipt, check, archived)


def _journal_sound(profile: str | None) -> None:
    """Open (so check) the journal the copies go to: a damaged one stops the command
    before anything is signed or sent."""
    if profile:
        from sochi_cli.store.journal import Journal

        Journal.for_profile(profile).close()


def _keep(
    profile: str,
    item: InboxItem,
    receipt: Receipt,
    objects: list[tuple[bytes, str, str]],
    signer: Signer,
    action: str,
) -> int:
    """Archive `objects` (bytes, archive kind or `reply_attachment`, filename) and the
    operator's receipt; one audit record `action` naming the item, client and submission."""
    from sochi_cli.store.archive import Archive, ObjectKind, Target
    from sochi_cli.store.audit import Actor, AuditLog
    from sochi_cli.store.journal import Journal

    target = Target(submission_id=item.submission_id, client_inn=item.client_inn)
    rows = [
        (data, ObjectKind.ATTACHMENT if kind == "reply_attachment" else ObjectKind(kind), name)
        for data, kind, name in objects
    ]
    rows += [
        (receipt.document_bytes(), ObjectKind.RECEIPT, f"{receipt.kind}-{receipt.id}.json"),
        (
            receipt.signature_bytes(),
            ObjectKind.RECEIPT_SIGNATURE,
            f"{receipt.kind}-{receipt.id}.json.p7s",
        ),
    ]
    with Journal.for_profile(profile) as journal:
        archive = Archive(journal)
        shas = [
            archive.put_bytes(data, kind, target, filename=fn).sha256 for data, kind, fn in rows
        ]
        AuditLog(journal).append(
            action,
            {
                "inbox_id": item.id,
                "client_inn": item.client_inn,
                "submission_id": item.submission_id,
                "receipt_id": receipt.id,
                "sha256": shas,
            },
            actor=Actor.from_certificate(signer.certificate),
        )
    return len(rows)


__all__ = [
    "AckResult",
    "ReplyResult",
    "ShownItem",
    "acknowledge",
    "document_bytes",
    "list_items",
    "reply",
    "show_item",
]
