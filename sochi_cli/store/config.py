"""Configuration: a TOML file of profiles, built-in `sandbox`/`production`, SOCHI_* overrides.

Reads use the standard library's tomllib (fast, on every command); writes use tomlkit so a
user's comments and layout survive `sochi config set`. A malformed file is reported with
its line and never rewritten.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sochi_cli.errors import ConfigError, UsageError
from sochi_cli.store import paths

DEFAULT_PROFILE = "sandbox"
SANDBOX_DEFAULT_PORT = 8788
SANDBOX_API_URL = f"http://127.0.0.1:{SANDBOX_DEFAULT_PORT}/api/v1"
PRODUCTION_API_URL = "https://sochi.dostek.kg/api/v1"
SIGNERS = ("file", "pkcs11", "cloud")


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_api_url(value: str) -> str:
    """An https URL, or plain http only to a loopback address (TLS is never optional)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL such as https://sochi.dostek.kg/api/v1")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("plain http is allowed only to loopback (127.0.0.1, ::1); use https")
    return value.rstrip("/")


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of: {', '.join(choices)}")
        return value

    return check


def _positive(kind: type[int] | type[float]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"expected a {kind.__name__}")
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a {kind.__name__}") from None
        if number <= 0:
            raise ValueError("must be greater than zero")
        return number

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return str(value)


def _profile_name(value: Any) -> str:
    name = _text(value)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        raise ValueError("profile names use letters, digits, '.', '_' and '-'")
    return name


@dataclass(frozen=True)
class Setting:
    """One documented configuration key."""

    name: str
    help: str
    parse: Callable[[Any], Any] = _text
    default: Any = None


PROFILE_SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("api_url", "operator API base URL", validate_api_url),
        Setting("ca_bundle", "extra CA bundle (PEM) to trust for the operator's TLS"),
        Setting("signer", "default signer: file, pkcs11 or cloud", _one_of(SIGNERS)),
        Setting("pkcs11_lib", "path of the PKCS#11 library (RuToken driver)"),
        Setting("token_label", "PKCS#11 token label (or serial) to use"),
        Setting("key_id", "key on the token: CKA_ID hex, label or certificate serial"),
        Setting("key_file", "PKCS#12/PEM key file for the file signer (development only)"),
        Setting("cert_file", "certificate of a PEM key_file"),
        Setting("cloud_credential", "E-Cloud credential id for remote signing"),
        Setting(
            "rsa_padding",
            "RSA signatures: pkcs1v15 (default) or pss (RSASSA-PSS, SHA-256)",
            _one_of(("pkcs1v15", "pss")),
        ),
        Setting("inn", "your INN, which E-Cloud signing needs (SOCHI_INN)"),
        Setting("timeout", "HTTP timeout, seconds", _positive(float), 30.0),
        Setting("concurrency", "parallel submissions in a batch", _positive(int), 8),
    )
}
GLOBAL_SETTINGS: dict[str, Setting] = {
    "default_profile": Setting(
        "default_profile", "profile used when --profile is not given", _profile_name
    ),
}
BUILTIN_PROFILES: dict[str, dict[str, Any]] = {
    "sandbox": {"api_url": SANDBOX_API_URL, "signer": "file"},
    "production": {"api_url": PRODUCTION_API_URL, "signer": "pkcs11"},
}


def env_var_for(key: str) -> str:
    return f"SOCHI_{key.upper()}"


@dataclass(frozen=True)
class Value:
    key: str
    value: Any
    source: str  # "env", "file", "builtin" or "default"


