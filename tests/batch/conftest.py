"""One real sandbox operator on 127.0.0.1 for the batch tests (the journals stay per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina

from tests.batch.operator import Operator, running_operator
from tests.support import run_cli


@pytest.fixture(scope="package")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    with running_operator(tmp_path_factory.mktemp("operator"), bulk_clients=40) as found:
        yield found


@pytest.fixture
def op(operator: Operator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Operator]:
    """The operator calm again, the profile pointed at it, logged in with the file signer."""
    operator.calm()
    for name, value in operator.env().items():
        monkeypatch.setenv(name, value)
    with stamina.set_testing(True, attempts=3):
        assert run_cli("login").code == 0
        yield operator
    operator.calm()
