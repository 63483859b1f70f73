"""SoftHSM2 tokens for tests: a private token directory per test session, keys imported via python-pkcs11."""

from __future__ import annotations

import glob
import struct
import subprocess
from pathlib import Path

_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",  # Debian/Ubuntu
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",  # Fedora
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",  # macOS (Homebrew)
)
LIBRARY = next((Path(p) for p in _CANDIDATES if Path(p).is_file()), Path(_CANDIDATES[0]))
SO_PIN = "87654321"
PIN = "1234"  # test-only PIN of throwaway tokens

CKF_USER_PIN_FINAL_TRY = 0x20000
CKF_USER_PIN_LOCKED = 0x40000
_TOKEN_FLAGS_TAG = bytes.fromhex("000000008000534b0000000000000002")  # CKA_OS_TOKENFLAGS, ulong


def write_config(directory: Path) -> Path:
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    return conf


def init_token(conf: Path, label: str, pin: str = PIN) -> None:
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            SO_PIN,
            "--pin",
            pin,
        ],
        check=True,
        capture_output=True,
        env={"SOFTHSM2_CONF": str(conf), "PATH": "/usr/bin:/bin"},
    )


def lock_user_pin(conf: Path, label: str, flag: int = CKF_USER_PIN_LOCKED) -> None:
    """Set CKF_USER_PIN_LOCKED (or another flag) in the stored token flags.

    SoftHSM2 sets CKF_USER_PIN_COUNT_LOW itself after a wrong PIN (and clears it after a
    right one) but never CKF_USER_PIN_FINAL_TRY or CKF_USER_PIN_LOCKED: it has no retry
    counter. It reports whatever flags its token file holds, so tests set those there.
    """
    tokens = Path(conf.read_text().split("=", 1)[1].splitlines()[0].strip())
    for path in glob.glob(str(tokens / "*" / "token.object")):
        data = bytearray(Path(path).read_bytes())
        if label.encode() not in data:
            continue
        at = data.index(_TOKEN_FLAGS_TAG) + len(_TOKEN_FLAGS_TAG)
        (flags,) = struct.unpack(">Q", data[at : at + 8])
        data[at : at + 8] = struct.pack(">Q", flags | flag)
        Path(path).write_bytes(bytes(data))
        return
    raise AssertionError(f"token {label} not found")
