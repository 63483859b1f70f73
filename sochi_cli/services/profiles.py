"""The active profile's configuration for front-ends that are not the Typer CLI (the TUI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # re-exported so front-ends can name the type without importing the store
    from sochi_cli.store.config import Config


def load_config(profile: str | None = None) -> Config:
    """Config file + the chosen (or default) profile; errors are ConfigError, warnings kept."""
    from sochi_cli.store import config

    return config.load(profile)


__all__ = ["Config", "load_config"]
