"""What every screen of the TUI shares: the profile's config and the remembered UI state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sochi_cli.services.profiles import Config


class TuiContext:
    """The active profile, its configuration (loaded lazily) and the state kept per profile."""

    def __init__(self, profile_override: str | None = None) -> None:
        self.profile_override = profile_override
        self._config: Config | None = None
        self._state: dict[str, Any] | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from sochi_cli.services.profiles import load_config

            self._config = load_config(self.profile_override)
        return self._config

    @property
    def profile(self) -> str:
        return self.config.profile

    @property
    def api_url(self) -> str:
        return str(self.config.get("api_url"))

    # remembered state ------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        if self._state is None:
            from sochi_cli.services.ui_state import load_state

            self._state = load_state(self.profile)
        return self._state

    def remembered(self, section: str, name: str, default: Any = None) -> Any:
        part = self.state.get(section)
        return part.get(name, default) if isinstance(part, dict) else default

    def remember(self, section: str, name: str, value: Any) -> None:
        part = self.state.setdefault(section, {})
        if isinstance(part, dict):
            part[name] = value

    def save(self) -> bool:
        from sochi_cli.services.ui_state import save_state

        return save_state(self.profile, self.state)


__all__ = ["TuiContext"]
