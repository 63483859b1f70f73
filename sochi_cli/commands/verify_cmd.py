"""`sochi verify FILE` — the clause-8 dispute check as a numbered step report (or JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._trust_opts import CrlOpt, TrustOpt


def register(app: typer.Typer) -> None:
    app.command(
        "verify",
        epilog="Examples:\n\n  sochi verify report.xml\n\n"
        "  sochi verify report.xml --signature report.xml.p7s --crl operator.crl "
        "--trust main-ca.pem --at 2026-03-01T12:00\n\n"
        "  sochi verify report.xml --json > evidence.json",
    )(verify)


def verify(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The signed document.")],
    signature: Annotated[
        Path | None,
        typer.Option("--signature", "-s", help="Detached signature (default: FILE.p7s)."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Verification time (ISO; Bishkek if no offset). Default: now."),
    ] = None,
    crl: CrlOpt = None,
    trust: TrustOpt = None,
) -> None:
    """Run clause 8 (8.2.1–8.2.7, 8.3, 8.4): identify, verify, time, chain, validity, CRL.

    Exit 0 only when the signature stands; 5 when it does not or cannot be decided.
    """
    from sochi_cli.errors import ExitCode, UsageError
    from sochi_cli.services.signing import trust_material
    from sochi_cli.services.verify import render_text, verify_dispute
    from sochi_cli.store.files import printable, read_input
    from sochi_cli.timeutil import parse_instant

    app = app_context(ctx)
    sig_path = signature or file.with_name(file.name + ".p7s")
    for path, what, hint in (
        (file, "document", "give the signed document"),
        (sig_path, "signature file", "pass --signature SIG"),
    ):
        if path.is_dir():
            raise UsageError(f"{printable(path)}: a folder, not a {what}", hint=hint)
        if not path.is_file():
            raise UsageError(f"{printable(path)}: no such {what}", hint=hint)
    try:
        moment = parse_instant(at) if at else None
    except ValueError:
        raise UsageError(f"--at {at!r}: not an ISO date or date-time") from None
    der = read_input(sig_path, "signature file")
    material = trust_material(app.profile, trust_files=trust or [], crl_files=crl or [])
    report = verify_dispute(
        file,
        der,
        trust_roots=material.roots,
        crls=material.crls,
        extra_certificates=material.intermediates,
        at=moment,
        document_name=str(file),
        signature_name=str(sig_path),
    )

    def render() -> None:
        for line in render_text(report):
            app.out.line(line)

    app.out.result(report.to_json(), render)
    if not report.stands:
        raise typer.Exit(int(ExitCode.AUTH))
