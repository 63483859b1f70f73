"""The FastAPI application factory of the sandbox operator."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from sochi_cli.sandbox.clock import SandboxClock
from sochi_cli.sandbox.middleware import API_PREFIX, GateMiddleware
from sochi_cli.sandbox.problems import Problem, install_handlers
from sochi_cli.sandbox.state import Sandbox

_log = logging.getLogger("sochi.sandbox")
TICK_SECONDS = 0.2


def create_app(
    data_dir: Path | str,
    *,
    clock: SandboxClock | None = None,
    seed: str | None = None,
    bulk_clients: int | None = None,
    now: datetime | None = None,
    history: bool = False,
) -> FastAPI:
    """An app over `data_dir` (created if needed). `seed="demo"` seeds an empty database.

    `clock` lets tests drive time; `now` starts the server clock at that instant; `history`
    adds the demo seed's filing history (`sochi sandbox serve --seed demo` does).
    """
    from sochi_cli.sandbox.routes import (
        account,
        auth,
        clients,
        controls,
        csc,
        feed,
        pki,
        replies,
        status,
        submissions,
    )

    sandbox = Sandbox(Path(data_dir), clock)
    if now is not None:
        sandbox.clock.set(now)
    if seed == "demo":
        with sandbox.db.read() as conn:
            empty = conn.execute("SELECT COUNT(*) FROM accounts").fetchone()[0] == 0
        if empty:
            from sochi_cli.sandbox.seed import DEFAULT_BULK_CLIENTS, seed_demo

            seed_demo(
                sandbox,
                bulk_clients=DEFAULT_BULK_CLIENTS if bulk_clients is None else bulk_clients,
                history=history,
            )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def ticker() -> None:
            # ends when the server begins to stop: no tick is started on a closing executor
            while not sandbox.stopping.is_set():
                await asyncio.sleep(TICK_SECONDS)
                if sandbox.stopping.is_set():
                    break
                try:
                    await asyncio.to_thread(sandbox.tick)
                except Exception:  # keep ticking; a failure here must not stop the server
                    _log.exception("sandbox background tick failed")

        task = asyncio.create_task(ticker())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            sandbox.close()

    app = FastAPI(
        title="СОчИ operator API (sandbox)",
        version="1",
        description="The operator API contract v1 (docs/api.md), served by the sandbox operator.",
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    install_handlers(app)
    for module in (status, auth, account, clients, submissions, feed, replies, pki, csc, controls):
        app.include_router(module.router, prefix=API_PREFIX)
    app.add_middleware(GateMiddleware, sandbox=sandbox)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.setdefault(
                "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            )
            for name, sub in (
                Problem.model_json_schema(ref_template="#/components/schemas/{model}")
                .get("$defs", {})
                .items()
            ):
                components.setdefault(name, sub)
            components["Problem"].pop("$defs", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


__all__ = ["create_app"]
