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
    what = "a whole number" if kind is int else "a number"

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"expected {what}")
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected {what}") from None
        if number <= 0:
            raise ValueError("must be greater than zero")
        return number

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return str(value)


def _path(value: Any) -> str:
    """A file's path: text, not empty, without the NUL byte no file name can hold."""
    text = _text(value)
    if not text.strip():
        raise ValueError("expected a file's path, not an empty string")
    if "\0" in text:
        raise ValueError("a path cannot contain a NUL character")
    return text


def _profile_name(value: Any) -> str:
    name = _text(value)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        raise ValueError("profile names use letters, digits, '.', '_' and '-'")
    return name


# What a key's value must be in the TOML file, before its own checks run: the environment
# and `config set` give text, which each key's parser converts; the file has real types.
_FILE_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "text": ((str,), "a string"),
    "path": ((str,), "a file's path (a string)"),
    "float": ((int, float), "a number"),
    "int": ((int,), "a whole number"),
}


def _toml_type(value: Any) -> str:
    """How TOML calls the type of a parsed value, for 'expected a string, not an integer'."""
    if isinstance(value, bool):
        return "a boolean"
    names = {int: "an integer", float: "a float", str: "a string", list: "an array"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    if isinstance(value, dict):
        return "a table"
    return "a date/time"


@dataclass(frozen=True)
class Setting:
    """One documented configuration key."""

    name: str
    help: str
    parse: Callable[[Any], Any] = _text
    default: Any = None
    kind: str = "text"  # the value's type in the file: a key of _FILE_TYPES

    def from_file(self, value: Any) -> Any:
        """The value as read from the TOML file: its type first, then the key's own rules."""
        types, expected = _FILE_TYPES[self.kind]
        if isinstance(value, bool) or not isinstance(value, types):
            raise ValueError(f"expected {expected}, not {_toml_type(value)}")
        return self.parse(value)


PROFILE_SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("api_url", "operator API base URL", validate_api_url),
        Setting(
            "ca_bundle", "extra CA bundle (PEM) to trust for the operator's TLS", _path, kind="path"
        ),
        Setting("signer", "default signer: file, pkcs11 or cloud", _one_of(SIGNERS)),
        Setting("pkcs11_lib", "path of the PKCS#11 library (RuToken driver)", _path, kind="path"),
        Setting("token_label", "PKCS#11 token label (or serial) to use"),
        Setting("key_id", "key on the token: CKA_ID hex, label or certificate serial"),
        Setting(
            "key_file",
            "PKCS#12/PEM key file for the file signer (development only)",
            _path,
            kind="path",
        ),
        Setting("cert_file", "certificate of a PEM key_file", _path, kind="path"),
        Setting("cloud_credential", "E-Cloud credential id for remote signing"),
        Setting(
            "rsa_padding",
            "RSA signatures: pkcs1v15 (default) or pss (RSASSA-PSS, SHA-256)",
            _one_of(("pkcs1v15", "pss")),
        ),
        Setting("inn", "your INN, which E-Cloud signing needs (SOCHI_INN)"),
        Setting("timeout", "HTTP timeout, seconds", _positive(float), 30.0, kind="float"),
        Setting("concurrency", "parallel submissions in a batch", _positive(int), 8, kind="int"),
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


def _check(path: Path, text: str, data: dict[str, Any], *, repair: bool = False) -> list[str]:
    """Validate types and values in the file; unknown keys are warnings (forward compatible).

    With `repair` (`config set`/`unset`, which rewrite the file) a bad value is a warning
    and left out, so the command that fixes it can run; everything else refuses the file.
    """
    warnings: list[str] = []

    def invalid(where: str, name: str, problem: str, table: dict[str, Any], key: str) -> None:
        if not repair:
            raise ConfigError(
                f"{where}: {name}: {problem}",
                hint=f"fix it with `sochi config set {name} VALUE` or `sochi config unset {name}`",
            )
        warnings.append(f"{where}: {name}: {problem} (ignored until fixed)")
        del table[key]

    for key, value in list(data.items()):
        if key == "profiles":
            if not isinstance(value, dict):
                raise ConfigError(f"{_where(path, text, None, key)}: 'profiles' must be a table")
            continue
        if key not in GLOBAL_SETTINGS:
            warnings.append(f"{_where(path, text, None, key)}: unknown key '{key}' ignored")
            continue
        try:
            data[key] = GLOBAL_SETTINGS[key].from_file(value)
        except ValueError as exc:
            invalid(_where(path, text, None, key), key, str(exc), data, key)
    for name, section in data.get("profiles", {}).items():
        table = f"profiles.{name}"
        if not isinstance(section, dict):
            raise ConfigError(f"{_where(path, text, 'profiles', name)}: {table} must be a table")
        try:
            _profile_name(name)
        except ValueError as exc:
            raise ConfigError(f"{path}: [{table}]: {exc}") from None
        for key, value in list(section.items()):
            if key not in PROFILE_SETTINGS:
                warnings.append(
                    f"{_where(path, text, table, key)}: unknown key '{table}.{key}' ignored"
                )
                continue
            try:
                section[key] = PROFILE_SETTINGS[key].from_file(value)
            except ValueError as exc:
                invalid(_where(path, text, table, key), f"{table}.{key}", str(exc), section, key)
    return warnings


def load(
    profile: str | None = None,
    path: Path | None = None,
    *,
    allow_new_profile: bool = False,
    inspect: bool = False,
    repair: bool = False,
) -> Config:
    """Read and validate the config file and pick the active profile.

    Profile choice: `profile` argument (from --profile) > SOCHI_PROFILE > file's
    default_profile > "sandbox". For the `config` commands, which must be able to show and
    fix a broken file: with `inspect` a `default_profile` that names no profile is a warning,
    not an error; `repair` (`config set`/`unset`) also gets past a bad value (`_check`).
    """
    path = path or paths.config_file()
    text, data = _read(path)
    warnings = _check(path, text, data, repair=repair)
    explicit = profile or os.environ.get("SOCHI_PROFILE")
    chosen = explicit or data.get("default_profile") or DEFAULT_PROFILE
    config = Config(path=path, data=data, profile=chosen, warnings=warnings)
    if chosen in config.profiles or (allow_new_profile and profile):
        return config
    known = ", ".join(config.profiles)
    if not explicit and "default_profile" in data:
        where = _where(path, text, None, "default_profile")
        problem = f"{where}: default_profile '{chosen}' names no profile"
        fix = (
            f"known profiles: {known}; choose one with `sochi config set default_profile NAME`, "
            f"or create it with `sochi config set profiles.{chosen}.api_url URL`"
        )
        if inspect or repair:
            warnings.append(f"{problem}; other commands refuse to run — {fix}")
            return config
        raise ConfigError(problem, hint=fix, code="unknown_profile")
    raise ConfigError(
        f"unknown profile '{chosen}'",
        hint=f"known profiles: {known}; "
        f"create one with `sochi config set profiles.{chosen}.api_url URL`",
        code="unknown_profile",
    )


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
    if name == "default_profile" and parsed is not None and parsed not in config.profiles:
        raise UsageError(
            f"default_profile: unknown profile '{parsed}'",
            hint=f"known profiles: {', '.join(config.profiles)}; create it first with "
            f"`sochi config set profiles.{parsed}.api_url URL`",
            code="unknown_profile",
        )
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

    from sochi_cli.store.files import atomic_write_text, own_file

    # Re-read from disk: the file may have changed since load(); refuse to touch a broken one.
    text, _ = _read(config.path)
    document = tomlkit.parse(text) if text else tomlkit.document()
    removing = all(value is None for value in values.values())
    if profile is None:
        target: Mapping[str, Any] = document
    elif removing and profile not in document.get("profiles", {}):
        return  # removing from a profile the file does not have: nothing to change
    else:
        profiles = document.setdefault("profiles", tomlkit.table(is_super_table=True))
        target = profiles.setdefault(profile, tomlkit.table())
    for name, value in values.items():
        if value is None:
            if name in target:
                del target[name]  # type: ignore[attr-defined]
        else:
            target[name] = value  # type: ignore[index]
    with own_file(
        config.path,
        "config file",
        hint="the file was not changed; make it writable or set SOCHI_CONFIG to another file",
    ):
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
