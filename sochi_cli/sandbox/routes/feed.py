"""`/events` (long poll of state changes) and `/inbox` (agency documents, signed acks)."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from sochi_cli.sandbox.deps import Cursor, Limit, SandboxDep, SessionDep, cursor_seq
from sochi_cli.sandbox.models import AckIn, AckOut, EventsOut, InboxItemOut, Page
from sochi_cli.sandbox.pki import AGENCIES
from sochi_cli.sandbox.problems import ApiProblem, problems
from sochi_cli.sandbox.routes.auth import decode_b64
from sochi_cli.sandbox.state import Sandbox, b64
from sochi_cli.sandbox.util import iso_now

router = APIRouter()
POLL_INTERVAL = 0.1


def _events(sandbox: Sandbox, inn: str, after: int, limit: int) -> list[dict[str, Any]]:
    sandbox.tick()
    with sandbox.db.read() as conn:
        rows = conn.execute(
            "SELECT seq, type, at, submission_id, inbox_id, status FROM events "
            "WHERE account_inn=? AND seq>? ORDER BY seq LIMIT ?",
            (inn, after, limit),
        ).fetchall()
    out = []
    for row in rows:
        event: dict[str, Any] = {
            "id": str(row["seq"]),
            "cursor": str(row["seq"]),
            "type": row["type"],
            "at": row["at"],
        }
        if row["submission_id"]:
            event["submission_id"] = row["submission_id"]
            event["status"] = row["status"]
        if row["inbox_id"]:
            event["inbox_id"] = row["inbox_id"]
        out.append(event)
    return out


def _issued(sandbox: Sandbox, inn: str, seq: int) -> bool:
    """Whether `seq` is the cursor of one of this account's events (every cursor it was given)."""
    with sandbox.db.read() as conn:
        row = conn.execute(
            "SELECT 1 FROM events WHERE account_inn=? AND seq=?", (inn, seq)
        ).fetchone()
    return row is not None


@router.get(
    "/events", response_model=EventsOut, responses=problems(400, 401, 403, 422), tags=["events"]
)
async def get_events(
    request: Request,
    session: SessionDep,
    sandbox: SandboxDep,
    after: Cursor = None,
    wait: Annotated[float, Query(ge=0, le=60)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Events newer than `after`; waits up to `wait` seconds for the first one."""
    start = cursor_seq(after)
    if start and not await run_in_threadpool(_issued, sandbox, session.inn, start):
        raise ApiProblem(400, "invalid_cursor", "this cursor was not issued by the server")
    deadline = time.monotonic() + min(wait, sandbox.settings.long_poll_cap_seconds)
    while True:
        events = await run_in_threadpool(_events, sandbox, session.inn, start, limit)
        if events or time.monotonic() >= deadline or sandbox.stopping.is_set():
            break
        if await request.is_disconnected():  # the client gave up: stop holding the poll
            break
        await asyncio.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
    next_cursor = events[-1]["cursor"] if events else after
    return {"events": events, "next_cursor": next_cursor}


def inbox_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "agency": {"code": row["agency"], "name": AGENCIES[row["agency"]]},
        "kind": row["kind"],
        "subject": row["subject"],
        "body": row["body"],
        "received_at": row["received_at"],
        "submission_id": row["submission_id"],
        "document": b64(row["document"]),
        "signature": b64(row["signature"]),
        "acknowledged_at": row["acknowledged_at"],
        "ack_receipt_id": row["ack_receipt_id"],
        "client_inn": row["client_inn"],
        "replied_at": row["replied_at"],
        "reply_receipt_id": row["reply_receipt_id"],
    }


@router.get("/inbox", response_model=Page, responses=problems(400, 401, 403, 422), tags=["inbox"])
def list_inbox(
    session: SessionDep,
    sandbox: SandboxDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    unacknowledged: bool = False,
) -> dict[str, Any]:
    """Documents from agencies, oldest first."""
    sql = "SELECT * FROM inbox WHERE account_inn=? AND seq>?"
    if unacknowledged:
        sql += " AND acknowledged_at IS NULL"
    with sandbox.db.read() as conn:
        rows = conn.execute(
            sql + " ORDER BY seq LIMIT ?", (session.inn, cursor_seq(cursor), limit + 1)
        ).fetchall()
    return {
        "items": [inbox_json(r) for r in rows[:limit]],
        "next_cursor": str(rows[limit - 1]["seq"]) if len(rows) > limit else None,
    }


def inbox_item_row(conn: sqlite3.Connection, inn: str, item_id: str) -> sqlite3.Row:
    return _item(conn, inn, item_id)


def _item(conn: sqlite3.Connection, inn: str, item_id: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT * FROM inbox WHERE id=? AND account_inn=?", (item_id, inn)
    ).fetchone()
    if row is None:
        raise ApiProblem(404, "inbox_item_not_found", f"no inbox item {item_id}")
    result: sqlite3.Row = row
    return result


@router.get(
    "/inbox/{item_id}",
    response_model=InboxItemOut,
    responses=problems(401, 403, 404),
    tags=["inbox"],
)
def get_inbox_item(item_id: str, session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """One inbox document with the agency's signature."""
    with sandbox.db.read() as conn:
        return inbox_json(_item(conn, session.inn, item_id))


@router.post(
    "/inbox/{item_id}/ack",
    response_model=AckOut,
    responses=problems(400, 401, 403, 404, 415, 422),
    tags=["inbox"],
)
def ack_inbox_item(
    item_id: str, body: AckIn, session: SessionDep, sandbox: SandboxDep
) -> dict[str, Any]:
    """Acknowledge with the subscriber's signature over the document; returns the receipt."""
    with sandbox.db.read() as conn:
        row = _item(conn, session.inn, item_id)
        if row["ack_receipt_id"]:
            receipt = conn.execute(
                "SELECT * FROM receipts WHERE id=?", (row["ack_receipt_id"],)
            ).fetchone()
            return {"item": inbox_json(row), "receipt": sandbox.receipt_json(receipt)}
    signature = decode_b64(body.signature, "signature")
    sandbox.verify_signature(signature, bytes(row["document"]), inn=session.inn)
    now = iso_now(sandbox.now())
    with sandbox.db.tx() as conn:
        row = _item(conn, session.inn, item_id)
        if not row["ack_receipt_id"]:
            receipt_id = sandbox.issue_receipt(
                conn,
                kind="inbox_ack",
                issuer="operator",
                inn=session.inn,
                inbox_id=item_id,
                document={
                    "type": "inbox_ack",
                    "inbox_id": item_id,
                    "acknowledged_at": now,
                    "subscriber_inn": session.inn,
                    "ack_signature_sha256": hashlib.sha256(signature).hexdigest(),
                },
            )
            conn.execute(
                "UPDATE inbox SET acknowledged_at=?, ack_receipt_id=? WHERE id=?",
                (now, receipt_id, item_id),
            )
            row = _item(conn, session.inn, item_id)
        receipt = conn.execute(
            "SELECT * FROM receipts WHERE id=?", (row["ack_receipt_id"],)
        ).fetchone()
        return {"item": inbox_json(row), "receipt": sandbox.receipt_json(receipt)}
