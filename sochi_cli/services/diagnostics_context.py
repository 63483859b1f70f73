"""What the doctor's checks share: the config, one operator client, answers fetched once.

Every operator answer is fetched at most once per run and memoised with its error, so
`account.balance` and `access.abroad` see the same `GET /account` outcome.

A check that asks the operator something on the way to its own subject (the signing
certificate, the account) may meet a condition another check owns: the operator refuses
the connection from abroad (`access.abroad`), is in maintenance (`operator.status`), the
session is gone (`operator.session`), the operator cannot be reached. Such a check never
blames its subject for it: `DoctorContext.defer` makes it `skipped (see <owner>)`, or, when
the owner is not in this report (`--only signing`), skipped with the `--only` that checks
it. An unreachable operator the network checks did not see is reported by the first check
that meets it, with its own message and exit code; later ones skip `(see <that check>)`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from sochi_cli.errors import SochiError

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Account
    from sochi_cli.services.diagnostics import DoctorOptions, Finding
    from sochi_cli.services.status import StatusReport
    from sochi_cli.store.config import Config

T = TypeVar("T")
DOCTOR_TIMEOUT = 15.0  # seconds per request: a slow operator is a finding, not a hang
# a failure of one of these makes every later check that needs the operator skip
NETWORK_GATES = ("network.dns", "network.tcp", "network.tls", "network.latency", "operator.status")


class SkipCheck(Exception):
    """Raised by a check that cannot run here; it becomes a `skipped` finding."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def cause_of(err: SochiError) -> tuple[str | None, str] | None:
    """The check that owns an operator-side condition, and the condition in words; None
    when `err` is about the subject the check was asking for (a key, a credential…).

    Owner None: the operator cannot be reached, which the network checks own only when
    they saw it (then later checks are skipped before they ask)."""
    from sochi_cli.api import errors as api
    from sochi_cli.errors import ExitCode

    if isinstance(err, api.GeoBlocked) or err.code == "geo_blocked":
        return "access.abroad", "the operator refuses this connection from abroad"
    if isinstance(err, api.Maintenance) or err.code == "maintenance":
        return "operator.status", "the operator is in planned maintenance"
    if isinstance(err, api.Unauthorized) or err.code == "not_logged_in":
        return "operator.session", "needs a session"
    if err.exit_code == ExitCode.UNAVAILABLE:
        return None, "the operator cannot be reached"
    return None


