"""One submission for a detail pane: its state timeline, receipts with their signatures
verified, the agency protocol's errors next to the report lines they point at (from the local
archive), and the clause-8 verification of the archived report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sochi_cli.errors import NotFound, SochiError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sochi_cli.api.models import Submission
    from sochi_cli.services.submissions import CheckedReceipt
    from sochi_cli.store.config import Config


@dataclass(frozen=True)
class ProtocolLine:
    """One error of the agency protocol with the report line it names (when archived)."""

    path: str
    message: str
    line: int | None
    text: str | None  # the report's line `line`, stripped


@dataclass
class SubmissionDetail:
    submission: Submission
    timeline: list[tuple[str, datetime | None]]
    receipts: list[CheckedReceipt] = field(default_factory=list)
    protocol: list[ProtocolLine] = field(default_factory=list)
    report_name: str | None = None
    report_text: str | None = None  # None when the report is not in the local archive
    has_signature: bool = False
    problems: list[str] = field(default_factory=list)


def all_submissions(config: Config) -> list[Submission]:
    """Every submission of the account, oldest first (all pages)."""
    from sochi_cli.services.session import open_client
    from sochi_cli.services.submissions import SubmissionFilter, list_submissions

    with open_client(config) as client:
        return list_submissions(client, SubmissionFilter())


def iter_submissions(config: Config) -> Iterator[Submission]:
    """Every submission, oldest first, a page at a time: a caller that keeps only what it
    shows never holds 10 000 records at once."""
    from sochi_cli.api import resources
    from sochi_cli.services.session import open_client

    with open_client(config) as client:
        yield from client.iterate(resources.submissions.list(limit=500))


def submissions_by_id(config: Config, ids: list[str]) -> list[Submission]:
    """The current record of each submission named (those that vanished are skipped)."""
    from sochi_cli.services.session import open_client
    from sochi_cli.services.submissions import get_submission

    found = []
    with open_client(config) as client:
        for submission_id in ids:
            try:
                found.append(get_submission(client, submission_id))
            except NotFound:
                continue
    return found


def submission_detail(config: Config, submission_id: str) -> SubmissionDetail:
    from sochi_cli.services.receipts import operator_trust
    from sochi_cli.services.session import open_client
    from sochi_cli.services.submissions import (
        archived_parts,
        get_submission,
        submission_receipts,
    )

    with open_client(config) as client:
        sub = get_submission(client, submission_id)
        detail = SubmissionDetail(
            sub,
            [
                ("received", sub.received_at),
                ("delivered", sub.delivered_at),
                (
                    sub.status if sub.status in ("accepted", "rejected") else "decided",
                    sub.decided_at,
                ),
            ],
        )
        try:
            trust = operator_trust(config.profile, str(config.get("api_url")))
            detail.receipts = submission_receipts(client, sub.id, trust)
        except SochiError as err:
            detail.problems.append(f"receipts: {err.one_line()}")
    parts, missing = archived_parts(config.profile, sub)
    detail.problems.extend(missing)
    for name, data in parts.items():
        if name.endswith(".p7s") and "/" not in name:
            detail.has_signature = True
        elif "/" not in name:
            detail.report_name = name
            detail.report_text = data.decode("utf-8", "replace")
    lines = detail.report_text.splitlines() if detail.report_text is not None else []
    if sub.protocol is not None:
        for error in sub.protocol.errors:
            line = error.line
            if line is None and detail.report_text is not None:
                line = line_of(detail.report_text, error.path)
            text = None
            if line is not None and 1 <= line <= len(lines):
                text = lines[line - 1].strip()
            detail.protocol.append(ProtocolLine(error.path, error.message, line, text))
    return detail


def line_of(report: str, path: str) -> int | None:
    """The line of the element an agency's error names by path (`body/vat_payable`,
    `header/inn`, `report/@form`) in the archived report; None if it is not there.

    Agencies name the field, not the line (a totals rule, a register check), so the line is
    found in our own copy of what was filed."""
    from sochi_cli.forms.xmlread import XmlProblem, parse_xml

    try:
        node = parse_xml(report.encode("utf-8"))
    except XmlProblem:
        return None
    steps = [s for s in path.split("/") if s and not s.startswith("@")]
    if steps and steps[0] == node.name:
        steps = steps[1:]  # the path may start at the root element
    for step in steps:
        child = node.child(step)
        if child is None:
            return None
        node = child
    return node.line


def verify_submission(config: Config, submission_id: str) -> list[str]:
    """The clause-8 report (as `sochi verify` prints it) over the archived report and `.p7s`."""
    from sochi_cli.services.session import open_client
    from sochi_cli.services.signing import trust_material
    from sochi_cli.services.submissions import archived_parts, get_submission
    from sochi_cli.services.verify import render_text, verify_dispute

    with open_client(config) as client:
        sub = get_submission(client, submission_id)
    parts, _missing = archived_parts(config.profile, sub)
    report = next(
        ((n, d) for n, d in parts.items() if "/" not in n and not n.endswith(".p7s")), None
    )
    signature = next((d for n, d in parts.items() if "/" not in n and n.endswith(".p7s")), None)
    if report is None or signature is None:
        raise NotFound(
            f"the report of {sub.id} and its signature are not in the local archive",
            hint="only reports filed from this machine (sochi submit / the TUI) are kept here",
            code="not_archived",
        )
    material = trust_material(
        config.profile, api_url=str(config.get("api_url")), fetch_missing=True
    )
    result = verify_dispute(
        report[1],
        signature,
        trust_roots=material.roots,
        crls=material.crls,
        extra_certificates=material.intermediates,
        document_name=report[0],
        signature_name=report[0] + ".p7s",
    )
    return render_text(result)


__all__ = [
    "ProtocolLine",
    "SubmissionDetail",
    "all_submissions",
    "iter_submissions",
    "submission_detail",
    "submissions_by_id",
    "verify_submission",
]
