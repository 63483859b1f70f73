"""`/submissions` and `/receipts`: filing with idempotency keys, signed receipts, lookups."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from sochi_cli.sandbox.catalogue import FORMS_BY_CODE
from sochi_cli.sandbox.deps import Cursor, Limit, SandboxDep, SessionDep, cursor_seq
from sochi_cli.sandbox.models import Page, ReceiptOut, ReceiptsOut, SubmissionCreated, SubmissionOut
from sochi_cli.sandbox.pki import serial_hex
from sochi_cli.sandbox.problems import ApiProblem, problems
from sochi_cli.sandbox.reports import (
    deadline_for,
    numeric_values,
    parse_report,
    period_bounds,
    validate_report,
)
from sochi_cli.sandbox.routes.clients import poa_state
from sochi_cli.sandbox.state import Sandbox, Session
from sochi_cli.sandbox.util import canonical_json, inn_problem, iso_now, new_id

router = APIRouter(tags=["submissions"])

MAX_REPORT = 10 * 1024 * 1024
MAX_ATTACHMENT = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
MAX_SIGNATURE = 64 * 1024
_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_META_KEYS = {"client_inn", "form", "period", "correction"}

_MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["meta", "report", "signature"],
                    "properties": {
                        "meta": {"type": "string", "description": "JSON text (see docs/api.md)"},
                        "report": {"type": "string", "format": "binary"},
                        "signature": {"type": "string", "format": "binary"},
                        "attachment": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                        "attachment_signature": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                }
            }
        },
    }
}


@dataclass
class Part:
    name: str
    filename: str
    data: bytes


@dataclass
class Upload:
    meta: dict[str, Any]
    report: Part
    signature: Part
    attachments: list[tuple[Part, Part]] = field(default_factory=list)

    def fingerprint(self) -> str:
        digest = hashlib.sha256(canonical_json(self.meta))
        for part in (self.report, self.signature, *[p for pair in self.attachments for p in pair]):
            digest.update(hashlib.sha256(part.data).digest())
        return digest.hexdigest()


async def _read_part(value: Any, name: str, limit: int) -> Part:
    if isinstance(value, UploadFile):
        data = await value.read(limit + 1)
        filename = value.filename or name
    else:
        data, filename = str(value).encode(), name
    if len(data) > limit:
        raise ApiProblem(413, "payload_too_large", f"part {name!r} is over {limit} bytes")
    return Part(name, filename, data)


async def _parse_upload(request: Request) -> Upload:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiProblem(
            415, "unsupported_media_type", "POST /submissions takes multipart/form-data"
        )
    try:
        form = await request.form(
            max_files=2 + 2 * MAX_ATTACHMENTS, max_fields=10, max_part_size=MAX_SIGNATURE * 16
        )
    except HTTPException as exc:
        raise ApiProblem(
            400, "malformed_multipart", f"cannot parse the multipart body: {exc.detail}"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiProblem(
            400, "malformed_multipart", f"cannot parse the multipart body: {exc}"
        ) from None
    missing = [name for name in ("meta", "report", "signature") if form.get(name) is None]
    if missing:
        raise ApiProblem(
            422,
            "validation_failed",
            "parts missing: " + ", ".join(missing),
            errors=[{"path": name, "message": "required part"} for name in missing],
        )
    meta_part = await _read_part(form.get("meta"), "meta", MAX_SIGNATURE)
    try:
        meta = json.loads(meta_part.data)
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(400, "malformed_json", "the meta part is not valid JSON") from None
    if not isinstance(meta, dict):
        raise ApiProblem(400, "malformed_json", "the meta part must be a JSON object")
    report = await _read_part(form.get("report"), "report", MAX_REPORT)
    signature = await _read_part(form.get("signature"), "signature", MAX_SIGNATURE)
    files = form.getlist("attachment")
    sigs = form.getlist("attachment_signature")
    if len(files) > MAX_ATTACHMENTS:
        raise ApiProblem(413, "payload_too_large", f"at most {MAX_ATTACHMENTS} attachments")
    if len(files) != len(sigs):
        raise ApiProblem(
            422,
            "validation_failed",
            "each attachment needs exactly one attachment_signature",
            errors=[
                {
                    "path": "attachment_signature",
                    "message": f"{len(sigs)} signatures for {len(files)} attachments",
                }
            ],
        )
    attachments = []
    for index, (file, sig) in enumerate(zip(files, sigs, strict=True)):
        attachments.append(
            (
                await _read_part(file, f"attachment[{index}]", MAX_ATTACHMENT),
                await _read_part(sig, f"attachment_signature[{index}]", MAX_SIGNATURE),
            )
        )
    await form.close()
    return Upload(meta, report, signature, attachments)


def _check_meta(meta: dict[str, Any], own_inn: str) -> dict[str, Any]:
    errors = []
    for key in meta:
        if key not in _META_KEYS:
            errors.append({"path": f"meta.{key}", "message": "unknown field"})
    out: dict[str, Any] = {
        "client_inn": meta.get("client_inn", own_inn),
        "form": meta.get("form"),
        "period": meta.get("period"),
        "correction": meta.get("correction", 0),
    }
    for key in ("client_inn", "form", "period"):
        if not isinstance(out[key], str) or not out[key]:
            errors.append({"path": f"meta.{key}", "message": "required string"})
    correction = out["correction"]
    if (
        isinstance(correction, bool)
        or not isinstance(correction, int)
        or not 0 <= correction <= 999
    ):
        errors.append({"path": "meta.correction", "message": "must be an integer 0–999"})
    if errors:
        raise ApiProblem(422, "validation_failed", "the meta part is invalid", errors=errors)
    return out


def submission_json(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    receipt_ids = [
        r["id"]
        for r in conn.execute(
            "SELECT id FROM receipts WHERE submission_id=? ORDER BY seq", (row["id"],)
        )
    ]
    return {
        "id": row["id"],
        "idempotency_key": row["idem_key"],
        "client_inn": row["client_inn"],
        "filer_inn": row["account_inn"],
        "form": row["form"],
        "period": row["period"],
        "correction": row["correction"],
        "status": row["status"],
        "received_at": row["received_at"],
        "delivered_at": row["delivered_at"],
        "decided_at": row["decided_at"],
        "fee": row["fee"],
        "late": bool(row["late"]),
        "report": json.loads(row["report"]),
        "attachments": json.loads(row["attachments"]),
        "signer": json.loads(row["signer"]),
        "receipt_ids": receipt_ids,
        "protocol": json.loads(row["protocol"]) if row["protocol"] else None,
    }


def _created_body(sandbox: Sandbox, conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    receipt = conn.execute(
        "SELECT * FROM receipts WHERE submission_id=? AND kind='delivery'", (row["id"],)
    ).fetchone()
    return {"submission": submission_json(conn, row), "receipt": sandbox.receipt_json(receipt)}


def _replay(
    sandbox: Sandbox, conn: sqlite3.Connection, inn: str, key: str, fingerprint: str
) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM submissions WHERE account_inn=? AND idem_key=?", (inn, key)
    ).fetchone()
    if row is None:
        return None
    if row["fingerprint"] != fingerprint:
        raise ApiProblem(
            409,
            "idempotency_conflict",
            f"Idempotency-Key {key!r} was used for a different submission ({row['id']})",
            submission_id=row["id"],
        )
    return _created_body(sandbox, conn, row)


def _check_client(
    sandbox: Sandbox,
    conn: sqlite3.Connection,
    account: sqlite3.Row,
    meta: dict[str, Any],
    form: dict[str, Any],
    today: date,
) -> None:
    client_inn = meta["client_inn"]
    if client_inn == account["inn"]:
        return
    if account["kind"] != "tax_representative":
        raise ApiProblem(
            403,
            "not_tax_representative",
            f"a self-filer files only its own reports, not for {client_inn}",
        )
    client = conn.execute(
        "SELECT status, detached_at, poa FROM clients WHERE rep_inn=? AND inn=?",
        (account["inn"], client_inn),
    ).fetchone()
    if client is None:
        raise ApiProblem(
            403, "poa_missing", f"{client_inn} is not a client: no power of attorney on file"
        )
    if client["status"] == "detached":
        raise ApiProblem(
            403, "client_detached", f"{client_inn} was detached on {client['detached_at']}"
        )
    poa = json.loads(client["poa"]) if client["poa"] else None
    state = poa_state(poa, today)
    if poa is None or state == "missing":
        raise ApiProblem(403, "poa_missing", f"no power of attorney on file for {client_inn}")
    if state != "valid":
        raise ApiProblem(
            403,
            "poa_expired",
            f"the power of attorney {poa['number']} of {client_inn} is valid "
            f"{poa['issued_on']}..{poa['valid_until']}, not on {today.isoformat()}",
        )
    bounds = period_bounds(meta["period"], form["periodicity"])
    if bounds is not None:
        first, last = bounds[0].strftime("%Y-%m"), bounds[1].strftime("%Y-%m")
        if (poa.get("period_from") and first < poa["period_from"]) or (
            poa.get("period_to") and last > poa["period_to"]
        ):
            raise ApiProblem(
                403,
                "poa_period_not_covered",
                f"the power of attorney {poa['number']} does not cover period {meta['period']}",
            )


def check_correction_order(
    conn: sqlite3.Connection, account_inn: str, meta: dict[str, Any], form: dict[str, Any]
) -> None:
    """One original per taxpayer, form and period; corrections numbered 1, 2… in order.

    Rejected submissions do not count (the taxpayer files again under the same number);
    received, delivered and accepted ones do. Runs inside the filing transaction.
    """
    rows = conn.execute(
        "SELECT id, account_inn, correction, status, received_at FROM submissions"
        " WHERE client_inn=? AND form=? AND period=? AND status!='rejected'"
        " ORDER BY correction, seq",
        (meta["client_inn"], form["code"], meta["period"]),
    ).fetchall()
    wanted = meta["correction"]
    expected = (max(r["correction"] for r in rows) + 1) if rows else 0
    if wanted == expected:
        return
    target = f"{form['code']} {meta['period']} of {meta['client_inn']}"
    if rows and wanted == 0:
        original = rows[0]
        named = original["id"] if original["account_inn"] == account_inn else "another filer's"
        raise ApiProblem(
            409,
            "original_exists",
            f"an original {target} is already filed: {named} ({original['status']}, received "
            f"{original['received_at']}); file this report as correction {expected}",
            submission_id=original["id"] if original["account_inn"] == account_inn else None,
            submission_status=original["status"],
            next_correction=expected,
        )
    what = "no original is on file" if not rows else f"the last one filed is {expected - 1}"
    raise ApiProblem(
        409,
        "correction_out_of_order",
        f"correction {wanted} of {target} is out of order: {what}; "
        + ("file the original (correction 0) first" if not rows else f"file {expected} next"),
        next_correction=expected,
    )


def _file(
    sandbox: Sandbox, session: Session, key: str, upload: Upload
) -> tuple[int, dict[str, Any]]:
    fingerprint = upload.fingerprint()
    with sandbox.db.read() as conn:
        replay = _replay(sandbox, conn, session.inn, key, fingerprint)
        if replay is not None:
            return 200, replay
        account = conn.execute("SELECT * FROM accounts WHERE inn=?", (session.inn,)).fetchone()
    if account["reg_state"] != "active":
        raise ApiProblem(403, "registration_pending", "the account's registration is not complete")
    meta = _check_meta(upload.meta, session.inn)
    form = FORMS_BY_CODE.get(meta["form"].upper())
    if form is None:
        raise ApiProblem(422, "form_not_found", f"no form {meta['form']!r} in the catalogue")
    if why := inn_problem(meta["client_inn"]):
        raise ApiProblem(422, "invalid_inn", f"meta.client_inn {meta['client_inn']!r}: {why}")
    today = sandbox.today()
    with sandbox.db.read() as conn:
        _check_client(sandbox, conn, account, meta, form, today)
    cert, signing_time = sandbox.verify_signature(
        upload.signature.data, upload.report.data, inn=session.inn, part="signature"
    )
    for attachment, signature in upload.attachments:
        sandbox.verify_signature(
            signature.data, attachment.data, inn=session.inn, part=signature.name
        )
    report = parse_report(upload.report.data)
    errors = validate_report(report, form, meta, today)
    if errors:
        raise ApiProblem(
            422,
            "validation_failed",
            f"the report does not match form {form['code']}",
            errors=errors,
        )
    bounds = period_bounds(meta["period"], form["periodicity"])
    if bounds is not None and bounds[1] >= today and not form["early_filing"]:
        raise ApiProblem(
            422,
            "period_not_ended",
            f"period {meta['period']} ends on {bounds[1].isoformat()}; {form['code']} may be "
            "filed only after its period has ended",
            period_ends=bounds[1].isoformat(),
        )
    late = bool(bounds and deadline_for(form, meta["period"]) < today)
    now = sandbox.now()
    sub_id, receipt_id = new_id("sub"), new_id("rcp")
    report_info = {
        "filename": upload.report.filename,
        "sha256": hashlib.sha256(upload.report.data).hexdigest(),
        "size": len(upload.report.data),
    }
    attachments = [
        {"filename": a.filename, "sha256": hashlib.sha256(a.data).hexdigest(), "size": len(a.data)}
        for a, _ in upload.attachments
    ]
    signer = {
        "certificate_serial": serial_hex(cert),
        "inn": session.inn,
        "name": cert.subject.rfc4514_string(),
        "signing_time": iso_now(signing_time),
    }
    with sandbox.db.tx() as conn:
        replay = _replay(sandbox, conn, session.inn, key, fingerprint)
        if replay is not None:
            return 200, replay
        check_correction_order(conn, session.inn, meta, form)
        sandbox.require_balance(conn, session.inn, form["fee"])
        conn.execute(
            "INSERT INTO submissions (id, account_inn, idem_key, fingerprint, client_inn, form,"
            " period, correction, status, received_at, due_ts, fee, late, report, attachments,"
            " signer, values_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                sub_id,
                session.inn,
                key,
                fingerprint,
                meta["client_inn"],
                form["code"],
                meta["period"],
                meta["correction"],
                "received",
                iso_now(now),
                now.timestamp() + sandbox.settings.agency.delivery_delay_seconds,
                form["fee"],
                int(late),
                json.dumps(report_info),
                json.dumps(attachments),
                json.dumps(signer),
                json.dumps(numeric_values(report, form)),
            ),
        )
        sandbox.charge(
            conn,
            session.inn,
            "submission_fee",
            -form["fee"],
            f"{form['code']} {meta['period']} for {meta['client_inn']}",
            sub_id,
        )
        sandbox.issue_receipt(
            conn,
            kind="delivery",
            issuer="operator",
            inn=session.inn,
            receipt_id=receipt_id,
            submission_id=sub_id,
            document={
                "type": "delivery_receipt",
                "submission_id": sub_id,
                "filer_inn": session.inn,
                "client_inn": meta["client_inn"],
                "form": form["code"],
                "period": meta["period"],
                "correction": meta["correction"],
                "report_sha256": report_info["sha256"],
                "signature_sha256": hashlib.sha256(upload.signature.data).hexdigest(),
                "received_at": iso_now(now),
                "operator": sandbox.operator_identity(),
            },
        )
        _keep_documents(conn, sub_id, upload)
        sandbox.add_event(
            conn, session.inn, "submission.received", submission_id=sub_id, status="received"
        )
        row = conn.execute("SELECT * FROM submissions WHERE id=?", (sub_id,)).fetchone()
        return 201, _created_body(sandbox, conn, row)


def _keep_documents(conn: sqlite3.Connection, sub_id: str, upload: Upload) -> None:
    """The filed bytes, kept so the subscriber can fetch its copy back (clause 16.1)."""
    parts = [("report", upload.report), ("signature", upload.signature)]
    for index, (attachment, signature) in enumerate(upload.attachments):
        parts += [(f"attachment/{index}", attachment), (f"attachment/{index}/signature", signature)]
    conn.executemany(
        "INSERT INTO documents (submission_id, part, filename, sha256, data) VALUES (?,?,?,?,?)",
        [
            (sub_id, name, part.filename, hashlib.sha256(part.data).hexdigest(), part.data)
            for name, part in parts
        ],
    )


def _document(sandbox: Sandbox, inn: str, sub_id: str, part: str, media_type: str) -> Response:
    with sandbox.db.read() as conn:
        _submission(conn, inn, sub_id)
        row = conn.execute(
            "SELECT filename, sha256, data FROM documents WHERE submission_id=? AND part=?",
            (sub_id, part),
        ).fetchone()
    if row is None:
        raise ApiProblem(404, "document_not_found", f"submission {sub_id} has no {part}")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", row["filename"]) or "document"
    return Response(
        bytes(row["data"]),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-SHA256": row["sha256"],
        },
    )


_BINARY: dict[int | str, dict[str, Any]] = {200: {"content": {"application/octet-stream": {}}}}


@router.get("/submissions/{sub_id}/report", responses={**_BINARY, **problems(401, 403, 404)})
def get_submission_report(sub_id: str, session: SessionDep, sandbox: SandboxDep) -> Response:
    """The report as filed (the exact bytes the signature covers)."""
    return _document(sandbox, session.inn, sub_id, "report", "application/xml")


@router.get("/submissions/{sub_id}/signature", responses={**_BINARY, **problems(401, 403, 404)})
def get_submission_signature(sub_id: str, session: SessionDep, sandbox: SandboxDep) -> Response:
    """The filer's detached CMS signature (DER) over the report, as filed."""
    return _document(sandbox, session.inn, sub_id, "signature", "application/pkcs7-signature")


