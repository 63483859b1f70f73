"""Reliability fixtures: one real sandbox operator on 127.0.0.1 with 200 generated clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.batch.operator import Operator, running_operator
from tests.support import run_sochi

BATCH = 200


@pytest.fixture(scope="package")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    with running_operator(tmp_path_factory.mktemp("operator"), bulk_clients=BATCH) as found:
        yield found


@pytest.fixture
def op(operator: Operator, monkeypatch: pytest.MonkeyPatch) -> Operator:
    """The operator calm again, this test's environment pointed at it and logged in."""
    operator.calm()
    for name, value in operator.env().items():
        monkeypatch.setenv(name, value)
    result = run_sochi("login")
    assert result.code == 0, result.stderr
    return operator
