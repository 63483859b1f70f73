"""`sochi crl fetch|show` — the operator's certificate revocation list, cached with next-update."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._output import SummaryOpt

crl_app = typer.Typer(
    help="Fetch and show the certificate revocation list (CRL, clauses 8.2.7 and 8.3).",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi crl fetch\n\n  sochi crl show\n\n"
    "  sochi crl show operator.crl --json",
)


def register(app: typer.Typer) -> None:
    app.add_typer(crl_app, name="crl")


def _instant(value: str | None) -> Any:
    from sochi_cli.timeutil import parse_instant

    return parse_instant(value) if value else None


def _pairs(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("issuer", summary["issuer"]),
        ("this update", _instant(summary["this_update"])),
        ("next update", _instant(summary["next_update"])),
        ("stale", summary["stale"]),
        ("revoked", len(summary["revoked"])),
    ]


def _render_many(app: Any, summaries: list[dict[str, Any]], *, only_summary: bool) -> None:
    """Each CRL's facts and revoked serials on a terminal. In a pipe one record type: the
    revoked serials of every CRL (issuer first), or the facts when none is revoked or with
    --summary."""
    if app.out.stdout_tty or only_summary:
        for index, summary in enumerate(summaries):
            if index:
                app.out.line("")
            rows = [
                (r["serial"], _instant(r["revoked_at"]), r["reason"] or "")
                for r in summary["revoked"]
            ]
            app.out.record(
                _pairs(summary),
                rows=rows or None,
                headers=["SERIAL", "REVOKED", "REASON"],
                summary=only_summary,
            )
        return
    every = [
        (s["issuer"], r["serial"], _instant(r["revoked_at"]), r["reason"] or "")
        for s in summaries
        for r in s["revoked"]
    ]
    if every:
        app.out.table(every, ["ISSUER", "SERIAL", "REVOKED", "REASON"])
        return
    for summary in summaries:
        app.out.fields(_pairs(summary))


@crl_app.command("fetch")
def crl_fetch(ctx: typer.Context) -> None:
    """Download the CA chain and the CRL of every CA in it (GET /pki/chain, /pki/crl…).

    The operator CA's CRL comes first; the Main CA's (and any other CA's) follows, so that
    `sign` and `verify` check every certificate of the chain (clause 8.2.7).
    """
    from sochi_cli.names import name_text
    from sochi_cli.services import certificates as certs

    app = app_context(ctx)
    api_url = str(app.config.get("api_url"))
    timeout = float(app.config.get("timeout"))
    fetched = certs.fetch_pki(app.profile, api_url, timeout=timeout)
    for warning in fetched.warnings:
        app.out.warn(warning)
    summaries = [certs.crl_summary(crl) | {"source": source} for crl, source in fetched.crls]
    # the operator CA's CRL stays at the top level (the fields scripts already read)
    summary = dict(summaries[0])
    summary["cached_at"] = str(certs.pki_cache_dir(app.profile))
    summary["chain"] = [name_text(c.subject) for c in fetched.chain]
    summary["crls"] = summaries
    summary["warnings"] = fetched.warnings
    app.out.result(summary, lambda: _render_many(app, summaries, only_summary=True))


@crl_app.command("show")
def crl_show(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="CRL file (DER/PEM); default: the cached one.")
    ] = None,
    summary_only: SummaryOpt = False,
) -> None:
    """Show a CRL (or every cached one): issuer, this/next update, stale or not, revoked serials."""
    from sochi_cli.errors import NotFound
    from sochi_cli.services import certificates as certs

    app = app_context(ctx)
    if file is not None:
        crls = certs.load_crl_files([file])
    else:
        crls = certs.cached_crls(app.profile)
        if not crls:
            raise NotFound("no CRL cached for this profile", hint="run `sochi crl fetch`")
    summaries = [certs.crl_summary(crl) for crl in crls]
    summary = dict(summaries[0])
    if file is None:
        summary["crls"] = summaries  # every cached CRL; the operator CA's is the top level
    app.out.result(summary, lambda: _render_many(app, summaries, only_summary=summary_only))
