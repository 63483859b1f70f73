"""The sandbox operator: a real FastAPI + SQLite server implementing the operator API contract.

Never imported by the client layers; start it with `sochi sandbox serve` or `create_app()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app(data_dir: Any, **kwargs: Any) -> FastAPI:
    """Build the ASGI app over `data_dir` (see `sochi_cli.sandbox.app.create_app`)."""
    from sochi_cli.sandbox.app import create_app as _create_app

    return _create_app(data_dir, **kwargs)


__all__ = ["create_app"]
