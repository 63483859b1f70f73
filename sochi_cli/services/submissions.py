"""Filed submissions at the operator: filtered listing, receipts checked, download to a folder.

`download_submission` writes `DIR/<id>/` atomically (a temporary folder renamed into place):
the operator's record, every receipt with its CMS signature (each verified first), and the
report, signature and attachments from the local archive, or — the report and signature
of a filing the archive lacks — from the operator (`GET /submissions/{id}/report|signature`),
checked against the submission's digest and the delivery receipt first.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import NotFound, SignatureError, UsageError
from sochi_cli.services.receipts import SignatureCheck, check_receipt

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Receipt, Submission
    from sochi_cli.services.signing import TrustMaterial

STATUSES = ("received", "delivered", "accepted", "rejected")
_PERIOD = re.compile(r"\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?")


@dataclass(frozen=True)
class SubmissionFilter:
    """What `submissions list` narrows by; every field optional."""

    client_inn: str | None = None
    form: str | None = None
    period: str | None = None
    status: str | None = None
    since: date | None = None  # received on or after this Bishkek date
    limit: int | None = None  # the newest N after filtering

    def checked(self) -> SubmissionFilter:
        """The same filter with each value checked locally (one clear line per mistake)."""
        from sochi_cli.forms.inn import check_inn

        inn = check_inn(self.client_inn, what="--client INN") if self.client_inn else None
        if self.status is not None and self.status not in STATUSES:
            raise UsageError(
                f"--status '{self.status}' is not a submission state",
                hint="use " + ", ".join(STATUSES),
            )
        if self.period is not None and not _PERIOD.fullmatch(self.period):
            raise UsageError(
                f"--period '{self.period}' is not a period", hint="use YYYY-MM, YYYY-Qn or YYYY"
            )
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"--limit {self.limit}: must be at least 1")
        form = self.form.strip().upper() if self.form else None
        return SubmissionFilter(inn, form, self.period, self.status, self.since, self.limit)


def _since_instant(day: date) -> datetime:
    from sochi_cli.timeutil import BISHKEK, as_utc

    return as_utc(datetime.combine(day, time.min, tzinfo=BISHKEK))


def list_submissions(client: OperatorClient, wanted: SubmissionFilter) -> list[Submission]:
    """Every matching submission (cursor pages fetched lazily), oldest first."""
    from collections import deque

    from sochi_cli.api import resources
    from sochi_cli.timeutil import as_utc

    wanted = wanted.checked()
    call = resources.submissions.list(
        client=wanted.client_inn,
        form=wanted.form,
        period=wanted.period,
        status=wanted.status,
        limit=200,
    )
    since = _since_instant(wanted.since) if wanted.since else None
    kept: deque[Submission] = deque(maxlen=wanted.limit)
    for item in client.iterate(call):
        if since is not None and (item.received_at is None or as_utc(item.received_at) < since):
            continue
        kept.append(item)
    return list(kept)


def get_submission(client: OperatorClient, submission_id: str) -> Submission:
    from sochi_cli.api import resources

    return client.call(resources.submissions.get(_check_id(submission_id)))


def _check_id(submission_id: str) -> str:
    value = submission_id.strip()
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,128}", value):
        raise UsageError(f"'{submission_id}' is not a submission id", hint="ids look like sub_…")
    return value


@dataclass(frozen=True)
class CheckedReceipt:
    receipt: Receipt
    check: SignatureCheck

    def to_json(self) -> dict[str, Any]:
        r = self.receipt
        plain = r.to_json()
        return {
            "id": r.id,
            "kind": r.kind,
            "issuer": r.issuer,
            "issued_at": plain["issued_at"],
            "submission_id": r.submission_id,
            "document": json.loads(r.document_bytes()) if _is_json(r) else None,
            "signature": self.check.to_json(),
        }


def _is_json(receipt: Receipt) -> bool:
    if "json" not in receipt.document_media_type:
        return False
    try:
        json.loads(receipt.document_bytes())
    except ValueError:
        return False
    return True


def submission_receipts(
    client: OperatorClient, submission_id: str, trust: TrustMaterial | None
) -> list[CheckedReceipt]:
    """The submission's receipts (delivery, protocol), each signature verified."""
    from sochi_cli.api import resources

    items = client.call(resources.submissions.receipts(_check_id(submission_id))).items
    return [CheckedReceipt(r, check_receipt(r, trust)) for r in items]


@dataclass
class DownloadResult:
    submission: Submission
    folder: Path
    files: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[CheckedReceipt] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission.id,
            "status": self.submission.status,
            "folder": str(self.folder),
            "files": self.files,
            "receipts": [r.to_json() for r in self.receipts],
            "missing": self.missing,
        }


def _safe_name(name: str, fallback: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name).lstrip(".")
    return cleaned or fallback


def archived_parts(profile: str, submission: Submission) -> tuple[dict[str, bytes], list[str]]:
    """{relative name: bytes} of the report, signature and attachments in the local archive."""
    from sochi_cli.store.archive import Archive
    from sochi_cli.store.journal import Journal

    parts: dict[str, bytes] = {}
    missing: list[str] = []
    journal = Journal.reader(profile)
    archive = Archive(journal) if journal is not None else None
    by_kind: dict[str, list[Any]] = {}
    for entry in archive.entries(submission_id=submission.id) if archive else []:
        by_kind.setdefault(entry.kind, []).append(entry)
    report_name = _safe_name(submission.report.filename if submission.report else "", "report.xml")
    wanted_sha = submission.report.sha256 if submission.report else None
    for kind, suffix in (("report", ""), ("signature", ".p7s")):
        found = by_kind.get(kind, [])
        if kind == "report" and wanted_sha:
            found = [e for e in found if e.sha256 == wanted_sha]
        if found and archive is not None:
            parts[report_name + suffix] = archive.read(found[0].sha256)
        else:
            missing.append(f"{kind} (not in the local archive)")
    for kind in ("attachment", "attachment_signature"):
        for entry in by_kind.get(kind, []):
            name = _safe_name(entry.filename or entry.sha256, entry.sha256)
            if archive is not None:
                parts[f"attachments/{name}"] = archive.read(entry.sha256)
    if journal is not None:
        journal.close()
    return parts, missing


