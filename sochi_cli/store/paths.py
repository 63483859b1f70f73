"""Where sochi keeps its files (platformdirs), each overridable by a SOCHI_* variable."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "sochi"


def _from_env_or(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    if value:
        return Path(value).expanduser()
    import platformdirs

    return Path(getattr(platformdirs, fallback)(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """Directory of config.toml (`SOCHI_CONFIG_DIR`, else the platform's user config dir)."""
    return _from_env_or("SOCHI_CONFIG_DIR", "user_config_dir")


def config_file() -> Path:
    """The config file itself (`SOCHI_CONFIG` names a file directly)."""
    value = os.environ.get("SOCHI_CONFIG")
    return Path(value).expanduser() if value else config_dir() / "config.toml"


def data_dir() -> Path:
    """Journal, archive and session tokens (`SOCHI_DATA_DIR`, else the user data dir)."""
    return _from_env_or("SOCHI_DATA_DIR", "user_data_dir")


def cache_dir() -> Path:
    """Form catalogue, CRLs, CA certificates (`SOCHI_CACHE_DIR`, else the user cache dir)."""
    return _from_env_or("SOCHI_CACHE_DIR", "user_cache_dir")


def profile_data_dir(profile: str) -> Path:
    return data_dir() / "profiles" / profile


def profile_cache_dir(profile: str) -> Path:
    return cache_dir() / "profiles" / profile


def ensure_private_dir(path: Path) -> Path:
    """Create `path` and its missing parents readable by the owner only (0700 each)."""
    from sochi_cli.store.files import make_private_dirs

    return make_private_dirs(path)


__all__ = [
    "cache_dir",
    "config_dir",
    "config_file",
    "data_dir",
    "ensure_private_dir",
    "profile_cache_dir",
    "profile_data_dir",
]
