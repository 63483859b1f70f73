"""sochi's pydantic-free parameter coercion (commands/_coercion.py) gives what Typer gives.

Every parameter of every command is fed the values a user or a script can type; the result
— the value, or the error message — must be the one Typer's own pydantic adapter produces.
"""

from __future__ import annotations

import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from sochi_cli.cli import root_group
from sochi_cli.commands import COMMANDS
from sochi_cli.commands._coercion import _PlainRuntimeParam


def _parameters() -> list[tuple[str, Any, Any]]:
    """(command path, click command, parameter) for every Typer parameter of the CLI."""
    root = root_group()
    found = []

    def walk(command: Any, path: str) -> None:
        for param in command.params:
            found.append((path, command, param))
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, f"{path} {name}")

    for name in COMMANDS:
        root.real(name)
    walk(root, "sochi")
    return found


def _samples(annotation: Any, tmp: Path) -> list[Any]:
    if get_origin(annotation) is list:
        return [[v] for v in _samples(get_args(annotation)[0], tmp)] + ["one", ["a", "b"]]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        values = [str(m.value) for m in annotation]
        return [*values, values[0].upper(), "no-such-choice", ""]
    if annotation in (int, float):
        return ["0", "1", "5", "64", "65", "007", "-3", "1.5", " 2", "x", "", "1e3", 7]
    if annotation is bool:
        return [True, False, "1", "yes", "off", "maybe"]
    if annotation is str:
        return ["text", "", "ünïcode", "--like-an-option"]
    return [str(tmp / "file.txt"), str(tmp / "missing"), str(tmp), "-", "", "relative/p"]


def test_every_parameter_coerces_as_typer_does(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    params = _parameters()
    plain = 0
    for path, command, param in params:
        runtime = param.get_runtime_param()
        if not isinstance(runtime, _PlainRuntimeParam):
            continue
        plain += 1
        typer_param = build_runtime_param(param.type_descriptor)
        ctx = Context(command, info_name=path)
        for value in _samples(param.type_descriptor.annotation, tmp_path):
            outcomes = []
            for coercion in (runtime, typer_param):
                try:
                    outcomes.append(("value", coercion._coerce_value(value, param=param, ctx=ctx)))
                except BadParameter as exc:
                    outcomes.append(("error", exc.format_message()))
            assert outcomes[0] == outcomes[1], (path, param.name, value)
    assert plain > 0.9 * len(params)  # nearly every parameter skips pydantic


def test_a_command_runs_without_importing_pydantic(tmp_path):
    """`sochi verify` (and any command with plain options) builds no pydantic adapter."""
    probe = (
        "import sys\nfrom sochi_cli.main import main\n"
        f"code = main(['--json', 'verify', {str(tmp_path / 'none.xml')!r}, '--at', "
        "'2026-01-01', '--crl', 'a.crl', '--trust', 'b.pem'])\n"
        "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', "
        "'pydantic_core'}), file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stderr.strip().splitlines()[-1] == "2 []"  # usage error: no such file


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["batch", "list", "--limit", "0"], "Invalid value for '--limit' / '-n'"),
        (["sign", "--progress", "loud", "x.xml"], "Invalid value for '--progress'"),
    ],
)
def test_refused_values_keep_typers_message(args, message):
    from tests.support import run_cli

    result = run_cli(*args)
    assert result.code == 2 and message in result.stderr, result.stderr
