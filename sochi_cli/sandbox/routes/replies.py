"""`POST /inbox/{id}/reply`: a subscriber's signed answer to an agency's request."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from sochi_cli.sandbox.deps import SandboxDep, SessionDep
from sochi_cli.sandbox.models import ReplyCreated
from sochi_cli.sandbox.problems import ApiProblem, problems
from sochi_cli.sandbox.routes.feed import inbox_item_row, inbox_json
from sochi_cli.sandbox.routes.submissions import (
    MAX_ATTACHMENT,
    MAX_ATTACHMENTS,
    MAX_REPORT,
    MAX_SIGNATURE,
    Part,
    _read_part,
)
from sochi_cli.sandbox.state import Sandbox, Session
from sochi_cli.sandbox.util import iso_now, new_id

router = APIRouter(tags=["inbox"])


async def _parts(request: Request) -> tuple[Part, Part, list[tuple[Part, Part]]]:
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ApiProblem(415, "unsupported_media_type", "a reply is multipart/form-data")
    try:
        form = await request.form(max_files=2 + 2 * MAX_ATTACHMENTS, max_fields=4)
    except (HTTPException, ValueError, UnicodeDecodeError) as exc:
        raise ApiProblem(400, "malformed_multipart", f"cannot parse the body: {exc}") from None
    missing = [name for name in ("document", "signature") if form.get(name) is None]
    if missing:
        raise ApiProblem(
            422,
            "validation_failed",
            "parts missing: " + ", ".join(missing),
            errors=[{"path": name, "message": "required part"} for name in missing],
        )
    document = await _read_part(form.get("document"), "document", MAX_REPORT)
    signature = await _read_part(form.get("signature"), "signature", MAX_SIGNATURE)
    files, sigs = form.getlist("attachment"), form.getlist("attachment_signature")
    if len(files) != len(sigs):
        raise ApiProblem(
            422,
            "validation_failed",
            "each attachment needs exactly one attachment_signature",
            errors=[{"path": "attachment_signature", "message": "count mismatch"}],
        )
    attachments = [
        (
            await _read_part(f, f"attachment[{i}]", MAX_ATTACHMENT),
            await _read_part(s, f"attachment_signature[{i}]", MAX_SIGNATURE),
        )
        for i, (f, s) in enumerate(zip(files, sigs, strict=True))
    ]
    await form.close()
    return document, signature, attachments


def _info(part: Part) -> dict[str, Any]:
    return {
        "filename": part.filename,
        "sha256": hashlib.sha256(part.data).hexdigest(),
        "size": len(part.data),
    }


def _reply(
    sandbox: Sandbox,
    session: Session,
    item_id: str,
    document: Part,
    signature: Part,
    attachments: list[tuple[Part, Part]],
) -> tuple[int, dict[str, Any]]:
    with sandbox.db.read() as conn:
        row = inbox_item_row(conn, session.inn, item_id)
    if row["kind"] != "request":
        raise ApiProblem(409, "reply_not_expected", f"{item_id} is a notice, not a request")
    sandbox.verify_signature(signature.data, document.data, inn=session.inn, part="signature")
    for attachment, sig in attachments:
        sandbox.verify_signature(sig.data, attachment.data, inn=session.inn, part=sig.name)
    info = _info(document)
    with sandbox.db.tx() as conn:
        row = inbox_item_row(conn, session.inn, item_id)
        if row["reply_receipt_id"]:
            receipt = conn.execute(
                "SELECT * FROM receipts WHERE id=?", (row["reply_receipt_id"],)
            ).fetchone()
            sent = json.loads(bytes(receipt["document"]))
            if sent["document"]["sha256"] != info["sha256"]:
                raise ApiProblem(
                    409,
                    "already_replied",
                    f"{item_id} was answered on {row['replied_at']} with another document "
                    f"(receipt {row['reply_receipt_id']})",
                )
            return 200, {"item": inbox_json(row), "receipt": sandbox.receipt_json(receipt)}
        now = iso_now(sandbox.now())
        receipt_id = sandbox.issue_receipt(
            conn,
            kind="inbox_reply",
            issuer="operator",
            inn=session.inn,
            inbox_id=item_id,
            document={
                "type": "inbox_reply",
                "reply_id": new_id("rpl"),
                "inbox_id": item_id,
                "replied_at": now,
                "subscriber_inn": session.inn,
                "client_inn": row["client_inn"],
                "submission_id": row["submission_id"],
                "document": info,
                "signature_sha256": hashlib.sha256(signature.data).hexdigest(),
                "attachments": [_info(a) for a, _ in attachments],
            },
        )
        conn.execute(
            "UPDATE inbox SET replied_at=?, reply_receipt_id=? WHERE id=?",
            (now, receipt_id, item_id),
        )
        row = inbox_item_row(conn, session.inn, item_id)
        receipt = conn.execute("SELECT * FROM receipts WHERE id=?", (receipt_id,)).fetchone()
        return 201, {"item": inbox_json(row), "receipt": sandbox.receipt_json(receipt)}


@router.post(
    "/inbox/{item_id}/reply",
    status_code=201,
    response_model=ReplyCreated,
    responses={
        200: {"model": ReplyCreated, "description": "the same reply again"},
        **problems(400, 401, 403, 404, 409, 413, 415, 422),
    },
)
async def reply_inbox_item(
    item_id: str, request: Request, session: SessionDep, sandbox: SandboxDep
) -> JSONResponse:
    """Answer an agency's request with a signed document (and signed attachments)."""
    document, signature, attachments = await _parts(request)
    status, body = await run_in_threadpool(
        _reply, sandbox, session, item_id, document, signature, attachments
    )
    return JSONResponse(body, status_code=status)
