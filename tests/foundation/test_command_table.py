"""`COMMANDS` (what `sochi --help` lists without importing modules) matches the modules."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys

import typer

from sochi_cli.commands import COMMANDS
from tests.support import run_cli


def _registered(module_name: str) -> dict[str, str]:
    module = importlib.import_module(f"sochi_cli.commands.{module_name}")
    holder = typer.Typer()
    holder.callback()(lambda: None)
    module.register(holder)
    group = typer.main.get_command(holder)
    assert isinstance(group, typer.core.TyperGroup)
    return {name: cmd.get_short_help_str(limit=300) for name, cmd in group.commands.items()}


def test_every_listed_command_is_registered_by_its_module_with_the_same_help() -> None:
    for name, entry in COMMANDS.items():
        registered = _registered(entry.module)
        assert name in registered, f"{entry.module} does not register '{name}'"
        assert registered[name] == entry.help, f"help of '{name}' differs from COMMANDS"


def test_every_registered_command_is_listed() -> None:
    for module in {entry.module for entry in COMMANDS.values()}:
        for name in _registered(module):
            assert COMMANDS.get(name) is not None and COMMANDS[name].module == module, (
                f"{module} registers '{name}' but COMMANDS does not list it"
            )


def test_running_a_command_imports_only_its_own_module() -> None:
    probe = (
        "import sys\n"
        "from sochi_cli.main import main\n"
        "main(['config', 'path'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('sochi_cli.commands.')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    loaded = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    command_modules = {m for m in loaded if not m.split(".")[-1].startswith("_")}
    assert command_modules == {"sochi_cli.commands.config_cmd"}


def test_a_mistyped_command_gets_a_suggestion() -> None:
    result = run_cli("sumbit")
    assert result.code == 2
    assert "Did you mean 'submit'?" in result.stderr