class DoctorContext:
    """Per-run state: config (or its error), the operator client, memoised answers."""

    def __init__(self, options: DoctorOptions, selected: Sequence[str] = ()) -> None:
        from sochi_cli.store import config as config_store

        self.options = options
        self.selected = set(selected)  # the ids of the checks this report runs
        self.current: str | None = None  # the id of the check running now
        self._reporters: dict[str, str] = {}  # condition → the check that reported it
        self.config: Config | None = None
        self.config_error: SochiError | None = None
        self.findings: dict[str, Finding] = {}
        self._memo: dict[str, tuple[bool, Any]] = {}
        self._client: OperatorClient | None = None
        self._network_down: str | None = None
        self.names: set[str] = set()  # people's and companies' names met (a bundle masks them)
        try:
            self.config = config_store.load(options.profile)
        except SochiError as err:
            self.config_error = err

    # -- identity ----------------------------------------------------------------------
    @property
    def profile(self) -> str:
        """The active profile, or the one a broken config would most likely have chosen."""
        if self.config is not None:
            return self.config.profile
        from sochi_cli.store.config import DEFAULT_PROFILE

        return self.options.profile or os.environ.get("SOCHI_PROFILE") or DEFAULT_PROFILE

    @property
    def api_url(self) -> str | None:
        return str(self.config.get("api_url")) if self.config is not None else None

    def require_config(self) -> Config:
        if self.config is None:
            raise SkipCheck("the config must be fixed first (see setup.config)")
        return self.config

    @property
    def signer_kind(self) -> str:
        return str(self.require_config().get("signer") or "file")

    # -- network gating ----------------------------------------------------------------
    def record(self, finding: Finding) -> None:
        from sochi_cli.services.diagnostics import Result

        self.findings[finding.id] = finding
        if finding.id in NETWORK_GATES and finding.result is Result.FAIL:
            self._network_down = finding.id

    def network_skip_reason(self) -> str | None:
        if self.options.offline:
            return "--offline"
        if self.config is None:
            return "the config must be fixed first (see setup.config)"
        if self._network_down == "operator.status":
            return "the operator is in planned maintenance (see operator.status)"
        if self._network_down is not None:
            return f"the operator cannot be reached (see {self._network_down})"
        return None

    @property
    def online(self) -> bool:
        return self.network_skip_reason() is None

    def require_online(self) -> None:
        """For checks that first decide whether they apply, then need the operator."""
        reason = self.network_skip_reason()
        if reason is not None:
            raise SkipCheck(reason)

    def defer(self, err: SochiError) -> SkipCheck | None:
        """For an error met asking the operator on the way to the check's subject: the skip
        that names the check reporting its cause, or None when the running check is the one
        to report it (it re-raises `err`) or `err` is the subject's own (see the module
        docstring)."""
        from sochi_cli.services.diagnostics import Result

        cause = cause_of(err)
        if cause is None:
            return None
        owner, words = cause
        if owner is not None and owner != self.current:
            if owner not in self.selected:
                group = owner.split(".", 1)[0]
                return SkipCheck(f"{words} (`sochi doctor --only {group}` checks it)")
            done = self.findings.get(owner)
            if done is None or done.result is not Result.OK:  # it reports it, or did
                return SkipCheck(f"{words} (see {owner})")
        reporter = self._reporters.setdefault(owner or err.code, self.current or "")
        if reporter and reporter != self.current:
            return SkipCheck(f"{words} (see {reporter})")
        return None

    def reraise_deferred(self, err: SochiError) -> None:
        """Raise the skip `defer` chose, or `err` itself when this check reports an
        operator-side cause; return when `err` is the subject's own."""
        skip = self.defer(err)
        if skip is not None:
            raise skip from None
        if cause_of(err) is not None:
            raise err

    # -- the operator ------------------------------------------------------------------
    def client(self) -> OperatorClient:
        """One client for the run (session tokens attached), few quick retries."""
        if self._client is None:
            from sochi_cli.api.client import OperatorClient, RetryPolicy
            from sochi_cli.services.session import token_store

            config = self.require_config()
            self._client = OperatorClient(
                str(config.get("api_url")),
                timeout=min(float(config.get("timeout")), DOCTOR_TIMEOUT),
                ca_bundle=config.get("ca_bundle"),
                tokens=token_store(config),
                retry=RetryPolicy(attempts=2, timeout=DOCTOR_TIMEOUT),
            )
        return self._client

    def memo(self, key: str, fetch: Callable[[], T]) -> T:
        """`fetch()` once per run; its error is remembered and raised again."""
        if key not in self._memo:
            try:
                self._memo[key] = (True, fetch())
            except SochiError as err:
                self._memo[key] = (False, err)
            except OSError as exc:  # e.g. refreshed session tokens that cannot be saved
                from sochi_cli.errors import StorageError

                name = getattr(exc, "filename", None) or "a local file"
                problem = StorageError(f"cannot write {name}: {exc.strerror or exc}")
                self._memo[key] = (False, problem)
        ok, value = self._memo[key]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def status(self) -> StatusReport:
        from sochi_cli.services.status import operator_status

        return self.memo("status", lambda: operator_status(self.client(), clock=self.options.clock))

    def account(self) -> Account:
        """GET /account with the session (refreshing it if needed): the session's proof."""
        from sochi_cli.services.account import get_account

        account = self.memo("account", lambda: get_account(self.client()))
        r = account.requisites
        self.note_names(
            account.name,
            r.legal_name,
            r.head_name,
            r.legal_address,
            r.actual_address,
            r.head_passport_number,
            r.email,
            r.phone,
        )
        return account

    def note_names(self, *values: str | None) -> None:
        """Remember personal or company names seen, so a bundle can mask them."""
        self.names.update(v.strip() for v in values if v and v.strip())

    def today(self) -> date:
        """The Bishkek date on the operator's clock when known, else on this machine's."""
        from sochi_cli.timeutil import to_bishkek

        try:
            return to_bishkek(self.status().status.server_time).date()
        except (SochiError, SkipCheck):
            return to_bishkek(self.options.clock()).date()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


__all__ = ["DOCTOR_TIMEOUT", "DoctorContext", "SkipCheck", "cause_of"]
