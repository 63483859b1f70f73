"""Per-invocation context handed to every command: output, global flags, lazily loaded config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer

from sochi_cli.commands._output import Output

if TYPE_CHECKING:
    from sochi_cli.store.config import Config


@dataclass
class AppContext:
    out: Output
    profile_override: str | None = None
    verbose: bool = False
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        """The config file + active profile, loaded on first use (errors are ConfigError)."""
        if self._config is None:
            from sochi_cli.store import config

            self._config = config.load(self.profile_override)
            for warning in self._config.warnings:
                self.out.warn(warning)
        return self._config

    @property
    def profile(self) -> str:
        return self.config.profile


def app_context(ctx: typer.Context) -> AppContext:
    """The AppContext of this invocation (built by the root callback)."""
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):  # a command run without the root app (tests)
        obj = AppContext(out=Output())
        ctx.find_root().obj = obj
    return obj


__all__ = ["AppContext", "app_context"]
