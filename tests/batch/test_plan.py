"""Planning: paths, directories, globs and manifests → items; row-level problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sochi_cli.errors import UsageError, ValidationFailed
from sochi_cli.services.plan import make_plan
from tests.batch.factory import API_URL, INNS, write_report


def plan(*inputs: str, manifest: Path | None = None, strict: bool = False):
    return make_plan(inputs, manifest=manifest, profile="sandbox", api_url=API_URL, strict=strict)


def messages(result) -> list[str]:
    return [str(p) for p in result.problems]


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    for n, inn in enumerate(INNS[:3]):
        write_report(folder, f"r{n}.xml", inn=inn)
    write_report(
        folder / "sub", "r3.xml", inn=INNS[3], form="SF-001", period="2026-Q3", correction=2
    )
    (folder / "notes.txt").write_text("not a report")
    return folder


def test_directory_is_walked_recursively_for_xml(reports: Path) -> None:
    result = plan(str(reports))
    assert result.ok
    assert [i.file.path.name for i in result.items] == ["r0.xml", "r1.xml", "r2.xml", "r3.xml"]
    last = result.items[-1]
    assert (last.client_inn, last.form, last.period, last.correction) == (
        INNS[3],
        "SF-001",
        "2026-Q3",
        2,
    )
    assert len({i.idempotency_key for i in result.items}) == 4


def test_a_linked_folder_is_walked_once_and_a_link_loop_ends(tmp_path: Path, reports: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_report(elsewhere, "r4.xml", inn=INNS[4])
    (reports / "linked").symlink_to(elsewhere)  # its reports are in the tree as much as any
    (elsewhere / "back").symlink_to(reports)  # and a way back up: no loop
    (reports / "again").symlink_to(reports / "sub")  # a second way into sub/: once
    result = plan(str(reports))
    assert result.ok
    assert sorted(i.file.path.name for i in result.items) == [f"r{n}.xml" for n in range(5)]


def test_files_globs_and_overlaps_are_planned_once(reports: Path) -> None:
    result = plan(str(reports / "r0.xml"), str(reports / "r*.xml"), str(reports / "**" / "*.xml"))
    assert result.ok and len(result.items) == 4


def test_digest_and_size_are_those_of_the_file(reports: Path) -> None:
    import hashlib

    item = plan(str(reports / "r0.xml")).items[0]
    data = (reports / "r0.xml").read_bytes()
    assert item.file.sha256 == hashlib.sha256(data).hexdigest() and item.file.size == len(data)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope.xml", "no such file or folder"),
        ("*.none", "no file matches this pattern"),
        ("empty", "the folder holds no *.xml reports"),
    ],
)
def test_a_missing_input_is_a_usage_error_naming_it(
    tmp_path: Path, reports: Path, name: str, message: str
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError) as raised:
        plan(str(reports / "r0.xml"), str(tmp_path / name))
    assert raised.value.one_line() == f"{tmp_path / name}: {message}"


def test_needs_inputs_or_manifest_but_not_both(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        plan()
    with pytest.raises(UsageError):
        plan("x.xml", manifest=tmp_path / "m.csv")


def test_broken_reports_are_problems_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.xml").write_text(
        '<?xml version="1.0"?>\n<report xmlns="urn:sochi:report:1">\n<header>\n<inn>1</x>'
    )
    (tmp_path / "dtd.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "b">]>\n<report/>'
    )
    (tmp_path / "other.xml").write_text("<html/>")
    (tmp_path / "empty.xml").write_bytes(b"")
    (tmp_path / "noinn.xml").write_text(
        '<report xmlns="urn:sochi:report:1" form="STI-077"><header><period>2026-10</period>'
        "</header></report>"
    )
    write_report(tmp_path, "badinn.xml", inn="12345")
    result = plan(str(tmp_path))
    assert result.items == []
    found = messages(result)
    assert f"{tmp_path / 'bad.xml'}:4: not well-formed XML: mismatched tag" in found
    assert f"{tmp_path / 'dtd.xml'}:2: DOCTYPE declarations are not allowed" in found
    assert any(m.startswith(f"{tmp_path / 'other.xml'}:1: root element must be") for m in found)
    assert f"{tmp_path / 'empty.xml'}:1: the file is empty" in found or any(
        m.startswith(f"{tmp_path / 'empty.xml'}:1:") for m in found
    )
    assert f"{tmp_path / 'noinn.xml'}: client: not given and the report has no header/inn" in found
    assert (
        f"{tmp_path / 'badinn.xml'}:4: header/inn: '12345' is not a valid INN: an INN is 14 digits"
        in found
    )


def test_strict_stops_at_the_first_problem(tmp_path: Path, reports: Path) -> None:
    (tmp_path / "bad.xml").write_text("<report/>")
    with pytest.raises(ValidationFailed, match=r"bad\.xml"):
        plan(str(tmp_path / "bad.xml"), str(reports), strict=True)


def write_manifest(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_manifest_with_relative_paths_and_attachments(reports: Path) -> None:
    (reports / "scan.pdf").write_bytes(b"%PDF-1.4 scan")
    manifest = write_manifest(
        reports / "m.csv",
        "client,form,period,correction,file,attachments\n"
        f"{INNS[0]},STI-077,2026-10,0,r0.xml,scan.pdf;notes.txt\n"
        f",,,,r1.xml,\n",
    )
    result = plan(manifest=manifest)
    assert result.ok, messages(result)
    first, second = result.items
    assert [a.path.name for a in first.attachments] == ["scan.pdf", "notes.txt"]
    assert first.origin == "m.csv:2" and second.client_inn == INNS[1]


def test_csv_row_problems_carry_row_numbers(reports: Path) -> None:
    manifest = write_manifest(
        reports / "manifest.csv",
        "\ufeffclient,form,period,correction,file\n"  # a BOM is fine
        f"{INNS[0]},STI-077,2026-10,0,r0.xml\n"
        "123,STI-077,2026-10,0,r1.xml\n"
        f"{INNS[2]},STI-077,2026-13,x,r2.xml\n"
        f"{INNS[3]},STI-077,2026-10,0,r2.xml\n"
        f"{INNS[0]},STI-077,2026-10,0,r0.xml\n"
        f"{INNS[0]},STI-077,2026-10\n",
    )
    result = plan(manifest=manifest)
    assert [i.origin for i in result.items] == ["manifest.csv:2"]
    assert messages(result) == [
        "manifest.csv:3: client: '123' is not a valid INN: an INN is 14 digits",
        "manifest.csv:4: period: '2026-13' is not a period (YYYY-MM, YYYY-Qn or YYYY)",
        "manifest.csv:4: correction: 'x' is not a whole number ≥ 0",
        f"manifest.csv:5: client: '{INNS[3]}' does not match the report's header/inn "
        f"'{INNS[2]}' ({reports / 'r2.xml'}:4)",
        "manifest.csv:6: file: duplicate of manifest.csv:2 (same client, form, period, "
        "correction and file); filed once",
        "manifest.csv:7: row: expected 5 fields, found 3",
    ]
    error = result.error()
    assert error.message.startswith("manifest.csv:3: client:") and "(and 4 more)" in error.message
    assert len(error.details["problems"]) == 6


def test_a_missing_file_in_a_manifest_refuses_the_plan_as_a_missing_path_does(
    reports: Path,
) -> None:
    """Exit 2 like `sochi submit missing.xml`, after every row was read: all rows named."""
    manifest = write_manifest(
        reports / "manifest.csv",
        "client,form,period,correction,file,attachments\n"
        f"{INNS[0]},STI-077,2026-10,0,r0.xml,\n"
        f"{INNS[2]},STI-077,2026-10,0,missing.xml,\n"
        f"{INNS[1]},STI-077,2026-13,0,r1.xml,\n"
        f"{INNS[2]},STI-077,2026-10,0,r2.xml,gone.pdf\n",
    )
    with pytest.raises(UsageError) as refused:
        plan(manifest=manifest)
    error = refused.value
    assert error.exit_code == 2
    assert error.message == "manifest.csv:3: file: 'missing.xml': no such file (and 2 more)"
    assert [(p["where"], p["field"]) for p in error.details["problems"]] == [
        ("manifest.csv:3", "file"),
        ("manifest.csv:4", "period"),
        ("manifest.csv:5", "attachments"),
    ]


def test_broken_report_in_a_manifest_names_row_then_file_and_line(reports: Path) -> None:
    (reports / "broken.xml").write_text("<report>\n<oops>")
    manifest = write_manifest(reports / "m.csv", "file\nr0.xml\nbroken.xml\n")
    result = plan(manifest=manifest)
    assert messages(result) == [
        f"m.csv:3: file: {reports / 'broken.xml'}:1: root element must be "
        '<report xmlns="urn:sochi:report:1">'
    ]


def test_two_reports_for_one_target_are_a_problem(reports: Path) -> None:
    write_report(reports / "dup", "again.xml", inn=INNS[0], turnover="1.00")
    result = plan(str(reports / "r0.xml"), str(reports / "dup" / "again.xml"))
    assert len(result.items) == 1
    assert "files another report for the same client" in messages(result)[0]


def test_json_manifest_items(reports: Path) -> None:
    manifest = write_manifest(
        reports / "m.json",
        json.dumps(
            {
                "items": [
                    {
                        "client": INNS[0],
                        "form": "STI-077",
                        "period": "2026-10",
                        "file": "r0.xml",
                        "attachments": ["notes.txt"],
                    },
                    {"file": "r1.xml", "correction": 0},
                    {"file": "r2.xml", "client": 2010201910123},
                    {"file": "r2.xml", "correction": "1", "colour": "red"},
                    "r3.xml",
                    {"file": "r2.xml", "period": "2026-13", "colour": "red"},
                ]
            }
        ),
    )
    result = plan(manifest=manifest)
    assert len(result.items) == 2 and len(result.items[0].attachments) == 1
    assert messages(result) == [
        "m.json: item 3: client: must be a string",
        "m.json: item 4: correction: must be a whole number",
        "m.json: item 4: colour: unknown field (known: client, form, period, correction, file, "
        "attachments)",
        "m.json: item 5: item: expected an object with a 'file' field",
        # an unknown field does not hide the item's other problems
        "m.json: item 6: colour: unknown field (known: client, form, period, correction, file, "
        "attachments)",
        "m.json: item 6: period: '2026-13' is not a period (YYYY-MM, YYYY-Qn or YYYY)",
    ]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("m.csv", "", "the manifest is empty"),
        ("m.csv", "client,form,period,correction,file\n\n", "the manifest lists no reports"),
        ("m.json", "[]", "the manifest lists no reports"),
        ("m.csv", "client,colour,file\n", "m.csv:1: unknown column 'colour'"),
        ("m.csv", "client,form\n", "m.csv:1: no 'file' column"),
        ("m.json", '[{"file": "a.xml",]', "m.json:1:19: malformed JSON"),
        ("m.json", '{"file": "a.xml"}', "a JSON manifest is a list of objects"),
        ("m.csv", 'file\n"unterminated\n', "malformed CSV"),
    ],
)
def test_unusable_manifests_are_one_clear_error(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    manifest = write_manifest(tmp_path / name, content)
    with pytest.raises(ValidationFailed) as caught:
        plan(manifest=manifest)
    assert expected in caught.value.message


def test_manifest_not_in_utf8_names_the_line(tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path / "m.csv", "client,file\n02010201910123,отчёт.xml\n", encoding="cp1251"
    )
    with pytest.raises(ValidationFailed) as caught:
        plan(manifest=manifest)
    assert caught.value.message.startswith(f"{manifest}:2: the manifest is not UTF-8 text")
    assert caught.value.code == "manifest_encoding"


def test_utf16_manifest_is_refused(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "m.csv", "file\nr.xml\n", encoding="utf-16")
    with pytest.raises(ValidationFailed):
        plan(manifest=manifest)


def test_manifest_that_cannot_be_read_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the manifest"):
        plan(manifest=tmp_path / "absent.csv")


def test_plan_holds_paths_and_digests_not_contents(tmp_path: Path) -> None:
    for n in range(50):
        write_report(tmp_path, f"r{n:03}.xml", inn=INNS[n % 6], period=f"{2000 + n}-01")
    result = plan(str(tmp_path))
    assert result.ok and len(result.items) == 50
    assert not any(isinstance(v, bytes) for i in result.items for v in vars(i).values())
