"""What people read: names with their attributes named and instants in Bishkek time, labelled.

Every text output of the commands that show certificates, signatures or moments is scanned,
on a terminal and in a pipe, for what a person should never have to decode: dotted OIDs
(`2.5.4.5=`), `+00:00` offsets and microseconds; and, on a terminal, ISO `…T…` instants.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from unittest import mock

from tests.api.conftest import Sandbox, ok
from tests.operator.conftest import report_bytes
from tests.support import run_cli

RAW_OID = re.compile(r"(?<![\w.])\d+(?:\.\d+){2,}=")
OFFSET_OR_FRACTION = re.compile(r"[+-]00:00\b|\d{2}:\d{2}:\d{2}\.\d+")
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def test_text_outputs_name_attributes_and_show_bishkek_time(
    logged_in: Sandbox, tmp_path: Path
) -> None:
    report = tmp_path / "r.xml"
    report.write_bytes(report_bytes("2024-07"))
    filed = json.loads(run_cli("--json", "submit", str(report), "--no-wait").stdout)
    sub = filed["items"][0]["submission_id"]
    assert sub, filed
    item = logged_in.control(
        "POST", "inbox", {"inn": logged_in.rep["inn"], "agency": "STS", "subject": "Notice"}
    )["id"]
    doc, backup = tmp_path / "doc.txt", tmp_path / "bk.zip"
    doc.write_text("a document\n")
    commands = [
        ("sign", str(doc), "--force", "--progress", "none"),
        ("verify", str(doc), "--at", "2026-01-01T10:00"),
        ("backup", str(backup), "--force", "--progress", "none"),
        ("restore", str(backup), "--check"),
        ("cert", "show"),
        ("cert", "chain"),
        ("cert", "status"),
        ("cert", "list"),
        ("crl", "fetch"),
        ("crl", "show"),
        ("audit", "list"),
        ("submissions", "show", sub),
        ("submissions", "receipts", sub),
        ("inbox", "show", item),
        ("batch", "show", "last"),
    ]
    for terminal in (True, False):
        with mock.patch("sochi_cli.commands._output._isatty", return_value=terminal):
            for args in commands:
                result = run_cli(*args)
                text = result.stdout + result.stderr
                where = f"{' '.join(args)} ({'terminal' if terminal else 'pipe'}):\n{text}"
                assert result.code in (0, 5) and "Traceback" not in text, where
                assert not RAW_OID.search(text), where
                assert not OFFSET_OR_FRACTION.search(text), where
                if terminal:
                    assert not ISO_INSTANT.search(text), where
    signed = ok(run_cli("sign", str(doc), "--force", "--progress", "none")).stderr
    assert f"as serialNumber={logged_in.rep['inn']},CN=" in signed
    assert "title=" in ok(run_cli("cert", "show")).stdout
