"""Distinguished names as people read them: `CN=…, serialNumber=…, title=…`, never `2.5.4.5=`.

cryptography's RFC 4514 form leaves the attributes a Kyrgyz certificate carries (the INN in
serialNumber, the position in title) as dotted OIDs. `name_text` names them; `readable_dn`
does the same for a name already stored as text (an audit record written before). Kept
import-light (no cryptography at import time): `sochi_cli.store` and the CLI use it too.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

# Attribute names cryptography's RFC 4514 form leaves as dotted OIDs (`2.5.4.5=…`).
NAME_ATTRIBUTES = {
    "2.5.4.4": "SN",  # surname
    "2.5.4.5": "serialNumber",  # the INN in Kyrgyz certificates
    "2.5.4.12": "title",
    "2.5.4.42": "GN",  # given name
    "2.5.4.43": "initials",
    "2.5.4.65": "pseudonym",
    "2.5.4.97": "organizationIdentifier",
    "1.2.840.113549.1.9.1": "emailAddress",
}
_DOTTED = re.compile(r"(?<![\w.])(" + "|".join(re.escape(oid) for oid in NAME_ATTRIBUTES) + r")=")


def name_text(name: x509.Name) -> str:
    """A distinguished name as people read it: RFC 4514 with the attributes a Kyrgyz
    certificate carries named, not dotted (`serialNumber=00203202010077,CN=…,title=…`)."""
    from cryptography.x509 import ObjectIdentifier

    overrides = {ObjectIdentifier(oid): label for oid, label in NAME_ATTRIBUTES.items()}
    return name.rfc4514_string(attr_name_overrides=overrides)


def readable_dn(text: str) -> str:
    """`text` with every known dotted attribute (`2.5.4.5=`) named (`serialNumber=`)."""
    return _DOTTED.sub(lambda m: NAME_ATTRIBUTES[m.group(1)] + "=", text) if "=" in text else text


__all__ = ["NAME_ATTRIBUTES", "name_text", "readable_dn"]
