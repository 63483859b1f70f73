"""Fast start: `sochi --version` and `--help` must not import the heavy stacks."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

HEAVY = ("textual", "fastapi", "uvicorn", "httpx", "cryptography", "pkcs11", "asn1crypto")


def _imported_modules(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sochi_cli", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=True,
    )
    return {m.group(1).strip() for m in re.finditer(r"\|\s*(\S+)\s*$", proc.stderr, re.M)}


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("config", "--help")])
def test_startup_does_not_import_heavy_modules(args: tuple[str, ...]) -> None:
    modules = _imported_modules(*args)
    assert "sochi_cli" in modules  # the probe itself works
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == [], f"`sochi {' '.join(args)}` imports {heavy}"


def test_version_answers_without_building_the_cli() -> None:
    modules = _imported_modules("--version")
    assert not {"typer", "click", "rich"} & {m.split(".")[0] for m in modules}


def test_version_prints_the_package_version() -> None:
    from sochi_cli import __version__

    proc = subprocess.run(
        [sys.executable, "-m", "sochi_cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout == f"sochi {__version__}\n"