def download_submission(
    client: OperatorClient,
    submission_id: str,
    out_dir: Path,
    *,
    profile: str,
    trust: TrustMaterial | None,
) -> DownloadResult:
    """Fetch, verify every receipt signature, then write `out_dir/<id>/` in one rename.

    A receipt whose signature does not verify stops the download: nothing is written.
    """
    import hashlib

    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir}: not a directory")
    submission = get_submission(client, submission_id)
    receipts = submission_receipts(client, submission.id, trust)
    bad = [r for r in receipts if not r.check.verified]
    if bad:
        raise SignatureError(
            f"the signature on receipt {bad[0].receipt.id} ({bad[0].receipt.kind}) does not "
            f"verify: {bad[0].check.problem}",
            hint="nothing was written; report it to the operator",
            code="receipt_signature_invalid",
        )
    contents: dict[str, bytes] = {}
    kinds: dict[str, str] = {}
    contents["submission.json"] = _pretty(submission.to_json())
    kinds["submission.json"] = "submission"
    for item in receipts:
        r = item.receipt
        base = f"receipts/{_safe_name(r.id, 'receipt')}-{_safe_name(r.kind, 'receipt')}"
        extension = ".json" if "json" in r.document_media_type else ".bin"
        contents[base + extension] = r.document_bytes()
        contents[base + extension + ".p7s"] = r.signature_bytes()
        kind = "protocol" if r.kind == "protocol" else "receipt"
        kinds[base + extension], kinds[base + extension + ".p7s"] = kind, kind + "_signature"
    parts, _missing = archived_parts(profile, submission)
    for name, data in parts.items():
        contents[name] = data
        kinds[name] = "archived " + ("signature" if name.endswith(".p7s") else "file")
    fetched, missing = _operator_copies(client, submission, receipts, parts)
    for name, data in fetched.items():
        contents[name] = data
        kinds[name] = "operator " + ("signature" if name.endswith(".p7s") else "file")
    files = [
        {
            "path": name,
            "kind": kinds[name],
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
        for name, data in contents.items()
    ]
    folder = out_dir / _safe_name(submission.id, "submission")
    result = DownloadResult(submission, folder, files, receipts, missing)
    contents["manifest.json"] = _pretty(result.to_json())
    _write_folder(folder, contents)
    return result


def _operator_copies(
    client: OperatorClient,
    submission: Submission,
    receipts: list[CheckedReceipt],
    archived: dict[str, bytes],
) -> tuple[dict[str, bytes], list[str]]:
    """The report and its signature as filed, from the operator, when the local archive has
    not got them (a filing made elsewhere); refused unless they are the filing the operator
    describes (the report's SHA-256, the signature the delivery receipt names)."""
    from sochi_cli.api import resources
    from sochi_cli.services.reconcile import Fetched, check_fetched

    report_name = _safe_name(submission.report.filename if submission.report else "", "report.xml")
    fetched: dict[str, bytes] = {}
    missing: list[str] = []
    for name, part in ((report_name, "report"), (report_name + ".p7s", "signature")):
        if name in archived:
            continue
        try:
            fetched[name] = client.call(resources.submissions.document(submission.id, part))
        except NotFound as err:
            if err.code != "document_not_found":
                raise
            missing.append(f"{part} (neither in the local archive nor at the operator)")
    problem = check_fetched(
        Fetched(
            submission,
            [r.receipt for r in receipts],
            fetched.get(report_name),
            fetched.get(report_name + ".p7s"),
        )
    )
    if problem:
        raise SignatureError(
            problem, hint="nothing was written; report it to the operator", code="document_mismatch"
        )
    return fetched, missing


def _pretty(data: Any) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False).encode() + b"\n"


def _write_folder(folder: Path, contents: dict[str, bytes]) -> None:
    """Write every file into a temporary sibling folder, then rename it over `folder`."""
    import os

    from sochi_cli.errors import StorageError
    from sochi_cli.store.files import PRIVATE_FILE, make_private_dirs, own_file

    with own_file(folder, "download", hint="choose a writable --out directory"):
        make_private_dirs(folder.parent)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent)
        )
    old: Path | None = None
    try:
        for name, data in contents.items():
            target = staging / name
            make_private_dirs(target.parent)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        if folder.exists():
            old = folder.with_name(f".{folder.name}.{os.getpid()}.old")
            os.replace(folder, old)
        os.replace(staging, folder)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None and not folder.exists():
            os.replace(old, folder)
        raise StorageError(
            f"cannot write {folder}: {exc.strerror or exc}", hint="check the --out directory"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


__all__ = [
    "STATUSES",
    "CheckedReceipt",
    "DownloadResult",
    "SubmissionFilter",
    "archived_parts",
    "download_submission",
    "get_submission",
    "list_submissions",
    "submission_receipts",
]
