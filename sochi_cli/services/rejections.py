"""What fixes an agency's rejection, by its kind (docs/api.md, "Agency rules"): a correction
fixes wrong figures; nothing the filer sends fixes what the taxpayer register says.

The contract names the field, not the rule, so the kind comes from the protocol error's path:
`header/…` is the register (not registered for the form, a period before the registration,
an inactive taxpayer); `body/<field>` is a figure — a totals rule, or a figure another
accepted report of the same period contradicts (a cross-check, which says "disagrees").
A rejected filing leaves its correction number free (`correction_out_of_order` counts only
received, delivered and accepted filings), so a fixed report is filed again under it (new
bytes, a new idempotency key; the same bytes would be answered with the rejected filing).
"""

from __future__ import annotations

from dataclasses import dataclass

REGISTER = "register"
CROSS_CHECK = "cross_check"
FIGURES = "figures"
UNKNOWN = "unknown"


def rejection_kind(reason: str | None) -> str:
    """The kind of a rejection from its first protocol error as `path: message` (how the
    journal keeps it), or from the path alone."""
    if not reason:
        return UNKNOWN
    path, _, message = reason.partition(": ")
    if path.startswith("header/"):
        return REGISTER
    if path.startswith("body/"):
        return CROSS_CHECK if "disagrees" in message else FIGURES
    return UNKNOWN


@dataclass(frozen=True)
class Rejected:
    """One rejected filing, as the journal or the operator's list knows it."""

    client_inn: str
    form: str
    period: str
    correction: int
    submission_id: str | None
    reason: str | None  # the first protocol error, `path: message`
    file: str | None = None  # the report filed, when this machine has it


def rejection_fix(rejected: Rejected) -> str:
    """What to do about a rejection, in one line: the command when there is one."""
    kind = rejection_kind(rejected.reason)
    protocol = (
        f"protocol: sochi submissions show {rejected.submission_id}"
        if rejected.submission_id
        else "see the agency's protocol"
    )
    again = (
        f"file it again under the same correction number {rejected.correction}: sochi submit "
        f"{rejected.file or 'FILE'} --correction {rejected.correction}"
    )
    target = f"{rejected.form} {rejected.period}"
    if kind == REGISTER:
        return (
            f"a correction cannot fix this: by the agency's taxpayer register "
            f"{rejected.client_inn} need not (or may not) file {target}; what is due: sochi due "
            f"--client {rejected.client_inn}; a wrong register is corrected at the agency, by "
            f"the client; {protocol}"
        )
    field = (rejected.reason or "").partition(": ")[0]
    if kind == CROSS_CHECK:
        return (
            f"{field} disagrees with another accepted report of {rejected.period}: correct "
            f"whichever is wrong — this one (fix it, then {again}) or the other one (file a "
            f"correction of it, then file this one again); {protocol}"
        )
    if kind == FIGURES:
        return (
            f"fix {field} in the report (sochi validate {rejected.file or 'FILE'} checks the "
            f"totals), then {again}; {protocol}"
        )
    return f"read the agency's protocol, fix what it names, then {again}; {protocol}"


__all__ = [
    "CROSS_CHECK",
    "FIGURES",
    "REGISTER",
    "UNKNOWN",
    "Rejected",
    "rejection_fix",
    "rejection_kind",
]
