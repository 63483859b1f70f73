"""What the TUI remembers per profile between runs: last screen, filters, column widths, theme.

One small JSON file per profile under the platform's user state directory
(`SOCHI_STATE_DIR` overrides it). A missing or damaged file is an empty state, never an error:
forgetting a column width must not stop anyone from filing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = "tui.json"


def state_dir() -> Path:
    value = os.environ.get("SOCHI_STATE_DIR")
    if value:
        return Path(value).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir("sochi", appauthor=False))


def state_path(profile: str) -> Path:
    return state_dir() / "profiles" / profile / STATE_FILE


def load_state(profile: str) -> dict[str, Any]:
    try:
        data = json.loads(state_path(profile).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(profile: str, state: dict[str, Any]) -> bool:
    """Write the state atomically (0600); False when the directory cannot be written."""
    from sochi_cli.store.files import atomic_write_text
    from sochi_cli.store.paths import ensure_private_dir

    path = state_path(profile)
    try:
        ensure_private_dir(path.parent)
        atomic_write_text(path, json.dumps(state, indent=1, sort_keys=True), mode=0o600)
    except OSError:
        return False
    return True


__all__ = ["load_state", "save_state", "state_dir", "state_path"]
