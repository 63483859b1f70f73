"""`--trust` and `--crl`, shared by `sign`, `verify` and `cert`: a module of its own so that
`verify` does not import the signing command's options to get them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

TrustOpt = Annotated[
    list[Path] | None,
    typer.Option("--trust", help="Trusted root/intermediate certificates (PEM/DER); repeatable."),
]
CrlOpt = Annotated[list[Path] | None, typer.Option("--crl", help="CRL file (DER/PEM); repeatable.")]