@dataclass
class Config:
    """The parsed config file plus the active profile's effective settings."""

    path: Path
    data: dict[str, Any]
    profile: str
    warnings: list[str] = field(default_factory=list)

    @property
    def profiles(self) -> list[str]:
        names = set(BUILTIN_PROFILES) | set(self.data.get("profiles", {}))
        return sorted(names)

    def resolve(self, key: str, profile: str | None = None) -> Value:
        """Effective value of a profile key: env > file > built-in profile > default."""
        setting = PROFILE_SETTINGS[key]
        name = profile or self.profile
        env = os.environ.get(env_var_for(key))
        if env is not None and name == self.profile:
            try:
                return Value(key, setting.parse(env), "env")
            except ValueError as exc:
                raise ConfigError(f"{env_var_for(key)}: {exc}") from None
        section = self.data.get("profiles", {}).get(name, {})
        if key in section:
            return Value(key, section[key], "file")
        if key in BUILTIN_PROFILES.get(name, {}):
            return Value(key, BUILTIN_PROFILES[name][key], "builtin")
        return Value(key, setting.default, "default")

    def get(self, key: str) -> Any:
        return self.resolve(key).value

    def effective(self) -> list[Value]:
        return [self.resolve(key) for key in PROFILE_SETTINGS]


def _line_of(text: str, table: str | None, key: str) -> int | None:
    """Line number of `key = ...` inside `[table]` (tomllib reports no positions for values).

    A small scanner rather than a full parser: it only has to point a human at the line.
    """
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.fullmatch(r"\[\s*([^\[\]]+?)\s*\]", line)
        if header:
            current = header.group(1).replace('"', "").replace(" ", "")
            continue
        if current == table and re.match(rf'"?{re.escape(key)}"?\s*=', line):
            return number
    return None


def _where(path: Path, text: str, table: str | None, key: str) -> str:
    line = _line_of(text, table, key)
    return f"{path}:{line}" if line else str(path)


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "", {}
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start})",
            hint="fix the file; sochi will not rewrite it",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read: {exc.strerror}", hint="check its permissions"
        ) from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        reason = re.sub(r"\s*\(at line.*\)$", "", str(exc)) or "invalid TOML"
        if match:
            where = f"{path}:{match.group(1)}:{match.group(2)}"
        else:  # "(at end of document)"
            where = f"{path}:{max(1, len(text.splitlines()))}"
        reason = re.sub(r"\s*\(at end of document\)$", " at end of file", reason)
        raise ConfigError(
            f"{where}: malformed TOML: {reason}", hint="fix the file; sochi will not rewrite it"
        ) from None


def _check(path: Path, text: str, data: dict[str, Any]) -> list[str]:
    """Validate types and values in the file; unknown keys are warnings (forward compatible)."""
    warnings: list[str] = []
    for key, value in data.items():
        if key == "profiles":
            if not isinstance(value, dict):
                raise ConfigError(f"{_where(path, text, None, key)}: 'profiles' must be a table")
            continue
        if key not in GLOBAL_SETTINGS:
            warnings.append(f"{_where(path, text, None, key)}: unknown key '{key}' ignored")
            continue
        try:
            data[key] = GLOBAL_SETTINGS[key].parse(value)
        except ValueError as exc:
            raise ConfigError(f"{_where(path, text, None, key)}: {key}: {exc}") from None
    for name, section in data.get("profiles", {}).items():
        table = f"profiles.{name}"
        if not isinstance(section, dict):
            raise ConfigError(f"{_where(path, text, 'profiles', name)}: {table} must be a table")
        try:
            _profile_name(name)
        except ValueError as exc:
            raise ConfigError(f"{path}: [{table}]: {exc}") from None
        for key, value in section.items():
            if key not in PROFILE_SETTINGS:
                warnings.append(
                    f"{_where(path, text, table, key)}: unknown key '{table}.{key}' ignored"
                )
                continue
            try:
                section[key] = PROFILE_SETTINGS[key].parse(value)
            except ValueError as exc:
                raise ConfigError(
                    f"{_where(path, text, table, key)}: {table}.{key}: {exc}"
                ) from None
    return warnings


def load(
    profile: str | None = None, path: Path | None = None, *, allow_new_profile: bool = False
) -> Config:
    """Read and validate the config file and pick the active profile.

    Profile choice: `profile` argument (from --profile) > SOCHI_PROFILE > file's
    default_profile > "sandbox".
    """
    path = path or paths.config_file()
    text, data = _read(path)
    warnings = _check(path, text, data)
    chosen = profile or os.environ.get("SOCHI_PROFILE") or data.get("default_profile")
    chosen = chosen or DEFAULT_PROFILE
    config = Config(path=path, data=data, profile=chosen, warnings=warnings)
    if chosen not in config.profiles and not (allow_new_profile and profile):
        raise ConfigError(
            f"unknown profile '{chosen}'",
            hint=f"known profiles: {', '.join(config.profiles)}; "
            f"create one with `sochi config set --profile {chosen} api_url URL`",
        )
    return config


