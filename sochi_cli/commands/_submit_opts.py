"""Options `sochi submit` and `sochi batch resume` share (how a batch runs)."""

from __future__ import annotations

from typing import Annotated

import typer

ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        min=1,
        max=64,
        help="Reports sent at once, 1–64 (default: the profile's concurrency, 8).",
    ),
]
WaitOpt = Annotated[
    bool, typer.Option("--wait/--no-wait", help="Follow agency verdicts until final.")
]
WaitTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--wait-timeout",
        min=1,
        metavar="SECONDS",
        help="Stop following verdicts after this long; the batch is then 'pending verdicts' "
        "and `sochi batch resume ID` follows them up.",
    ),
]
NoWaitMaintenanceOpt = Annotated[
    bool,
    typer.Option(
        "--no-wait-maintenance",
        help="During a maintenance window stop (exit 7, nothing sent) instead of waiting "
        "for its end.",
    ),
]


__all__ = ["ConcurrencyOpt", "NoWaitMaintenanceOpt", "WaitOpt", "WaitTimeoutOpt"]
