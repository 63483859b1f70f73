"""`sochi demo` — the full job end to end against a throwaway sandbox (what `make demo` runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._output import ForceOpt, refuse_existing


def register(app: typer.Typer) -> None:
    app.command(
        "demo",
        epilog="Examples:\n\n  sochi demo\n\n  sochi demo --out demo-archive.zip\n\n"
        "Exit codes: 0 every outcome as expected (including the two expected refusals and the "
        "agency's rejection); "
        "1 the demo did not go as expected; 7 the sandbox could not start.",
    )(demo)


def demo(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option("--out", help="Keep the exported archive (ZIP) here.")
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Start a sandbox, file 7 reports of 6 clients with --wait, verify receipts, export, stop.

    Runs in temporary directories: your profiles, journal and cache are not touched.
    """
    from sochi_cli.errors import ExitCode
    from sochi_cli.services.demo import run_demo
    from sochi_cli.store.files import probe_writable

    app = app_context(ctx)
    if out is not None and not force:
        refuse_existing(out)
    if out is not None:  # before a minute of demo, not after it
        probe_writable(out, "demo archive")
    result = run_demo(say=app.out.info, keep=out)

    def render() -> None:
        summary = result.summary
        rows = [
            (
                item.get("seq"),
                item["client_inn"],
                item["form"],
                item["period"],
                item["state"],
                item.get("submission_id"),
                item.get("error_code"),
            )
            for item in summary.get("items", [])
        ]
        app.out.table(
            rows,
            ["#", "INN", "FORM", "PERIOD", "STATE", "SUBMISSION", "CODE"],
            title="Batch",
            under={"CODE"},
        )
        before = ", ".join(f"{k} {v}" for k, v in sorted(result.obligations_before.items()))
        after = ", ".join(f"{k} {v}" for k, v in sorted(result.obligations_after.items()))
        app.out.info(f"STI-077 of last month, before: {before}; after: {after}")
        for refusal in result.expected_refusals:
            app.out.info(f"expected refusal: {refusal['client']}: {refusal['error']}")
        app.out.info(
            f"receipts verified (clause 8): {len(result.verified_receipts)}; "
            f"archive: {result.archive.get('files')} files"
            + (f", kept at {result.archive['kept']}" if result.archive.get("kept") else "")
        )
        for problem in result.problems:
            app.out.error(problem)
        app.out.info(f"demo {'passed' if result.ok else 'FAILED'} in {result.seconds:.1f}s")

    app.out.result(result.to_json(), render)
    if not result.ok:
        raise typer.Exit(int(ExitCode.ERROR))


__all__ = ["register"]
