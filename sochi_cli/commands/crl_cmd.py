"""`sochi crl fetch|show` — the operator's certificate revocation list, cached with next-update."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sochi_cli.commands._context import app_context

crl_app = typer.Typer(
    help="Fetch and show the certificate revocation list (CRL, clauses 8.2.7 and 8.3).",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi crl fetch\n\n  sochi crl show\n\n"
    "  sochi crl show operator.crl --json",
)


def register(app: typer.Typer) -> None:
    app.add_typer(crl_app, name="crl")


def _render(app: Any, summary: dict[str, Any]) -> None:
    from datetime import datetime

    from sochi_cli.timeutil import format_local

    def local(value: str | None) -> str:
        return format_local(datetime.fromisoformat(value)) if value else "-"

    app.out.fields(
        [
            ("issuer", summary["issuer"]),
            ("this update", local(summary["this_update"])),
            (
                "next update",
                local(summary["next_update"]) + ("  (STALE)" if summary["stale"] else ""),
            ),
            ("revoked", len(summary["revoked"])),
        ]
    )
    if summary["revoked"]:
        app.out.table(
            [(r["serial"], local(r["revoked_at"]), r["reason"] or "") for r in summary["revoked"]],
            ["SERIAL", "REVOKED", "REASON"],
        )


@crl_app.command("fetch")
def crl_fetch(ctx: typer.Context) -> None:
    """Download the operator's CRL and CA chain (GET /pki/crl, /pki/chain) into the cache."""
    from sochi_cli.errors import SochiError
    from sochi_cli.services import certificates as certs

    app = app_context(ctx)
    api_url = str(app.config.get("api_url"))
    timeout = float(app.config.get("timeout"))
    crl = certs.fetch_crl(app.profile, api_url, timeout=timeout)
    try:
        chain = certs.fetch_chain(app.profile, api_url, timeout=timeout)
    except SochiError as exc:
        app.out.warn(f"CA chain not refreshed: {exc.one_line()}")
        chain = certs.cached_chain(app.profile)
    summary = certs.crl_summary(crl)
    summary["cached_at"] = str(certs.pki_cache_dir(app.profile))
    summary["chain"] = [c.subject.rfc4514_string() for c in chain]
    app.out.result(summary, lambda: _render(app, summary))


@crl_app.command("show")
def crl_show(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="CRL file (DER/PEM); default: the cached one.")
    ] = None,
) -> None:
    """Show a CRL: issuer, this/next update (stale or not) and the revoked serials."""
    from sochi_cli.errors import NotFound
    from sochi_cli.services import certificates as certs

    app = app_context(ctx)
    if file is not None:
        crl = certs.load_crl_files([file])[0]
    else:
        cached = certs.cached_crl(app.profile)
        if cached is None:
            raise NotFound("no CRL cached for this profile", hint="run `sochi crl fetch`")
        crl = cached
    summary = certs.crl_summary(crl)
    app.out.result(summary, lambda: _render(app, summary))
