"""`/clients`: a tax representative's taxpayers and their powers of attorney (clause 3.2)."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query

from sochi_cli.sandbox.deps import Cursor, Limit, SandboxDep, SessionDep, cursor_seq
from sochi_cli.sandbox.models import AttachIn, ClientIn, ClientOut, DetachIn, Page, PoaIn
from sochi_cli.sandbox.problems import ApiProblem, problems
from sochi_cli.sandbox.state import Sandbox, Session
from sochi_cli.sandbox.taxpayers import load_taxpayer
from sochi_cli.sandbox.util import inn_kind, inn_problem, iso_now

router = APIRouter(prefix="/clients", tags=["clients"])


def poa_state(poa: dict[str, Any] | None, today: date) -> str:
    if not poa:
        return "missing"
    if today < date.fromisoformat(poa["issued_on"]):
        return "not_yet_valid"
    if today > date.fromisoformat(poa["valid_until"]):
        return "expired"
    return "valid"


def client_json(conn: sqlite3.Connection, row: sqlite3.Row, today: date) -> dict[str, Any]:
    poa = json.loads(row["poa"]) if row["poa"] else None
    return {
        "inn": row["inn"],
        "name": row["name"],
        "kind": row["kind"],
        "status": row["status"],
        "added_at": row["added_at"],
        "detached_at": row["detached_at"],
        "detach_reason": row["detach_reason"],
        "poa": poa,
        "poa_state": poa_state(poa, today),
        "taxpayer": load_taxpayer(conn, row["inn"]),
    }


def require_representative(sandbox: Sandbox, session: Session) -> None:
    with sandbox.db.read() as conn:
        row = conn.execute(
            "SELECT kind, reg_state FROM accounts WHERE inn=?", (session.inn,)
        ).fetchone()
    if row["reg_state"] != "active":
        raise ApiProblem(403, "registration_pending", "the account's registration is not complete")
    if row["kind"] != "tax_representative":
        raise ApiProblem(403, "not_tax_representative", "only a tax representative has clients")


def check_poa(poa: PoaIn, inn: str) -> dict[str, Any]:
    errors = []
    try:
        issued = date.fromisoformat(poa.issued_on)
        until = date.fromisoformat(poa.valid_until)
        if until < issued:
            errors.append({"path": "poa.valid_until", "message": "is before issued_on"})
    except ValueError:
        errors.append({"path": "poa", "message": "issued_on/valid_until must be real dates"})
    if poa.period_from and poa.period_to and poa.period_to < poa.period_from:
        errors.append({"path": "poa.period_to", "message": "is before period_from"})
    if errors:
        raise ApiProblem(
            422, "validation_failed", "the power of attorney is invalid", errors=errors
        )
    if inn_kind(inn) == "natural" and not poa.notarised:
        raise ApiProblem(
            422,
            "poa_not_notarised",
            "a power of attorney from a natural person must be notarised (clause 3.2)",
        )
    return poa.model_dump()


def _check_inn(inn: str) -> None:
    if why := inn_problem(inn):
        raise ApiProblem(422, "invalid_inn", f"{inn!r}: {why}")


def _get(conn: sqlite3.Connection, rep: str, inn: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM clients WHERE rep_inn=? AND inn=?", (rep, inn)).fetchone()
    if row is None:
        raise ApiProblem(404, "client_not_found", f"{inn} is not a client of this account")
    result: sqlite3.Row = row
    return result


@router.get("", response_model=Page, responses=problems(400, 401, 403, 422))
def list_clients(
    session: SessionDep,
    sandbox: SandboxDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[Literal["active", "detached"] | None, Query()] = None,
) -> dict[str, Any]:
    """Clients with their POA, in the order they were added."""
    require_representative(sandbox, session)
    after = cursor_seq(cursor)
    sql = "SELECT * FROM clients WHERE rep_inn=? AND seq>?"
    args: list[Any] = [session.inn, after]
    if status:
        sql += " AND status=?"
        args.append(status)
    today = sandbox.today()
    with sandbox.db.read() as conn:
        rows = conn.execute(sql + " ORDER BY seq LIMIT ?", (*args, limit + 1)).fetchall()
        items = [client_json(conn, r, today) for r in rows[:limit]]
    return {
        "items": items,
        "next_cursor": str(rows[limit - 1]["seq"]) if len(rows) > limit else None,
    }


@router.post(
    "", status_code=201, response_model=ClientOut, responses=problems(400, 401, 403, 409, 415, 422)
)
def add_client(body: ClientIn, session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """Register a served taxpayer with its power of attorney."""
    require_representative(sandbox, session)
    _check_inn(body.inn)
    poa = check_poa(body.poa, body.inn)
    with sandbox.db.tx() as conn:
        if conn.execute(
            "SELECT 1 FROM clients WHERE rep_inn=? AND inn=?", (session.inn, body.inn)
        ).fetchone():
            raise ApiProblem(409, "client_exists", f"{body.inn} is already a client")
        seq = conn.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM clients WHERE rep_inn=?", (session.inn,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO clients (rep_inn, inn, seq, name, kind, status, added_at, poa)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                session.inn,
                body.inn,
                seq,
                body.name,
                inn_kind(body.inn),
                "active",
                iso_now(sandbox.now()),
                json.dumps(poa),
            ),
        )
        row = _get(conn, session.inn, body.inn)
        return client_json(conn, row, sandbox.today())


@router.get("/{inn}", response_model=ClientOut, responses=problems(401, 403, 404))
def get_client(inn: str, session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """One client with its POA state on the server clock's date."""
    require_representative(sandbox, session)
    with sandbox.db.read() as conn:
        row = _get(conn, session.inn, inn)
        return client_json(conn, row, sandbox.today())


