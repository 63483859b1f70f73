"""RuToken's vendor extension for what PKCS#11 leaves out: how many user-PIN tries are left.

PKCS#11 only has the flags CKF_USER_PIN_COUNT_LOW / FINAL_TRY / LOCKED. RuToken's library
(librtpkcs11ecp, rtPKCS11ECP.dll) also exports `C_EX_GetTokenInfoExtended(slotID,
CK_TOKEN_INFO_EXTENDED *)` (rtpkcs11.h of the RuToken SDK), whose structure carries the
counters. python-pkcs11 does not wrap vendor functions, so this one call goes through ctypes
on the library python-pkcs11 has already loaded and initialised (dlopen of the same path
returns the same handle, hence the same C_Initialize state). It is the narrowest seam: one
symbol looked up, one structure read; a library without the symbol (SoftHSM2, other vendors'
tokens) is told apart and reported, never guessed at.
"""

from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass
from pathlib import Path

EXTENSION = "C_EX_GetTokenInfoExtended"
_BUFFER_BYTES = 1024  # room beyond the structure, should a library write a newer, longer one


class TokenInfoExtended(ctypes.Structure):
    """CK_TOKEN_INFO_EXTENDED as rtpkcs11t.h declares it (fields up to ulFirmwareChecksum).

    CK_ULONG is C `unsigned long` (ctypes.c_ulong: 8 bytes on 64-bit Linux and macOS, 4 on
    Windows); like every PKCS#11 structure it is packed to 1 byte on Windows. The library
    reads `ulSizeofThisStructure` to know which version of the structure the caller has.
    """

    if sys.platform.startswith("win"):
        _pack_ = 1
    _fields_ = (
        ("ulSizeofThisStructure", ctypes.c_ulong),
        ("ulTokenType", ctypes.c_ulong),
        ("ulProtocolNumber", ctypes.c_ulong),
        ("ulMicrocodeNumber", ctypes.c_ulong),
        ("ulOrderNumber", ctypes.c_ulong),
        ("flags", ctypes.c_ulong),
        ("ulMaxAdminPinLen", ctypes.c_ulong),
        ("ulMinAdminPinLen", ctypes.c_ulong),
        ("ulMaxUserPinLen", ctypes.c_ulong),
        ("ulMinUserPinLen", ctypes.c_ulong),
        ("ulMaxAdminRetryCount", ctypes.c_ulong),
        ("ulAdminRetryCountLeft", ctypes.c_ulong),  # 0: the SO PIN is locked
        ("ulMaxUserRetryCount", ctypes.c_ulong),
        ("ulUserRetryCountLeft", ctypes.c_ulong),  # 0: the user PIN is locked
        ("serialNumber", ctypes.c_ubyte * 8),
        ("ulTotalMemory", ctypes.c_ulong),
        ("ulFreeMemory", ctypes.c_ulong),
        ("ATR", ctypes.c_ubyte * 64),
        ("ulATRLen", ctypes.c_ulong),
        ("ulTokenClass", ctypes.c_ulong),
        ("ulBatteryVoltage", ctypes.c_ulong),
        ("ulBodyColor", ctypes.c_ulong),
        ("ulFirmwareChecksum", ctypes.c_ulong),
    )


@dataclass(frozen=True)
class PinCounter:
    """The user PIN's tries: `left` and `maximum` when the library reports them, else None;
    `source` says how they were read, or why they could not be."""

    left: int | None
    maximum: int | None
    source: str


def user_pin_counter(library: Path, slot_id: int) -> PinCounter:
    """Tries left for the user PIN of the token in `slot_id`, through RuToken's extension.

    Never raises for a library that lacks the extension or refuses the call: `left` is
    None then and `source` says why. Spends no try (no login is attempted).
    """
    from sochi_cli.token.pkcs11 import library_lock, load_library

    path = str(Path(library).resolve())
    load_library(Path(path))  # loaded and C_Initialize'd by python-pkcs11 (once per process)
    try:
        handle = ctypes.CDLL(path)
    except OSError as exc:
        return PinCounter(None, None, f"the library cannot be opened for {EXTENSION}: {exc}")
    function = getattr(handle, EXTENSION, None)
    if function is None:
        return PinCounter(
            None,
            None,
            f"the PKCS#11 library does not report a count (it does not export {EXTENSION}, "
            "RuToken's extension); only the standard PIN flags are known",
        )
    function.restype = ctypes.c_ulong
    function.argtypes = (ctypes.c_ulong, ctypes.c_void_p)
    buffer = ctypes.create_string_buffer(max(_BUFFER_BYTES, ctypes.sizeof(TokenInfoExtended)))
    info = TokenInfoExtended.from_buffer(buffer)
    info.ulSizeofThisStructure = ctypes.sizeof(TokenInfoExtended)
    with library_lock:  # one call into the library at a time (see pkcs11.library_lock)
        rv = int(function(slot_id, ctypes.addressof(info)))
    if rv != 0:
        return PinCounter(None, None, f"{EXTENSION} failed (CKR 0x{rv:08x})")
    return PinCounter(
        int(info.ulUserRetryCountLeft),
        int(info.ulMaxUserRetryCount),
        f"{EXTENSION} (RuToken extension)",
    )


__all__ = ["EXTENSION", "PinCounter", "TokenInfoExtended", "user_pin_counter"]
