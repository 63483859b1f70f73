"""`/account`: requisites and registration state, balance and the charges ledger."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from fastapi import APIRouter

from sochi_cli.sandbox.deps import Cursor, Limit, SandboxDep, SessionDep, cursor_seq
from sochi_cli.sandbox.models import AccountOut, AccountPatch, BalanceOut, Page
from sochi_cli.sandbox.problems import ApiProblem, problems
from sochi_cli.sandbox.util import iso_now

router = APIRouter(prefix="/account", tags=["account"])


def account_json(row: sqlite3.Row, conn: sqlite3.Connection | None = None) -> dict[str, Any]:
    data = {
        "inn": row["inn"],
        "name": row["name"],
        "kind": row["kind"],
        "registration": {
            "state": row["reg_state"],
            "requested_at": row["requested_at"],
            "activated_at": row["activated_at"],
            "channel": row["reg_channel"],
        },
        "requisites": json.loads(row["requisites"]),
        "ecloud": {"subscribed": bool(row["ecloud_subscribed"]), "monthly_fee": row["monthly_fee"]},
        "status": "active" if row["balance"] > 0 else "suspended",
        "created_at": row["created_at"],
    }
    if conn is not None:
        from sochi_cli.sandbox.taxpayers import load_taxpayer

        data["taxpayer"] = load_taxpayer(conn, row["inn"])
    return data


@router.get("", response_model=AccountOut, responses=problems(401, 403))
def get_account(session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """The subscriber's account: kind, registration state, requisites."""
    with sandbox.db.read() as conn:
        row = conn.execute("SELECT * FROM accounts WHERE inn=?", (session.inn,)).fetchone()
        return account_json(row, conn)


@router.patch("", response_model=AccountOut, responses=problems(400, 401, 403, 415, 422))
def patch_account(body: AccountPatch, session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """Update requisites (clause 4.3.11); only the fields given change."""
    changes = body.requisites.model_dump(exclude_none=True)
    if not changes:
        raise ApiProblem(
            422,
            "validation_failed",
            "no requisites to change",
            errors=[{"path": "requisites", "message": "give at least one field"}],
        )
    with sandbox.db.tx() as conn:
        row = conn.execute("SELECT requisites FROM accounts WHERE inn=?", (session.inn,)).fetchone()
        requisites = {**json.loads(row["requisites"]), **changes}
        conn.execute(
            "UPDATE accounts SET requisites=? WHERE inn=?", (json.dumps(requisites), session.inn)
        )
        if "legal_name" in changes:
            conn.execute(
                "UPDATE accounts SET name=? WHERE inn=?", (changes["legal_name"], session.inn)
            )
        row = conn.execute("SELECT * FROM accounts WHERE inn=?", (session.inn,)).fetchone()
        return account_json(row, conn)


@router.get("/balance", response_model=BalanceOut, responses=problems(401, 403))
def get_balance(session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """The prepaid balance in tyiyn."""
    with sandbox.db.read() as conn:
        row = conn.execute("SELECT balance FROM accounts WHERE inn=?", (session.inn,)).fetchone()
    return {
        "balance": row["balance"],
        "currency": "KGS",
        "status": "active" if row["balance"] > 0 else "suspended",
        "as_of": iso_now(sandbox.now()),
    }


@router.get("/charges", response_model=Page, responses=problems(400, 401, 403, 422))
def list_charges(
    session: SessionDep, sandbox: SandboxDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Debits and credits of the account, oldest first."""
    after = cursor_seq(cursor)
    with sandbox.db.read() as conn:
        rows = conn.execute(
            "SELECT seq, id, at, kind, amount, balance_after, submission_id, description "
            "FROM charges WHERE account_inn=? AND seq>? ORDER BY seq LIMIT ?",
            (session.inn, after, limit + 1),
        ).fetchall()
    items = [dict(row) for row in rows[:limit]]
    for item in items:
        del item["seq"]
    next_cursor = str(rows[limit - 1]["seq"]) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}
