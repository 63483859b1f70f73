"""`sochi config`: profiles, precedence, and never damaging a user's config file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from sochi_cli.errors import ExitCode
from tests.support import run_cli


def _config_file() -> Path:
    return Path(os.environ["SOCHI_CONFIG_DIR"]) / "config.toml"


def _write(text: str) -> Path:
    path = _config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _settings(*args: str) -> dict[str, dict[str, object]]:
    result = run_cli("--json", *args, "config", "list")
    assert result.code == 0, result.stderr
    return {s["key"]: s for s in json.loads(result.stdout)["settings"]}


def test_default_profile_is_the_embedded_sandbox_on_loopback() -> None:
    settings = _settings()
    assert settings["api_url"]["value"] == "http://127.0.0.1:8788/api/v1"
    assert settings["api_url"]["source"] == "builtin"


def test_production_profile_points_at_the_operator_portal() -> None:
    settings = _settings("--profile", "production")
    assert settings["api_url"]["value"] == "https://sochi.dostek.kg/api/v1"


def test_set_then_get_round_trips_and_creates_a_private_file() -> None:
    assert run_cli("config", "set", "timeout", "12.5").code == 0
    result = run_cli("config", "get", "timeout")
    assert result.stdout.strip() == "12.5"
    mode = stat.S_IMODE(_config_file().stat().st_mode)
    assert mode == 0o600


def test_set_keeps_the_users_comments_and_other_keys() -> None:
    path = _write("# my firm\n[profiles.sandbox]\n# keep me\nconcurrency = 4\n")
    assert run_cli("config", "set", "timeout", "9").code == 0
    text = path.read_text()
    assert "# my firm" in text and "# keep me" in text and "concurrency = 4" in text
    assert "timeout = 9.0" in text


def test_set_with_profile_creates_a_new_profile() -> None:
    result = run_cli("--profile", "firm", "config", "set", "api_url", "https://api.example.kg/v1")
    assert result.code == 0, result.stderr
    assert _settings("--profile", "firm")["api_url"]["value"] == "https://api.example.kg/v1"
    listed = json.loads(run_cli("--json", "config", "profiles").stdout)
    assert {p["name"] for p in listed} == {"firm", "production", "sandbox"}


def test_explicit_profile_key_addresses_another_profile() -> None:
    assert run_cli("config", "set", "profiles.production.timeout", "5").code == 0
    assert _settings("--profile", "production")["timeout"]["value"] == 5.0
    assert _settings()["timeout"]["source"] == "default"


def test_unset_restores_the_builtin_value() -> None:
    run_cli("config", "set", "api_url", "http://127.0.0.1:9999/api/v1")
    assert _settings()["api_url"]["source"] == "file"
    assert run_cli("config", "unset", "api_url").code == 0
    assert _settings()["api_url"]["source"] == "builtin"


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli("config", "set", "timeout", "9")
    monkeypatch.setenv("SOCHI_TIMEOUT", "3")
    assert _settings()["timeout"] == {"key": "timeout", "value": 3.0, "source": "env"}


def test_sochi_profile_env_selects_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCHI_PROFILE", "production")
    assert json.loads(run_cli("--json", "config", "list").stdout)["profile"] == "production"


def test_default_profile_from_the_file() -> None:
    _write('default_profile = "production"\n')
    assert json.loads(run_cli("--json", "config", "list").stdout)["profile"] == "production"


def test_plain_http_to_a_remote_host_is_refused() -> None:
    result = run_cli("config", "set", "api_url", "http://sochi.dostek.kg/api/v1")
    assert result.code == ExitCode.USAGE
    assert "https" in result.stderr
    assert not _config_file().exists()


def test_unknown_profile_is_a_config_error() -> None:
    result = run_cli("--profile", "nope", "config", "list")
    assert result.code == ExitCode.CONFIG
    assert result.stderr.startswith("error: unknown profile 'nope'")
    assert result.stderr.count("\n") == 1


def test_unknown_key_is_a_usage_error() -> None:
    result = run_cli("config", "set", "colour", "blue")
    assert result.code == ExitCode.USAGE
    assert "unknown config key 'colour'" in result.stderr
    assert not _config_file().exists()


def test_malformed_toml_names_file_and_line_and_is_never_rewritten() -> None:
    original = "[profiles.sandbox]\ntimeout = 5\nconcurrency = = 3\n"
    path = _write(original)
    for args in (
        ("config", "list"),
        ("config", "set", "timeout", "7"),
        ("config", "unset", "timeout"),
    ):
        result = run_cli(*args)
        assert result.code == ExitCode.CONFIG, args
        assert f"{path}:3" in result.stderr
        assert "Traceback" not in result.stderr
        assert path.read_text() == original


def test_wrong_type_in_file_names_the_line_and_key() -> None:
    path = _write('[profiles.sandbox]\nsigner = "usb"\n')
    result = run_cli("config", "list")
    assert result.code == ExitCode.CONFIG
    assert f"{path}:2" in result.stderr and "profiles.sandbox.signer" in result.stderr


def test_unreadable_config_is_reported_not_replaced() -> None:
    path = _config_file()
    path.mkdir(parents=True)  # a directory where the file should be: unreadable as a file
    result = run_cli("config", "set", "timeout", "7")
    assert result.code == ExitCode.CONFIG
    assert "cannot read" in result.stderr
    assert path.is_dir()


def test_non_utf8_config_is_reported() -> None:
    path = _config_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"timeout = \xff\n")
    result = run_cli("config", "list")
    assert result.code == ExitCode.CONFIG
    assert "UTF-8" in result.stderr


def test_unknown_key_in_file_warns_but_works() -> None:
    path = _write('[profiles.sandbox]\napi_ulr = "x"\n')
    result = run_cli("config", "list")
    assert result.code == 0
    assert f"warning: {path}:2: unknown key 'profiles.sandbox.api_ulr'" in result.stderr


def test_config_path_works_even_with_a_broken_file() -> None:
    path = _write("[[[\n")
    result = run_cli("config", "path")
    assert result.code == 0
    assert result.stdout.strip() == str(path)


# -- every key's type, checked when the file is read (QA R2) --------------------------------
@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ("api_url = 42", "profiles.sandbox.api_url", "expected a string, not an integer"),
        ('timeout = "30"', "profiles.sandbox.timeout", "expected a number, not a string"),
        ("timeout = true", "profiles.sandbox.timeout", "expected a number, not a boolean"),
        ("concurrency = 1.5", "profiles.sandbox.concurrency", "expected a whole number"),
        ('key_file = ""', "profiles.sandbox.key_file", "expected a file's path"),
        ("ca_bundle = [1]", "profiles.sandbox.ca_bundle", "expected a file's path"),
        ("signer = 3", "profiles.sandbox.signer", "expected a string, not an integer"),
        ("inn = 2023-01-01", "profiles.sandbox.inn", "expected a string, not a date/time"),
    ],
)
def test_a_value_of_the_wrong_type_stops_every_command_with_its_line(
    line: str, key: str, expected: str
) -> None:
    path = _write(f"[profiles.sandbox]\n{line}\n")
    for args in (("config", "list"), ("config", "get", "timeout"), ("whoami",)):
        result = run_cli(*args)
        assert result.code == ExitCode.CONFIG, (args, result.stderr)
        assert result.stderr.startswith(f"error: {path}:2: {key}: {expected}"), result.stderr
        assert result.stderr.count("\n") == 1 and "internal error" not in result.stderr
        assert f"`sochi config unset {key}`" in result.stderr


def test_a_bad_global_value_is_named_too() -> None:
    path = _write("default_profile = 5\n")
    result = run_cli("--json", "config", "list")
    assert result.code == ExitCode.CONFIG
    error = json.loads(result.stdout)["error"]
    assert error["message"] == f"{path}:1: default_profile: expected a string, not an integer"


def test_config_set_and_unset_repair_a_bad_value_and_keep_the_rest() -> None:
    path = _write("# mine\n[profiles.sandbox]\napi_url = 42\ntimeout = 5\n")
    fixed = run_cli("config", "set", "api_url", "http://127.0.0.1:9/api/v1")
    assert fixed.code == 0, fixed.stderr
    assert f"warning: {path}:3: profiles.sandbox.api_url: expected a string" in fixed.stderr
    assert path.read_text() == (
        '# mine\n[profiles.sandbox]\napi_url = "http://127.0.0.1:9/api/v1"\ntimeout = 5\n'
    )
    assert _settings()["api_url"]["value"] == "http://127.0.0.1:9/api/v1"
    _write("[profiles.sandbox]\nconcurrency = 1.5\n")
    assert run_cli("config", "unset", "concurrency").code == 0
    assert _settings()["concurrency"]["source"] == "default"


# -- the default profile (QA R3) -------------------------------------------------------------
def test_config_set_default_profile_refuses_a_profile_that_does_not_exist() -> None:
    result = run_cli("config", "set", "default_profile", "nope")
    assert result.code == ExitCode.USAGE
    assert result.stderr.startswith("error: default_profile: unknown profile 'nope' — ")
    assert "sochi config set profiles.nope.api_url URL" in result.stderr
    assert not _config_file().exists()
    assert run_cli("config", "set", "profiles.firm.api_url", "https://a.example.kg/v1").code == 0
    assert run_cli("config", "set", "default_profile", "firm").code == 0
    assert json.loads(run_cli("--json", "config", "list").stdout)["profile"] == "firm"


def test_a_default_profile_that_names_no_profile_can_be_repaired_by_config() -> None:
    path = _write('default_profile = "nope"\n[profiles.sandbox]\ntimeout = 7\n')
    refused = run_cli("whoami")
    assert refused.code == ExitCode.CONFIG
    assert refused.stderr.startswith(f"error: {path}:1: default_profile 'nope' names no profile")
    warning = f"warning: {path}:1: default_profile 'nope' names no profile; other commands refuse"
    for args in (("config", "list"), ("config", "get", "default_profile"), ("config", "profiles")):
        shown = run_cli(*args)
        assert shown.code == 0, (args, shown.stderr)
        assert shown.stderr.startswith(warning), (args, shown.stderr)
    assert run_cli("config", "get", "default_profile").stdout == "nope\n"
    assert run_cli("config", "set", "default_profile", "sandbox").code == 0
    assert run_cli("whoami").code == ExitCode.AUTH  # a profile again: not logged in
    _write('default_profile = "nope"\n')
    unset = run_cli("config", "unset", "default_profile")
    assert unset.code == 0 and path.read_text() == ""


# -- SOCHI_LOG_FILE (QA R2) ------------------------------------------------------------------
@pytest.mark.parametrize("where", ["missing", "folder"])
def test_a_log_file_that_cannot_be_written_is_one_config_line(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path if where == "folder" else Path("/proc/nope/sochi.log")
    reason = "it is a folder" if where == "folder" else "no such file or directory"
    monkeypatch.setenv("SOCHI_LOG_FILE", str(target))
    result = run_cli("config", "list")
    assert result.code == ExitCode.CONFIG
    assert result.stderr == (
        f"error: SOCHI_LOG_FILE={target}: cannot write the debug log there: {reason} — "
        "point SOCHI_LOG_FILE at a file in a writable folder, or unset it\n"
    )
