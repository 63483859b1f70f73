"""Fixtures: a demo-seeded sandbox app over ASGI (TestClient) with a controllable clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sochi_cli.sandbox import create_app
from sochi_cli.sandbox.clock import SandboxClock
from tests.sandbox.harness import BULK, MONDAY, Api


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded data dir (PKI, keys, 20 bulk clients); each test gets a copy."""
    path = tmp_path_factory.mktemp("sandbox-template")
    clock = SandboxClock()
    clock.set(MONDAY, frozen=True)
    app = create_app(path, seed="demo", clock=clock, bulk_clients=BULK)
    app.state.sandbox.close()
    return path


@pytest.fixture
def api(template_dir: Path, tmp_path: Path) -> Iterator[Api]:
    data_dir = tmp_path / "sandbox"
    shutil.copytree(template_dir, data_dir)
    clock = SandboxClock()
    clock.set(MONDAY, frozen=True)
    app = create_app(data_dir, clock=clock)
    client = Api(app, clock)
    yield client
    client.sandbox.close()