@router.put(
    "/{inn}/poa", response_model=ClientOut, responses=problems(400, 401, 403, 404, 409, 415, 422)
)
def replace_poa(inn: str, body: PoaIn, session: SessionDep, sandbox: SandboxDep) -> dict[str, Any]:
    """Replace the client's power of attorney (e.g. a renewed one)."""
    require_representative(sandbox, session)
    poa = check_poa(body, inn)
    with sandbox.db.tx() as conn:
        row = _get(conn, session.inn, inn)
        if row["status"] == "detached":
            raise ApiProblem(409, "client_detached", f"{inn} was detached on {row['detached_at']}")
        conn.execute(
            "UPDATE clients SET poa=? WHERE rep_inn=? AND inn=?",
            (json.dumps(poa), session.inn, inn),
        )
        row = _get(conn, session.inn, inn)
        return client_json(conn, row, sandbox.today())


@router.post(
    "/{inn}/attach", response_model=ClientOut, responses=problems(400, 401, 403, 404, 409, 415, 422)
)
def attach_client(
    inn: str, body: AttachIn, session: SessionDep, sandbox: SandboxDep
) -> dict[str, Any]:
    """Represent a detached client again, with a new power of attorney."""
    require_representative(sandbox, session)
    poa = check_poa(body.poa, inn)
    with sandbox.db.tx() as conn:
        row = _get(conn, session.inn, inn)
        if row["status"] != "detached":
            raise ApiProblem(409, "client_active", f"{inn} is not detached; renew its POA instead")
        conn.execute(
            "UPDATE clients SET status='active', detached_at=NULL, detach_reason=NULL, poa=?,"
            " name=COALESCE(?, name) WHERE rep_inn=? AND inn=?",
            (json.dumps(poa), body.name, session.inn, inn),
        )
        row = _get(conn, session.inn, inn)
        return client_json(conn, row, sandbox.today())


@router.post(
    "/{inn}/detach", response_model=ClientOut, responses=problems(400, 401, 403, 404, 415, 422)
)
def detach_client(
    inn: str,
    session: SessionDep,
    sandbox: SandboxDep,
    body: Annotated[DetachIn | None, Body()] = None,
) -> dict[str, Any]:
    """Notify the operator that representation ended (clause 4.3.10); idempotent."""
    require_representative(sandbox, session)
    with sandbox.db.tx() as conn:
        row = _get(conn, session.inn, inn)
        if row["status"] != "detached":
            conn.execute(
                "UPDATE clients SET status='detached', detached_at=?, detach_reason=? "
                "WHERE rep_inn=? AND inn=?",
                (iso_now(sandbox.now()), body.reason if body else None, session.inn, inn),
            )
            row = _get(conn, session.inn, inn)
        return client_json(conn, row, sandbox.today())
