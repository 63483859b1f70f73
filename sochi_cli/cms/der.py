"""The octets of parsed ASN.1 values exactly as they were read: never re-encoded.

asn1crypto's `dump()` takes any header whose last byte is 0x80 for the indefinite-length
marker and then re-encodes the whole value from its parsed fields (asn1crypto 1.5.1,
wbond/asn1crypto#249, open). A definite length whose last octet is 0x80 trips it too: a
certificate of 384 or 640 content bytes (388, 644 in all), a tbsCertificate, a CRL or a
public key of such a size is rebuilt field by field — which raises KeyError on GOST public
keys (asn1crypto cannot parse them) and, on anything not encoded exactly as asn1crypto
would, changes the bytes that were signed or hashed. So sochi never calls `dump()` on a
parsed value: what it hashes, verifies or hands on comes from here.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

_UNIVERSAL, _CONSTRUCTED, _SET = 0, 1, 17


def original(value: Any) -> bytes:
    """`value`'s encoding as read: its untouched content octets under its own tag.

    asn1crypto keeps the content octets as parsed (`.contents`, public API); the header
    is rebuilt from the tag and the length, which gives the same bytes for DER (a length
    has one DER encoding). Only BER indefinite lengths come out definite.
    """
    from asn1crypto import parser

    if value.explicit:  # an EXPLICIT tag's own header is not kept apart from the value's
        raise ValueError(f"{type(value).__name__} is explicitly tagged: take its inner value")
    encoded: bytes = parser.emit(value.class_, value.method, value.tag, value.contents)
    return encoded


def as_set(value: Any) -> bytes:
    """An IMPLICIT [n] SET OF as the universal SET OF it stands for (CMS signed attributes
    are signed with the SET OF tag, RFC 5652 §5.4), from the octets as read."""
    from asn1crypto import parser

    encoded: bytes = parser.emit(_UNIVERSAL, _CONSTRUCTED, _SET, value.contents)
    return encoded


def load(spec: type[T], data: bytes) -> T:
    """`spec.load(data)` (strict) whose `dump()` gives back `data` itself, whatever its size.

    A value made from its content octets alone has no parsed header for the 0x80 test to
    misread: for libraries that call `dump()` on what sochi gives them (pyhanko-certvalidator
    hashes and compares whole certificates that way).
    """
    parsed: Any = spec.load(data, strict=True)  # type: ignore[attr-defined]
    fresh: T = spec(contents=parsed.contents)  # type: ignore[call-arg]
    return fresh


__all__ = ["as_set", "load", "original"]
