"""`/status`, `/tariffs`, `/forms`: what anyone may read without logging in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sochi_cli.sandbox.catalogue import FORMS, FORMS_BY_CODE, form_detail, form_summary
from sochi_cli.sandbox.deps import SandboxDep
from sochi_cli.sandbox.maintenance import (
    WEEKLY_END,
    WEEKLY_START,
    Window,
    current_and_next,
)
from sochi_cli.sandbox.models import FormOut, FormsOut, StatusOut, TariffsOut
from sochi_cli.sandbox.problems import ApiProblem, problems
from sochi_cli.sandbox.util import iso_now

router = APIRouter(tags=["status"])


def _window(window: Window | None) -> dict[str, Any] | None:
    if window is None:
        return None
    return {
        "starts_at": iso_now(window.starts_at),
        "ends_at": iso_now(window.ends_at),
        "kind": window.kind,
        "title": window.title,
    }


@router.get("/status", response_model=StatusOut, responses=problems())
def get_status(sandbox: SandboxDep) -> dict[str, Any]:
    """Server time, maintenance windows and notices; answers during maintenance too."""
    now = sandbox.now()
    announced = sandbox.announced_windows()
    current, upcoming = current_and_next(now, announced)
    with sandbox.db.read() as conn:
        notices = conn.execute(
            "SELECT id, kind, title, body, published_at, starts_at, ends_at FROM notices "
            "ORDER BY seq"
        ).fetchall()
    return {
        "service": "sochi-sandbox",
        "api_version": "1",
        "sandbox": True,
        "server_time": iso_now(now),
        "time_zone": "Asia/Bishkek",
        "maintenance": {
            "active": current is not None,
            "current": _window(current),
            "next": _window(upcoming),
            "weekly": {
                "weekday": "friday",
                "start": WEEKLY_START.strftime("%H:%M"),
                "end": WEEKLY_END.strftime("%H:%M"),
                "time_zone": "Asia/Bishkek",
            },
            "announced": [_window(w) for w in announced if w.ends_at > now],
        },
        "notices": [dict(row) for row in notices],
    }


@router.get("/tariffs", response_model=TariffsOut, responses=problems())
def get_tariffs(sandbox: SandboxDep) -> dict[str, Any]:
    """Per-submission fees of every form, the E-Cloud subscription and renewal."""
    items = [
        {
            "code": f"submission:{form['code']}",
            "title": f"Submission of {form['code']} ({form['title']})",
            "amount": form["fee"],
            "unit": "per_submission",
        }
        for form in FORMS
    ]
    items.append(
        {
            "code": "ecloud_subscription",
            "title": "E-Cloud key store subscription",
            "amount": 50000,
            "unit": "per_month",
        }
    )
    items.append(
        {
            "code": "certificate_renewal",
            "title": "Certificate renewal (one year)",
            "amount": 150000,
            "unit": "per_year",
        }
    )
    return {"currency": "KGS", "items": items}


@router.get("/forms", response_model=FormsOut, responses=problems(), tags=["forms"])
def list_forms(sandbox: SandboxDep) -> dict[str, Any]:
    """The forms catalogue (without schemas)."""
    return {"items": [form_summary(f) for f in FORMS]}


@router.get("/forms/{code}", response_model=FormOut, responses=problems(404), tags=["forms"])
def get_form(code: str, sandbox: SandboxDep) -> dict[str, Any]:
    """One form with its validation schema and totals rules."""
    form = FORMS_BY_CODE.get(code.upper())
    if form is None:
        raise ApiProblem(404, "form_not_found", f"no form {code!r} in the catalogue")
    return form_detail(form)
