"""One demo-seeded sandbox with its filing history on 127.0.0.1 for the obligations tests
(what `sochi due` reads); the journals, configs and caches stay per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.batch.conftest import op  # noqa: F401 - the same `op`, on this package's operator
from tests.batch.operator import Operator, running_operator


@pytest.fixture(scope="package")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    data_dir = tmp_path_factory.mktemp("operator") / "sandbox"
    with running_operator(data_dir, bulk_clients=12, history=True) as found:
        yield found
