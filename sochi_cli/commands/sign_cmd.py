"""`sochi sign FILE...` — detached CAdES-BES signatures (`FILE.p7s`): token, E-Cloud or key file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._output import ForceOpt
from sochi_cli.commands._progress import ProgressMode, ProgressOpt, progress_display
from sochi_cli.commands._signer_opts import SignerChoice, signer_parameters
from sochi_cli.commands._trust_opts import CrlOpt, TrustOpt
from sochi_cli.names import name_text


def register(app: typer.Typer) -> None:
    app.command(
        "sign",
        epilog="Examples:\n\n  sochi sign report.xml\n\n"
        "  sochi sign --signer pkcs11 --token MyToken --pin-file pin.txt *.xml\n\n"
        "  sochi sign --signer file --key-file dev.p12 --out-dir signed/ a.xml b.xml\n\n"
        "An existing FILE.p7s is kept unless --force: nothing is signed then.\n\n"
        "Exit codes: 0 every file signed; 2 missing file, existing .p7s without --force, "
        "or a secret needed without a terminal; 5 key, PIN or certificate refused "
        "(clause 1.5); 7 E-Cloud unreachable.",
    )(sign)


@signer_parameters
def sign(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Files to sign.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="Write FILE.p7s here (default: beside FILE).")
    ] = None,
    force: ForceOpt = False,
    progress: ProgressOpt = ProgressMode.AUTO,
    chosen: SignerChoice = SignerChoice(),
    trust: TrustOpt = None,
    crl: CrlOpt = None,
) -> None:
    """Sign each FILE into FILE.p7s (detached CMS, CAdES-BES), all in one token session.

    Refuses a certificate that is expired, not yet valid, revoked, not for signing or not
    chained to a trusted root (clause 1.5). A failure leaves no .p7s behind.
    """
    from sochi_cli.services.signers import KEY_FILE_WARNING, build_signer
    from sochi_cli.services.signing import check_inputs, sign_files, trust_material

    app = app_context(ctx)
    check_inputs(files, out_dir)
    options = chosen.options(app)
    material = trust_material(
        app.profile,
        trust_files=trust or [],
        crl_files=crl or [],
        api_url=app.config.get("api_url"),
        fetch_missing=True,
        refresh=True,  # a certificate revoked since the last `crl fetch` is refused too
    )
    key_signer = build_signer(options, app.config)
    said: list[str] = []
    if key_signer.kind == "file":
        said.append(KEY_FILE_WARNING)
        app.out.warn(KEY_FILE_WARNING)
    with progress_display(app, progress, command="sign") as report:
        result = sign_files(
            files,
            key_signer,
            trust=material,
            out_dir=out_dir,
            on_warning=app.out.warn,
            overwrite=force,
            progress=report,
            profile=app.profile,
        )
    data = {
        "signer": result.signer_kind,
        "certificate": {
            "subject": name_text(result.certificate.subject),
            "serial": format(result.certificate.serial_number, "x"),
        },
        "files": [
            {"file": str(f.source), "signature": str(f.signature), "bytes": f.bytes}
            for f in result.files
        ],
        "warnings": [*said, *result.warnings],
    }

    def render() -> None:
        for f in result.files:
            app.out.line(str(f.signature))
        app.out.info(
            f"signed {len(result.files)} file(s) as {data['certificate']['subject']}"  # type: ignore[index]
        )

    app.out.result(data, render)