def _split_key(key: str, active: str) -> tuple[str | None, str, Setting]:
    """Map a user-facing key to (profile or None for global, key, setting)."""
    if key in GLOBAL_SETTINGS:
        return None, key, GLOBAL_SETTINGS[key]
    match = re.fullmatch(r"profiles\.([A-Za-z0-9_.-]+)\.([a-z0-9_]+)", key)
    profile, name = (match.group(1), match.group(2)) if match else (active, key)
    if name not in PROFILE_SETTINGS:
        known = ", ".join([*GLOBAL_SETTINGS, *PROFILE_SETTINGS])
        raise UsageError(f"unknown config key '{key}'", hint=f"known keys: {known}")
    return profile, name, PROFILE_SETTINGS[name]


def get_value(config: Config, key: str) -> Value:
    profile, name, _ = _split_key(key, config.profile)
    if profile is None:
        return Value(
            name,
            config.data.get(name, DEFAULT_PROFILE),
            "file" if name in config.data else "default",
        )
    if profile not in config.profiles:
        raise ConfigError(f"unknown profile '{profile}'")
    return config.resolve(name, profile)


def set_value(config: Config, key: str, raw: str | None) -> Value | None:
    """Set (or with raw=None, remove) a key in the file, atomically, keeping its comments."""
    profile, name, setting = _split_key(key, config.profile)
    parsed: Any = None
    if raw is not None:
        try:
            parsed = setting.parse(raw)
        except ValueError as exc:
            raise UsageError(f"{key}: {exc}") from None
    _write_keys(config, profile, {name: parsed})
    return None if raw is None else Value(name, parsed, "file")


def set_profile_values(config: Config, values: Mapping[str, Any]) -> None:
    """Set several keys of the active profile in one atomic write (None removes a key)."""
    parsed: dict[str, Any] = {}
    for name, raw in values.items():
        setting = PROFILE_SETTINGS[name]
        try:
            parsed[name] = None if raw is None else setting.parse(raw)
        except ValueError as exc:
            raise UsageError(f"{name}: {exc}") from None
    _write_keys(config, config.profile, parsed)


def _write_keys(config: Config, profile: str | None, values: Mapping[str, Any]) -> None:
    import tomlkit

    from sochi_cli.store.files import atomic_write_text

    # Re-read from disk: the file may have changed since load(); refuse to touch a broken one.
    text, _ = _read(config.path)
    document = tomlkit.parse(text) if text else tomlkit.document()
    if profile is None:
        target: Mapping[str, Any] = document
    else:
        profiles = document.setdefault("profiles", tomlkit.table(is_super_table=True))
        target = profiles.setdefault(profile, tomlkit.table())
    for name, value in values.items():
        if value is None:
            if name in target:
                del target[name]  # type: ignore[attr-defined]
        else:
            target[name] = value  # type: ignore[index]
    paths.ensure_private_dir(config.path.parent)
    mode = config.path.stat().st_mode & 0o777 if config.path.exists() else 0o600
    atomic_write_text(config.path, tomlkit.dumps(document), mode=mode)
    section = config.data.setdefault("profiles", {}).setdefault(profile, {}) if profile else None
    for name, value in values.items():
        target_map = section if section is not None else config.data
        if value is None:
            target_map.pop(name, None)
        else:
            target_map[name] = value


__all__ = [
    "BUILTIN_PROFILES",
    "DEFAULT_PROFILE",
    "GLOBAL_SETTINGS",
    "PRODUCTION_API_URL",
    "PROFILE_SETTINGS",
    "SANDBOX_API_URL",
    "SANDBOX_DEFAULT_PORT",
    "Config",
    "Setting",
    "Value",
    "env_var_for",
    "get_value",
    "is_loopback_host",
    "load",
    "set_profile_values",
    "set_value",
    "validate_api_url",
]
