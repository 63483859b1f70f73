"""Shared fixtures: every test runs with its own config, data and cache directories."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """No test touches the real user's config, journal or cache; no SOCHI_* leaks in."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("SOCHI_") or name == "NO_COLOR":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOCHI_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("SOCHI_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("SOCHI_CACHE_DIR", str(home / "cache"))
    yield home
    from sochi_cli import logs

    logs._registered.clear()  # secrets one test registered must not mask another's output
