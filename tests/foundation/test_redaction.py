"""Secrets never reach logs: registered values and known secret-bearing patterns are masked."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from sochi_cli.commands._prompts import read_secret, read_secret_file
from sochi_cli.errors import UsageError
from sochi_cli.logs import MASK, redact, register_secret, setup_logging


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi.abc.def"),
        ('{"access_token": "tok-123", "x": 1}', "tok-123"),
        ("refresh_token=rt-999&a=b", "rt-999"),
        ("PIN: 87654321", "87654321"),
        ('{"PIN": "4321", "OTP": "777111"}', "777111"),
    ],
)
def test_known_patterns_are_masked(line: str, secret: str) -> None:
    masked = redact(line)
    assert secret not in masked
    assert MASK in masked


def test_registered_secret_is_masked_anywhere() -> None:
    register_secret("s3cr3t-pin-value")
    assert redact("token login failed for s3cr3t-pin-value!") == "token login failed for ***!"


def test_short_secret_is_masked_as_a_word_not_inside_identifiers() -> None:
    register_secret("1234")
    line = "pin 1234 refused for 00101202012345, digest ab1234cd"
    assert redact(line) == "pin *** refused for 00101202012345, digest ab1234cd"


def test_log_file_is_private_and_redacted(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "sochi.log"
    setup_logging(verbose=False, log_file=log_file)
    register_secret("99887766")
    logging.getLogger("sochi_cli.test").warning(
        "login with pin 99887766, Authorization: Bearer abc"
    )
    for handler in logging.getLogger("sochi_cli").handlers:
        handler.flush()
    text = log_file.read_text()
    assert "99887766" not in text and "abc" not in text
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_secret_without_a_tty_fails_naming_env_and_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(UsageError) as err:
        read_secret(what="PIN", env="SOCHI_PIN", file_flag="--pin-file")
    assert "SOCHI_PIN" in err.value.one_line() and "--pin-file" in err.value.one_line()


def test_secret_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCHI_PIN", "1234")
    assert read_secret(what="PIN", env="SOCHI_PIN", file_flag="--pin-file") == "1234"


def test_pin_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    pin = tmp_path / "pin"
    pin.write_text("1234\n")
    pin.chmod(0o644)
    with pytest.raises(UsageError, match="readable by other users"):
        read_secret_file(pin, what="PIN")
    pin.chmod(0o600)
    assert read_secret_file(pin, what="PIN") == "1234"
    assert stat.S_IMODE(pin.stat().st_mode) == 0o600
