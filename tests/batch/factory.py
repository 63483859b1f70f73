"""Report files, INNs and plan items for store/batch tests (real files on disk, no mocks)."""

from __future__ import annotations

from pathlib import Path

from sochi_cli.services.plan import FileRef, PlanItem
from sochi_cli.store.journal import idempotency_key

API_URL = "http://127.0.0.1:8788/api/v1"
INNS = [
    "02010201910123",
    "00203202010077",
    "12505199000031",
    "21112198500412",
    "00101201200005",
    "01512200300099",
]


def report_xml(
    inn: str = INNS[0],
    form: str = "STI-077",
    period: str = "2026-10",
    correction: int | None = 0,
    turnover: str = "150000.00",
) -> str:
    corr = "" if correction is None else f"    <correction>{correction}</correction>\n"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<report xmlns="urn:sochi:report:1" form="{form}" version="1">\n'
        "  <header>\n"
        f"    <inn>{inn}</inn>\n"
        "    <name>Ак-Суу Трейд ОсОО</name>\n"
        f"    <period>{period}</period>\n"
        f"{corr}"
        "  </header>\n"
        "  <body>\n"
        f"    <turnover>{turnover}</turnover>\n"
        "  </body>\n"
        "</report>\n"
    )


def write_report(directory: Path, name: str, **kwargs: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(report_xml(**kwargs), encoding="utf-8")  # type: ignore[arg-type]
    return path


def plan_item(n: int, *, profile: str = "sandbox", source: Path | None = None) -> PlanItem:
    """A synthetic plan item (no file read): client cycles over INNS, period varies with n."""
    sha = f"{n:064x}"
    client = INNS[n % len(INNS)]
    period = f"{2000 + n // 12:04d}-{n % 12 + 1:02d}"
    key = idempotency_key(
        profile=profile,
        api_url=API_URL,
        client_inn=client,
        form="STI-077",
        period=period,
        correction=0,
        file_sha256=sha,
    )
    return PlanItem(
        file=FileRef(source or Path(f"/reports/r{n}.xml"), sha, 1000 + n),
        client_inn=client,
        form="STI-077",
        period=period,
        correction=0,
        attachments=(),
        idempotency_key=key,
        origin=f"r{n}.xml",
    )
