"""The operator session: signed-challenge login, tokens kept 0600 per profile, the API client.

`open_client(config)` is how every service gets an `OperatorClient` for the active profile:
base URL, timeout and CA bundle from the profile, tokens from `SOCHI_ACCESS_TOKEN` or the
profile's `session.json` (refreshed tokens are written back atomically).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

from sochi_cli.errors import AuthError, StorageError
from sochi_cli.logs import register_secret
from sochi_cli.store import paths
from sochi_cli.timeutil import utcnow

if TYPE_CHECKING:
    import httpx

    from sochi_cli.api.client import AsyncOperatorClient, OperatorClient
    from sochi_cli.api.models import Subscriber, TokenGrant
    from sochi_cli.store.config import Config
    from sochi_cli.token.base import Signer

SESSION_FILE = "session.json"
REFRESH_LOCK_SECONDS = 60.0  # how long to wait for another process refreshing the session
ACCESS_TOKEN_ENV = "SOCHI_ACCESS_TOKEN"  # noqa: S105 - the variable's name, not a token


def session_path(profile: str) -> Path:
    return paths.profile_data_dir(profile) / SESSION_FILE


@dataclass
class SessionInfo:
    """What `sochi whoami` shows: never the tokens themselves."""

    profile: str
    api_url: str
    source: str  # "file" | "env"
    subscriber: dict[str, Any] | None
    obtained_at: str | None
    access_expires_at: str | None
    path: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "api_url": self.api_url,
            "source": self.source,
            "subscriber": self.subscriber,
            "obtained_at": self.obtained_at,
            "access_expires_at": self.access_expires_at,
            "path": self.path,
        }


class FileTokens:
    """TokenStore over `session.json` of a profile (0600 file in a 0700 directory)."""

    def __init__(self, profile: str, api_url: str) -> None:
        self.profile = profile
        self.api_url = api_url
        self.path = session_path(profile)
        self._reload()

    def _reload(self) -> None:
        self._data = _read_session(self.path)
        if self._data and self._data.get("api_url") != self.api_url:
            self._data = {}  # a session for another endpoint is not ours
        register_secret(self._data.get("access_token"))
        register_secret(self._data.get("refresh_token"))

    @contextlib.contextmanager
    def serialized(self) -> Iterator[None]:
        """One refresh at a time across processes: an `flock` on `session.json.lock`, then
        `session.json` read again — refresh tokens are single use, so a process that waited
        here finds the tokens another one just got and uses them instead of refreshing."""
        import fcntl
        import time

        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            paths.ensure_private_dir(lock_path.parent)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            # a data directory that cannot be written: no new tokens could be saved either,
            # and `check_writable` says so in its own words before any refresh is asked for
            self._reload()
            yield
            return
        try:
            deadline = time.monotonic() + REFRESH_LOCK_SECONDS
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise AuthError(
                            "another sochi process has been refreshing the session for "
                            f"{REFRESH_LOCK_SECONDS:.0f} s",
                            hint="wait for it and rerun, or run `sochi login`",
                            code="session_busy",
                        ) from None
                    time.sleep(0.02)
            self._reload()
            yield
        finally:
            os.close(fd)  # closing releases the flock

    @property
    def data(self) -> dict[str, Any]:
        return self._data

    def access_token(self) -> str | None:
        value = self._data.get("access_token")
        return value if isinstance(value, str) else None

    def refresh_token(self) -> str | None:
        value = self._data.get("refresh_token")
        return value if isinstance(value, str) else None

    def store(self, grant: TokenGrant) -> None:
        try:
            save_session(self.profile, self.api_url, grant)
        except StorageError as exc:
            raise StorageError(
                f"the session was refreshed at the operator but its new tokens could not be "
                f"saved: {exc.message}",
                hint="make the data directory writable and run `sochi login`",
                code="session_not_saved",
            ) from None
        self._data = _read_session(self.path)

    def check_writable(self) -> None:
        """Refuse to refresh when the new tokens could not be saved (the session is kept)."""
        try:
            paths.ensure_private_dir(self.path.parent)
            probe = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed right below
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".probe"
            )
            try:
                probe.write(b"\0" * 4096)  # a full disk refuses data, not always the inode
                probe.flush()
                os.fsync(probe.fileno())
            finally:
                probe.close()
        except OSError as exc:
            from sochi_cli.store.files import os_reason, printable

            raise StorageError(
                f"the session's access token has expired and the new tokens could not be "
                f"saved to {printable(self.path)} ({os_reason(exc)}), so it was not refreshed",
                hint="make the data directory writable (the session stays usable) or set "
                "SOCHI_DATA_DIR",
                code="session_not_writable",
            ) from None


class EnvTokens:
    """An access token given by the environment: used as is, never refreshed or stored."""

    def __init__(self, token: str) -> None:
        register_secret(token)
        self._token = token

    def access_token(self) -> str | None:
        return self._token

    def refresh_token(self) -> str | None:
        return None

    def store(self, grant: TokenGrant) -> None:  # pragma: no cover - no refresh token
        return None

    def check_writable(self) -> None:  # pragma: no cover - no refresh token
        return None

    def serialized(self) -> contextlib.AbstractContextManager[None]:  # pragma: no cover
        return contextlib.nullcontext()


def _read_session(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # unreadable or corrupt: treated as logged out, `sochi login` rewrites it
    return data if isinstance(data, dict) else {}


def save_session(profile: str, api_url: str, grant: TokenGrant) -> Path:
    from sochi_cli.store.files import atomic_write_text

    register_secret(grant.access_token)
    register_secret(grant.refresh_token)
    now = utcnow().replace(microsecond=0)
    data = {
        "api_url": api_url,
        "access_token": grant.access_token,
        "refresh_token": grant.refresh_token,
        "obtained_at": _iso(now),
        "access_expires_at": _iso(now + timedelta(seconds=grant.expires_in)),
        "subscriber": grant.subscriber.to_json(),
    }
    path = session_path(profile)
    try:
        paths.ensure_private_dir(path.parent)
        atomic_write_text(path, json.dumps(data, indent=2), mode=0o600)
    except OSError as exc:
        from sochi_cli.store.journal import storage_error

        raise storage_error(exc, path, "session") from None
    return path


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def token_store(config: Config) -> FileTokens | EnvTokens:
    env = os.environ.get(ACCESS_TOKEN_ENV)
    if env:
        return EnvTokens(env)
    return FileTokens(config.profile, str(config.get("api_url")))


def open_client(
    config: Config,
    *,
    authenticated: bool = True,
    transport: httpx.BaseTransport | None = None,
) -> OperatorClient:
    """A sync client for the active profile (tokens attached when `authenticated`)."""
    from sochi_cli.api.client import OperatorClient

    return OperatorClient(
        str(config.get("api_url")),
        timeout=float(config.get("timeout")),
        ca_bundle=config.get("ca_bundle"),
        tokens=token_store(config) if authenticated else None,
        transport=transport,
    )


def open_async_client(
    config: Config,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 16,
) -> AsyncOperatorClient:
    """The async client for the batch engine, same profile settings and tokens."""
    from sochi_cli.api.client import AsyncOperatorClient

    return AsyncOperatorClient(
        str(config.get("api_url")),
        timeout=float(config.get("timeout")),
        ca_bundle=config.get("ca_bundle"),
        tokens=token_store(config),
        transport=transport,
        max_connections=max_connections,
    )


def sign_in(client: OperatorClient, signer: Signer) -> TokenGrant:
    """The signed-challenge exchange: challenge → CMS over the nonce → tokens (not stored)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from sochi_cli.api import resources
    from sochi_cli.cms import sign_detached

    challenge = client.call(resources.auth.challenge())
    try:
        nonce = base64.b64decode(challenge.nonce, validate=True)
    except ValueError:
        raise AuthError("the operator's challenge nonce is not base64") from None
    with signer:
        signature = sign_detached(nonce, signer)
        certificate = signer.certificate.public_bytes(Encoding.DER)
    return client.call(resources.auth.token(challenge.challenge_id, certificate, signature))


