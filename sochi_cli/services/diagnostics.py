"""`sochi doctor`: ordered checks of setup, network, operator, signing, account, clients, access
and recent trouble — each a `Finding` naming its offer-agreement clause and the fixing command.

API (for the CLI and the TUI's Doctor screen; nothing here prints or prompts)::

    from sochi_cli.services.diagnostics import DoctorOptions, run_doctor

    report = run_doctor(DoctorOptions(profile=None, offline=False, only=("network",)),
                        progress=lambda step: ...)   # called before and after every check
    report.findings        # list[Finding], in check order
    report.worst           # Result.OK | WARN | FAIL (skipped checks do not count)
    report.exit_code       # 0 all ok, ExitCode.WARNINGS (11) warn-only, else the first failure's
    report.to_json()       # the documented `sochi doctor --json` document

`run_doctor` never raises for what it diagnoses (a broken config, no network, a locked PIN
are findings); it is safe to call from a worker thread, and `DoctorOptions.cancelled` lets
the caller stop it between checks (`Interrupted`). A `Finding` is a frozen dataclass:
`id` (`group.name`), `group`, `result` (`ok|warn|fail|skipped`), `title`, `summary` (one
line), `evidence` (plain JSON data: instants as `…Z` strings, dates ISO — never a Python
object), `fix` (the exact command, or the action when there is none), `clause` (of the
offer agreement), `exit_code` (what a failure maps to). `evidence_lines(finding)` renders
the evidence as lines people read (instants in Bishkek time); `sochi doctor` prints them
under a warning or a failure, the TUI's Doctor screen under the highlighted check.
`Step` (index, total, check_id, title, finding or None) is what `progress` receives.
Checks live in `diagnostics_<group>.py`. The support bundle: `diagnostics_bundle.
write_bundle(path, report, mask=True, force=False)` → `BundleInfo`, and
`read_bundle(path)` → `BundleContents` (its `.report` renders like a fresh one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sochi_cli.errors import ExitCode, Interrupted, SochiError, UsageError
from sochi_cli.timeutil import iso_z, utcnow

if TYPE_CHECKING:
    from sochi_cli.services.diagnostics_context import DoctorContext

FORMAT_VERSION = 1


class Result(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


_SEVERITY = {Result.SKIPPED: 0, Result.OK: 0, Result.WARN: 1, Result.FAIL: 2}

GROUPS: tuple[str, ...] = (
    "setup",
    "network",
    "operator",
    "signing",
    "account",
    "representation",
    "access",
    "trouble",
)
GROUP_TITLES = {
    "setup": "Setup",
    "network": "Network",
    "operator": "Operator",
    "signing": "Signing",
    "account": "Account",
    "representation": "Clients and powers of attorney",
    "access": "Access from abroad",
    "trouble": "Recent trouble",
}


@dataclass(frozen=True)
class Finding:
    """The outcome of one check."""

    id: str
    group: str
    result: Result
    title: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None
    clause: str | None = None
    exit_code: int | None = None  # for a failure: the exit code it maps to
    duration_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group": self.group,
            "result": self.result.value,
            "title": self.title,
            "summary": self.summary,
            "evidence": self.evidence,
            "fix": self.fix,
            "clause": self.clause,
            "exit_code": self.exit_code,
            "duration_ms": self.duration_ms,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        """A finding read back from a bundle's report.json (strict about the shape)."""
        try:
            result = Result(str(data["result"]))
            evidence = data.get("evidence") or {}
            if not isinstance(evidence, dict):
                raise ValueError("evidence is not an object")
            code = data.get("exit_code")
            return cls(
                id=str(data["id"]),
                group=str(data["group"]),
                result=result,
                title=str(data.get("title") or data["id"]),
                summary=str(data.get("summary") or ""),
                evidence=evidence,
                fix=None if data.get("fix") is None else str(data["fix"]),
                clause=None if data.get("clause") is None else str(data["clause"]),
                exit_code=int(code) if isinstance(code, int) else None,
                duration_ms=int(data.get("duration_ms") or 0),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a doctor finding ({exc})") from None


@dataclass(frozen=True)
class Check:
    """One registered check: what it is and the function that runs it."""

    id: str
    title: str
    run: Callable[[DoctorContext, Check], Finding]
    clause: str | None = None
    network: bool = False  # needs the operator: skipped offline or when the network is down

    @property
    def group(self) -> str:
        return self.id.split(".", 1)[0]

    def finding(
        self,
        result: Result,
        summary: str,
        *,
        evidence: dict[str, Any] | None = None,
        fix: str | None = None,
        clause: str | None = None,
        exit_code: int | None = None,
    ) -> Finding:
        if result is Result.FAIL and exit_code is None:
            exit_code = int(ExitCode.ERROR)
        return Finding(
            id=self.id,
            group=self.group,
            result=result,
            title=self.title,
            summary=summary,
            evidence=jsonable(evidence or {}),
            fix=fix,
            clause=clause if clause is not None else self.clause,
            exit_code=exit_code if result is Result.FAIL else None,
        )

    def ok(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Result.OK, summary, **kw)

    def warn(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Result.WARN, summary, **kw)

    def fail(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Result.FAIL, summary, **kw)

    def skip(self, reason: str, **kw: Any) -> Finding:
        return self.finding(Result.SKIPPED, reason, **kw)

    def from_error(self, err: SochiError, **kw: Any) -> Finding:
        """A failure from a typed error: its one line, its hint as the fix, its exit code."""
        kw.setdefault("fix", err.hint)
        kw.setdefault("evidence", {"error": err.code})
        return self.fail(err.message, exit_code=int(err.exit_code), **kw)


@dataclass
class DoctorOptions:
    """What to check. `profile` None = the active profile (SOCHI_PROFILE, config default)."""

    profile: str | None = None
    offline: bool = False
    only: Sequence[str] = ()
    pin: Callable[[], str | None] | None = None  # a token PIN given non-interactively
    passphrase: Callable[[], str | None] | None = None  # the key file's, likewise
    cancelled: Callable[[], bool] | None = None
    clock: Callable[[], datetime] = utcnow  # this machine's clock (the skew check's other side)


@dataclass(frozen=True)
class Step:
    """Progress: `finding` is None when check `index` (0-based) of `total` starts."""

    index: int
    total: int
    check_id: str
    title: str
    finding: Finding | None = None


ProgressCallback = Callable[[Step], None]


@dataclass
class DoctorReport:
    findings: list[Finding]
    profile: str | None
    api_url: str | None
    checked_at: datetime
    offline: bool
    only: list[str]
    sochi_version: str = ""
    names: set[str] = field(default_factory=set, repr=False)  # never serialised: for masking

    @property
    def worst(self) -> Result:
        worst = Result.OK
        for finding in self.findings:
            if _SEVERITY[finding.result] > _SEVERITY[worst]:
                worst = finding.result
        return worst

    @property
    def exit_code(self) -> int:
        """0 all ok; 11 warnings only; else the exit code of the first failure (check order)."""
        for finding in self.findings:
            if finding.result is Result.FAIL:
                return finding.exit_code or int(ExitCode.ERROR)
        if self.worst is Result.WARN:
            return int(ExitCode.WARNINGS)
        return int(ExitCode.OK)

    def counts(self) -> dict[str, int]:
        counts = {r.value: 0 for r in Result}
        for finding in self.findings:
            counts[finding.result.value] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "sochi_version": self.sochi_version,
            "profile": self.profile,
            "api_url": self.api_url,
            "checked_at": iso_z(self.checked_at),
            "offline": self.offline,
            "only": self.only,
            "result": self.worst.value,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "checks": [f.to_json() for f in self.findings],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DoctorReport:
        from sochi_cli.timeutil import parse_instant

        try:
            if int(data.get("version", 0)) > FORMAT_VERSION:
                raise ValueError(f"report format {data['version']} is newer than this sochi")
            checks = data["checks"]
            if not isinstance(checks, list):
                raise ValueError("checks is not a list")
            return cls(
                findings=[Finding.from_json(c) for c in checks],
                profile=data.get("profile"),
                api_url=data.get("api_url"),
                checked_at=parse_instant(str(data["checked_at"])),
                offline=bool(data.get("offline")),
                only=[str(g) for g in data.get("only") or []],
                sochi_version=str(data.get("sochi_version") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a doctor report ({exc})") from None


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data — dicts with text keys, lists, text, numbers, booleans,
    None — as `--json` writes it: instants `YYYY-MM-DDTHH:MM:SSZ` (also those already text),
    dates ISO, enums by value, paths as text, sets sorted. What a finding's evidence, the
    `--json` document and the bundle hold, so that the TUI, a script and `--read` see the
    same facts; an unexpected object becomes its text, never a failed check."""
    from dataclasses import asdict, is_dataclass
    from datetime import date
    from enum import Enum
    from pathlib import PurePath

    from sochi_cli.timeutil import normalize_instants

    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return normalize_instants(value)
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return jsonable(to_json())
    return str(value)


def _readable(value: Any) -> Any:
    """Evidence with its instants (`…Z` text) as datetimes, which fact lines show in
    Bishkek time, and its records without their empty fields; the rest as it is."""
    if isinstance(value, str) and len(value) == 20 and value.endswith("Z"):
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _readable(v) for k, v in value.items()}
    if isinstance(value, list):
        # a record's empty fields (`submission_id=-` of an item never sent) say nothing to a
        # person: its line keeps what is known; the JSON keeps every field
        return [
            {k: v for k, v in _readable(v).items() if v is not None}
            if isinstance(v, dict)
            else _readable(v)
            for v in value
        ]
    return value


def evidence_lines(finding: Finding, *, limit: int | None = None) -> list[str]:
    """One finding's evidence as lines people read: `key: value`, a list of records one
    `- a=1, b=2` line each, instants in Bishkek time, nothing as a Python repr. The same
    for a report read back from a bundle. `limit` cuts a long list (the CLI), saying so."""
    from sochi_cli.services.facts_text import fact_lines

    lines = fact_lines(_readable(finding.evidence))
    if limit is not None and len(lines) > limit:
        hidden = len(lines) - (limit - 1)
        lines = [*lines[: limit - 1], f"… {hidden} more line(s): sochi doctor --json"]
    return lines


def all_checks() -> list[Check]:
    """Every check, in the order they run and are shown."""
    from sochi_cli.services import (
        diagnostics_account,
        diagnostics_network,
        diagnostics_operator,
        diagnostics_setup,
        diagnostics_signing,
        diagnostics_trouble,
    )

    return [
        *diagnostics_setup.CHECKS,
        *diagnostics_network.CHECKS,
        *diagnostics_operator.CHECKS,
        *diagnostics_signing.CHECKS,
        *diagnostics_account.CHECKS,
        *diagnostics_trouble.CHECKS,
    ]


def parse_groups(values: Sequence[str]) -> list[str]:
    """`--only network,operator` (repeatable) → known group names, or a UsageError."""
    groups: list[str] = []
    for value in values:
        for raw in value.split(","):
            name = raw.strip().lower()
            if not name:
                continue
            if name not in GROUPS:
                raise UsageError(
                    f"--only: unknown check group '{name}'", hint=f"groups: {', '.join(GROUPS)}"
                )
            if name not in groups:
                groups.append(name)
    return groups


def selected_checks(only: Sequence[str]) -> list[Check]:
    groups = parse_groups(only)
    return [c for c in all_checks() if not groups or c.group in groups]


def run_check(check: Check, context: DoctorContext) -> Finding:
    """Run one check; one that raises becomes a failure (never a traceback), timed."""
    started = time.monotonic()
    from sochi_cli.services.diagnostics_context import SkipCheck

    reason = context.network_skip_reason() if check.network else None
    if reason is not None:
        finding = check.skip(reason)
    else:
        try:
            finding = check.run(context, check)
        except SkipCheck as skip:
            finding = check.skip(skip.reason)
        except SochiError as err:
            # abroad, maintenance, no session: the check that owns it reports it, not this one
            deferred = context.defer(err)
            finding = check.skip(deferred.reason) if deferred else check.from_error(err)
        except Exception as exc:  # a bug in one check must not hide the others
            finding = check.fail(
                f"the check itself failed: {type(exc).__name__}: {exc}",
                fix="rerun with --verbose and report it",
            )
    return replace(finding, duration_ms=int((time.monotonic() - started) * 1000))


def run_doctor(options: DoctorOptions, progress: ProgressCallback | None = None) -> DoctorReport:
    """Run the selected checks in order and return every finding (see the module docstring)."""
    from sochi_cli import __version__
    from sochi_cli.services.diagnostics_context import DoctorContext

    checks = selected_checks(options.only)
    started = options.clock().replace(microsecond=0)
    context = DoctorContext(options, selected=[c.id for c in checks])
    findings: list[Finding] = []
    try:
        for index, check in enumerate(checks):
            if options.cancelled is not None and options.cancelled():
                raise Interrupted("doctor stopped")
            if progress is not None:
                progress(Step(index, len(checks), check.id, check.title))
            context.current = check.id
            finding = run_check(check, context)
            context.record(finding)
            findings.append(finding)
            if progress is not None:
                progress(Step(index, len(checks), check.id, check.title, finding))
    finally:
        context.close()
    return DoctorReport(
        findings=findings,
        profile=context.profile,
        api_url=context.api_url,
        checked_at=started,
        offline=options.offline,
        only=parse_groups(options.only),
        sochi_version=__version__,
        names=context.names,
    )


__all__ = [
    "FORMAT_VERSION",
    "GROUPS",
    "GROUP_TITLES",
    "Check",
    "DoctorOptions",
    "DoctorReport",
    "Finding",
    "ProgressCallback",
    "Result",
    "Step",
    "all_checks",
    "evidence_lines",
    "jsonable",
    "parse_groups",
    "run_check",
    "run_doctor",
    "selected_checks",
]
