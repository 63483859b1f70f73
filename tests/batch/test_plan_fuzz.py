"""Manifest fuzzing: whatever the bytes, planning answers with a Plan or a SochiError."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sochi_cli.errors import SochiError
from sochi_cli.services.plan import MANIFEST_FIELDS, Plan, make_plan
from tests.batch.factory import API_URL, INNS, write_report

FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    for n, inn in enumerate(INNS[:3]):
        write_report(root, f"r{n}.xml", inn=inn)
    (root / "junk.xml").write_bytes(b"\xff\xfe<not xml")
    return root


def run(path: Path) -> Plan | SochiError:
    try:
        return make_plan((), manifest=path, profile="sandbox", api_url=API_URL)
    except SochiError as err:
        assert "\n" not in err.one_line()
        return err


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".json", ".txt"]))
def test_random_bytes_never_crash(folder: Path, data: bytes, suffix: str) -> None:
    path = folder / f"bytes{suffix}"
    path.write_bytes(data)
    run(path)


cell = st.one_of(
    st.sampled_from(
        [
            "",
            "r0.xml",
            "r1.xml",
            "junk.xml",
            "missing.xml",
            "STI-077",
            "2026-10",
            "2026-Q5",
            "0",
            "-1",
            "x",
            *INNS,
            "123",
            "3" * 14,
            "r0.xml;r1.xml",
            ";",
        ]
    ),
    st.text(max_size=12),
)


@FUZZ
@given(
    header=st.lists(st.sampled_from([*MANIFEST_FIELDS, "colour", ""]), min_size=1, max_size=7),
    rows=st.lists(st.lists(cell, max_size=8), max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1251"]),
)
def test_structured_csv_gives_row_level_problems(
    folder: Path, header: list[str], rows: list[list[str]], encoding: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    path = folder / "fuzz.csv"
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        return
    result = run(path)
    if isinstance(result, Plan):
        last_line = len(text.splitlines()) + 1
        for problem in result.problems:
            match = re.match(r"fuzz\.csv:(\d+)$", problem.where) or re.match(
                rf"{re.escape(str(folder))}/", problem.where
            )
            assert match, problem
            if match.re.pattern.startswith("fuzz"):
                assert 2 <= int(match.group(1)) <= last_line
        for item in result.items:
            assert item.file.path.is_file()


json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10), cell),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from([*MANIFEST_FIELDS, "x"]), children, max_size=6)
    ),
    max_leaves=20,
)


@FUZZ
@given(value=json_value)
def test_structured_json_gives_item_level_problems(folder: Path, value: object) -> None:
    path = folder / "fuzz.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    result = run(path)
    if isinstance(result, Plan):
        for problem in result.problems:
            assert re.match(r"fuzz\.json: item \d+$", problem.where) or problem.where.startswith(
                str(folder)
            ), problem


@FUZZ
@given(rows=st.lists(st.sampled_from(["r0.xml", "r1.xml", "r2.xml"]), min_size=1, max_size=10))
def test_duplicate_rows_are_reported_not_filed_twice(folder: Path, rows: list[str]) -> None:
    path = folder / "dups.csv"
    path.write_text("file\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = run(path)
    assert isinstance(result, Plan)
    assert len(result.items) == len(set(rows))
    assert len(result.problems) == len(rows) - len(set(rows))
    assert all("duplicate of dups.csv:" in str(p) for p in result.problems)