def login(config: Config, signer: Signer, *, client: OperatorClient | None = None) -> Subscriber:
    """Sign in with `signer` and store the session of the active profile (0600)."""
    own = client is None
    client = client or open_client(config, authenticated=False)
    try:
        grant = sign_in(client, signer)
    finally:
        if own:
            client.close()
    save_session(config.profile, str(config.get("api_url")), grant)
    return grant.subscriber


def logout(config: Config) -> bool:
    """End the session at the operator (best effort) and delete the local tokens.

    The tokens must be deletable first: a session ended at the operator whose tokens stay
    here would look alive and fail at its next use. So when they cannot be, nothing is done
    (StorageError, exit 10) and the session stays open, here and at the operator.
    """
    from sochi_cli.api import resources
    from sochi_cli.errors import SochiError

    path = session_path(config.profile)
    tokens = FileTokens(config.profile, str(config.get("api_url")))
    had_session = path.exists()
    if had_session:
        _check_forgettable(path)
    if tokens.access_token():
        from sochi_cli.api.client import OperatorClient

        client = OperatorClient(
            str(config.get("api_url")),
            timeout=float(config.get("timeout")),
            ca_bundle=config.get("ca_bundle"),
            tokens=tokens,
        )
        # Expired or unreachable: the local tokens go anyway.
        with client, contextlib.suppress(SochiError):
            client.call(resources.auth.logout())
    _forget(path)
    return had_session


