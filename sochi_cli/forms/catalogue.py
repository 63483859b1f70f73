"""The form catalogue cached per profile (`<cache>/profiles/NAME/forms/`), read without network.

`catalogue.json` holds the list (for `forms list` and shell completion); `<CODE>.json`
holds one form with its schema (for `validate`). Reading codes needs no pydantic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sochi_cli.store import paths
from sochi_cli.timeutil import utcnow

if TYPE_CHECKING:
    from sochi_cli.api.models import Form

CATALOGUE = "catalogue.json"


def forms_cache_dir(profile: str) -> Path:
    return paths.profile_cache_dir(profile) / "forms"


def _form_file(profile: str, code: str) -> Path:
    safe = "".join(ch for ch in code if ch.isalnum() or ch in "-_.")
    return forms_cache_dir(profile) / f"{safe}.json"


def _write(path: Path, data: Any, what: str) -> None:
    from sochi_cli.store.files import write_cache

    write_cache(path, json.dumps(data, ensure_ascii=False, indent=1).encode(), what)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def save_catalogue(profile: str, forms: list[Form]) -> None:
    items = [f.to_json() for f in forms]
    data = {"fetched_at": _now(), "items": items}
    _write(forms_cache_dir(profile) / CATALOGUE, data, "form catalogue")


def save_form(profile: str, form: Form) -> None:
    data = {"fetched_at": _now(), "form": form.to_json()}
    _write(_form_file(profile, form.code), data, f"form {form.code}")


def _now() -> str:
    return utcnow().replace(microsecond=0).isoformat().replace("+00:00", "Z")


def cached_catalogue(profile: str) -> list[dict[str, Any]] | None:
    data = _read(forms_cache_dir(profile) / CATALOGUE)
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return [i for i in data["items"] if isinstance(i, dict)]
    return None


def cached_codes(profile: str) -> list[str]:
    """Form codes known locally (catalogue or single forms); for shell completion."""
    codes = {str(i.get("code")) for i in cached_catalogue(profile) or [] if i.get("code")}
    folder = forms_cache_dir(profile)
    if folder.is_dir():
        codes.update(p.stem for p in folder.glob("*.json") if p.name != CATALOGUE)
    return sorted(codes)


def load_form(profile: str, code: str) -> Form | None:
    """The cached form with its schema, or None (not cached or unreadable)."""
    data = _read(_form_file(profile, code))
    if not isinstance(data, dict) or not isinstance(data.get("form"), dict):
        return None
    from pydantic import ValidationError

    from sochi_cli.api.models import Form

    try:
        form = Form.model_validate(data["form"])
    except ValidationError:
        return None
    return form if form.form_schema is not None else None


__all__ = [
    "cached_catalogue",
    "cached_codes",
    "forms_cache_dir",
    "load_form",
    "save_catalogue",
    "save_form",
]