@router.get(
    "/submissions/{sub_id}/attachments/{index}",
    responses={**_BINARY, **problems(401, 403, 404)},
)
def get_submission_attachment(
    sub_id: str, index: int, session: SessionDep, sandbox: SandboxDep
) -> Response:
    """Attachment `index` (0-based, in filing order) as filed."""
    return _document(
        sandbox, session.inn, sub_id, f"attachment/{index}", "application/octet-stream"
    )


@router.get(
    "/submissions/{sub_id}/attachments/{index}/signature",
    responses={**_BINARY, **problems(401, 403, 404)},
)
def get_submission_attachment_signature(
    sub_id: str, index: int, session: SessionDep, sandbox: SandboxDep
) -> Response:
    """The filer's detached CMS signature (DER) over attachment `index`."""
    return _document(
        sandbox,
        session.inn,
        sub_id,
        f"attachment/{index}/signature",
        "application/pkcs7-signature",
    )


@router.post(
    "/submissions",
    status_code=201,
    response_model=SubmissionCreated,
    responses={
        200: {"model": SubmissionCreated, "description": "replay of the same key"},
        **problems(400, 401, 402, 403, 409, 413, 415, 422),
    },
    openapi_extra=_MULTIPART_BODY,
)
async def create_submission(
    request: Request,
    session: SessionDep,
    sandbox: SandboxDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """File a signed report (multipart); the same Idempotency-Key never files twice."""
    if idempotency_key is None:
        raise ApiProblem(400, "idempotency_key_missing", "send an Idempotency-Key header")
    if not _KEY.fullmatch(idempotency_key):
        raise ApiProblem(
            400, "idempotency_key_invalid", "Idempotency-Key is 1–128 characters [A-Za-z0-9._:-]"
        )
    upload = await _parse_upload(request)
    status, body = await run_in_threadpool(_file, sandbox, session, idempotency_key, upload)
    return JSONResponse(body, status_code=status)


@router.get("/submissions", response_model=Page, responses=problems(400, 401, 403, 422))
def list_submissions(
    session: SessionDep,
    sandbox: SandboxDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    client: Annotated[str | None, Query(max_length=20)] = None,
    form: Annotated[str | None, Query(max_length=20)] = None,
    period: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    """The account's submissions, oldest first, filtered."""
    sql = "SELECT * FROM submissions WHERE account_inn=? AND seq>?"
    args: list[Any] = [session.inn, cursor_seq(cursor)]
    for column, value in (
        ("client_inn", client),
        ("form", form),
        ("period", period),
        ("status", status),
    ):
        if value:
            sql += f" AND {column}=?"
            args.append(value.upper() if column == "form" else value)
    with sandbox.db.read() as conn:
        rows = conn.execute(sql + " ORDER BY seq LIMIT ?", (*args, limit + 1)).fetchall()
        items = [submission_json(conn, r) for r in rows[:limit]]
    return {
        "items": items,
        "next_cursor": str(rows[limit - 1]["seq"]) if len(rows) > limit else None,
    }


def _submission(conn: sqlite3.Connection, inn: str, sub_id: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT * FROM submissions WHERE id=? AND account_inn=?", (sub_id, inn)
    ).fetchone()
    if row is None:
        raise ApiProblem(404, "submission_not_found", f"no submission {sub_id}")
    result: sqlite3.Row = row
    return result


@router.get(
    "/submissions/{sub_id}", response_model=SubmissionOut, responses=problems(401, 403, 404)
)
def get_submission(sub_id: str, session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """One submission with its state and protocol."""
    with sandbox.db.read() as conn:
        return submission_json(conn, _submission(conn, session.inn, sub_id))


@router.get(
    "/submissions/{sub_id}/receipts", response_model=ReceiptsOut, responses=problems(401, 403, 404)
)
def get_submission_receipts(
    sub_id: str, session: SessionDep, sandbox: SandboxDep
) -> dict[str, Any]:
    """The delivery receipt and, once decided, the agency protocol."""
    with sandbox.db.read() as conn:
        _submission(conn, session.inn, sub_id)
        rows = conn.execute(
            "SELECT * FROM receipts WHERE submission_id=? ORDER BY seq", (sub_id,)
        ).fetchall()
    return {"items": [sandbox.receipt_json(r) for r in rows]}


@router.get("/receipts/{receipt_id}", response_model=ReceiptOut, responses=problems(401, 403, 404))
def get_receipt(receipt_id: str, session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """A receipt: the document and the operator's (or agency's) CMS signature over it."""
    with sandbox.db.read() as conn:
        row = conn.execute(
            "SELECT * FROM receipts WHERE id=? AND account_inn=?", (receipt_id, session.inn)
        ).fetchone()
    if row is None:
        raise ApiProblem(404, "receipt_not_found", f"no receipt {receipt_id}")
    return sandbox.receipt_json(row)
