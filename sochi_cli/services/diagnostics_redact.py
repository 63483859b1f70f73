"""Masking for doctor bundles: INNs to their last 4 digits, names and e-mails to stable
pseudonyms, secrets (`logs.redact`) removed, agency protocol texts withheld.

A pseudonym is `‹name:1a2b›`: the first hex digits of a salted SHA-256, so the same name
reads the same everywhere in one bundle, yet a bundle cannot be matched against a list of
names (the salt is random per bundle and not stored).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from typing import Any

INN_RE = re.compile(r"(?<!\d)[0-2]\d{13}(?!\d)")
# a digest or serial (32+ hex digits) is kept whole, an INN anywhere else is masked
_HEX_OR_INN = re.compile(
    r"(?P<hex>(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z]))|(?P<inn>" + INN_RE.pattern + ")"
)
EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# RFC 4514 attributes that name a person or a company (C, ST, L stay readable)
_DN_RE = re.compile(
    r"(?i)\b(CN|O|OU|GN|SN|title|STREET|emailAddress|UID|serialNumber|"
    r"2\.5\.4\.(?:3|4|5|10|11|12|42)|1\.2\.840\.113549\.1\.9\.1)=((?:\\.|[^,+\\])+)"
)
_DN_KEY = r"(?:[A-Za-z][\w.]*|\d+(?:\.\d+)+)="
_DN_VALUE = r"(?:\\.|[^,+\\])*"
_DN_FULL = re.compile(f"{_DN_KEY}{_DN_VALUE}(?:[,+]{_DN_KEY}{_DN_VALUE})*")
MIN_NAME = 4  # shorter values ("ID", a passport series) would mask ordinary words
WITHHELD = "‹protocol text withheld: it may quote the report›"


def mask_inn(inn: str) -> str:
    return "*" * (len(inn) - 4) + inn[-4:]


class Masker:
    """Turns any JSON-able value into its bundle-safe form."""

    def __init__(
        self,
        *,
        mask: bool = True,
        names: Iterable[str] = (),
        public: Iterable[str] = (),
        withheld: Iterable[str] = (),
    ) -> None:
        self.mask = mask
        self._salt = secrets.token_bytes(16)
        self._public = {p.casefold() for p in public if p}
        known = sorted(
            {n for n in names if len(n) >= MIN_NAME and n.casefold() not in self._public},
            key=len,
            reverse=True,
        )
        self._names = (
            re.compile("|".join(re.escape(n) for n in known), re.IGNORECASE) if known else None
        )
        self._withheld = sorted({w for w in withheld if w}, key=len, reverse=True)

    def pseudonym(self, value: str, kind: str = "name") -> str:
        digest = hashlib.sha256(self._salt + value.strip().casefold().encode()).hexdigest()
        return f"‹{kind}:{digest[:4]}›"

    def text(self, text: str) -> str:
        from sochi_cli.logs import redact

        for value in self._withheld:
            text = text.replace(value, withhold(value))
        text = redact(text)
        if not self.mask:
            return text
        if _DN_FULL.fullmatch(text):  # a whole RFC 4514 name (subject, issuer, actor)
            text = _DN_RE.sub(self._dn_value, text)
        if self._names is not None:
            text = self._names.sub(lambda m: self.pseudonym(m.group(0)), text)
        text = EMAIL_RE.sub(lambda m: self.pseudonym(m.group(0), "email"), text)
        return _HEX_OR_INN.sub(lambda m: m.group("hex") or mask_inn(m.group("inn")), text)

    def _dn_value(self, match: re.Match[str]) -> str:
        key, value = match.group(1), match.group(2)
        if value.casefold() in self._public or value.startswith("‹"):
            return match.group(0)
        if INN_RE.fullmatch(value):
            return f"{key}={mask_inn(value)}"
        return f"{key}={self.pseudonym(value)}"

    def value(self, data: Any) -> Any:
        """Mask every string of a JSON-able structure (dict keys too)."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {self.text(str(k)): self.value(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.value(v) for v in data]
        return data


def withhold(message: str) -> str:
    """An agency's protocol text reduced to the field it names (`body/x: …` → `body/x: ‹…›`)."""
    head, sep, _ = message.partition(": ")
    if sep and " " not in head and "/" in head:
        return f"{head}: {WITHHELD}"
    return WITHHELD


__all__ = ["INN_RE", "WITHHELD", "Masker", "mask_inn", "withhold"]
