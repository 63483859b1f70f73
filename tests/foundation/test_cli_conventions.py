"""CLI conventions every command shares: global options anywhere, one-line errors, exit codes."""

from __future__ import annotations

import json

from sochi_cli.cli import hoist_global_options
from sochi_cli.errors import ExitCode
from tests.support import run_cli, run_sochi


def test_global_options_work_after_the_subcommand() -> None:
    assert hoist_global_options(["config", "list", "--json", "--profile", "production"]) == [
        "--json",
        "--profile",
        "production",
        "config",
        "list",
    ]
    assert hoist_global_options(["config", "get", "--profile=x", "k"]) == [
        "--profile=x",
        "config",
        "get",
        "k",
    ]
    # after `--` nothing is moved
    assert hoist_global_options(["sign", "--", "--json"]) == ["sign", "--", "--json"]


def test_json_flag_anywhere_gives_json() -> None:
    result = run_cli("config", "list", "--json")
    assert result.code == 0
    assert json.loads(result.stdout)["profile"] == "sandbox"


def test_unknown_command_is_a_usage_error_on_one_line() -> None:
    result = run_cli("frobnicate")
    assert result.code == ExitCode.USAGE
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "frobnicate" in lines[0]


def test_unknown_option_is_a_usage_error() -> None:
    result = run_cli("config", "list", "--frob")
    assert result.code == ExitCode.USAGE
    assert "--frob" in result.stderr
    assert "Traceback" not in result.stderr


def test_failing_command_with_json_prints_an_error_object() -> None:
    result = run_cli("--json", "config", "get", "no_such_key")
    assert result.code == ExitCode.USAGE
    payload = json.loads(result.stdout)
    assert payload["error"]["code"] == "usage"
    assert payload["error"]["exit_code"] == ExitCode.USAGE
    assert "no_such_key" in payload["error"]["message"]
    assert result.stderr.count("\n") == 1


def test_no_args_shows_help_and_points_at_the_tui() -> None:
    result = run_sochi()
    assert result.code == 0 and result.stderr == ""
    assert "USAGE" in result.stdout and "  config:" in result.stdout
    assert result.stdout.count("sochi tui") == 1


def test_no_color_when_not_a_tty() -> None:
    result = run_sochi("config", "list")
    assert result.code == 0
    assert "\x1b[" not in result.stdout
    assert "api_url\thttp://127.0.0.1:8788/api/v1\tbuiltin" in result.stdout