def _check_forgettable(path: Path) -> None:
    """Whether the session file can be deleted, or at least emptied in place."""
    from sochi_cli.store.files import os_reason, printable, write_probe

    try:
        write_probe(path.parent)
        return
    except OSError as exc:
        reason = os_reason(exc)
    try:
        os.close(os.open(path, os.O_WRONLY))  # a writable file can be emptied instead
        return
    except OSError:
        pass
    raise StorageError(
        f"cannot log out: the session's tokens at {printable(path)} cannot be deleted "
        f"({reason}); nothing was done, the session is still open",
        hint="make the data directory writable or set SOCHI_DATA_DIR, then run "
        "`sochi logout` again",
        code="session_not_writable",
    )


def _forget(path: Path) -> None:
    """Delete the session file, or empty it when only the file is writable (an empty
    session is no session); the error says the tokens no longer work."""
    from sochi_cli.store.files import os_reason, printable

    try:
        path.unlink(missing_ok=True)
        return
    except OSError as exc:
        reason = os_reason(exc)
    try:
        with open(path, "wb"):
            return
    except OSError:
        pass
    raise StorageError(
        f"the session's tokens at {printable(path)} could not be deleted ({reason})",
        hint="the operator was asked to end the session; delete the file yourself, or run "
        "`sochi login` to replace it",
        code="session_not_deleted",
    )


def session_info(config: Config) -> SessionInfo:
    """The stored session (or env token) without contacting the operator."""
    api_url = str(config.get("api_url"))
    env = os.environ.get(ACCESS_TOKEN_ENV)
    if env:
        register_secret(env)
        return SessionInfo(config.profile, api_url, "env", None, None, None, None)
    tokens = FileTokens(config.profile, api_url)
    if not tokens.access_token():
        raise AuthError(
            f"not logged in (profile {config.profile})",
            hint="run `sochi login`",
            code="not_logged_in",
        )
    data = tokens.data
    subscriber = data.get("subscriber")
    return SessionInfo(
        profile=config.profile,
        api_url=api_url,
        source="file",
        subscriber=subscriber if isinstance(subscriber, dict) else None,
        obtained_at=data.get("obtained_at"),
        access_expires_at=data.get("access_expires_at"),
        path=str(tokens.path),
    )


__all__ = [
    "ACCESS_TOKEN_ENV",
    "EnvTokens",
    "FileTokens",
    "SessionInfo",
    "login",
    "logout",
    "open_async_client",
    "open_client",
    "save_session",
    "session_info",
    "session_path",
    "sign_in",
    "token_store",
]
