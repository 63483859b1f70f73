"""Helpers of the obligations tests: the operator's date, `sochi --json` parsed."""

from __future__ import annotations

import json
from datetime import date

from sochi_cli.timeutil import to_bishkek
from tests.batch.operator import Operator
from tests.support import run_cli


def sandbox_today(op: Operator) -> date:
    """The sandbox's date in Bishkek (its clock starts at a Wednesday noon)."""
    return to_bishkek(op.now).date()


def as_json(*args: str) -> tuple[int, object]:
    """`sochi --json ARGS`: the exit code and the parsed stdout."""
    result = run_cli("--json", *args)
    assert result.stdout, result.stderr
    return result.code, json.loads(result.stdout)
