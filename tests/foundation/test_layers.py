"""The layer rules of docs/architecture.md, checked on the source: imports only point down."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sochi_cli"
FRONT_ENDS = ("commands", "tui")
CORE = ("services", "api", "token", "cms", "store", "forms")


def _modules(*areas: str) -> Iterator[Path]:
    for area in areas:
        yield from sorted((PACKAGE / area).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("area", [*FRONT_ENDS, *CORE])
def test_client_layers_never_import_the_sandbox(area: str) -> None:
    offenders = [
        _rel(p)
        for p in _modules(area)
        if p.name != "sandbox_cmd.py"  # `sochi sandbox serve` is the server's own front-end
        and any(m.startswith("sochi_cli.sandbox") for m in _imports(p))
    ]
    assert offenders == []


@pytest.mark.parametrize("area", CORE)
def test_core_layers_never_import_front_ends(area: str) -> None:
    banned = ("sochi_cli.commands", "sochi_cli.tui", "sochi_cli.cli", "typer", "textual")
    offenders = [
        f"{_rel(p)}: {m}"
        for p in _modules(area)
        for m in sorted(_imports(p))
        if m.startswith(banned)
    ]
    assert offenders == []


@pytest.mark.parametrize("area", CORE)
def test_nothing_below_the_front_ends_prints_or_prompts(area: str) -> None:
    offenders = []
    for path in _modules(area):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"print", "input"}
            ):
                offenders.append(f"{_rel(path)}:{node.lineno}: {node.func.id}()")
    assert offenders == []


def test_commands_never_talk_http_or_pkcs11_directly() -> None:
    offenders = [
        f"{_rel(p)}: {m}"
        for p in _modules(*FRONT_ENDS)
        for m in sorted(_imports(p))
        if m.split(".")[0] in {"httpx", "pkcs11"}
    ]
    assert offenders == []


TUI_BANNED = (
    "httpx",
    "pkcs11",
    "sqlite3",
    "asn1crypto",
    "cryptography",
    "sochi_cli.api",
    "sochi_cli.token",
    "sochi_cli.store",
    "sochi_cli.cms",
    "sochi_cli.sandbox",
)


def test_the_tui_talks_to_services_only() -> None:
    """tui/ renders what services return: no HTTP, PKCS#11, SQLite, ASN.1 or crypto of its own,
    and none of the core packages either (type-checking imports included)."""
    offenders = [
        f"{_rel(p)}: {m}"
        for p in _modules("tui")
        for m in sorted(_imports(p))
        if any(m == banned or m.startswith(banned + ".") for banned in TUI_BANNED)
    ]
    assert offenders == []


def test_the_tui_layer_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("if True:\n    from sochi_cli.store.journal import Journal\nimport sqlite3\n")
    found = sorted(_imports(probe))
    assert [m for m in found if any(m.startswith(b) for b in TUI_BANNED)] == [
        "sochi_cli.store.journal",
        "sqlite3",
    ]
