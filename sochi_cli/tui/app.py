"""The Textual application behind `sochi tui`: the screens (one mode each), global keys, the
command palette, the operator/account snapshot every header shows, and the live event feed.

Screens are imported when first shown, so the first frame costs only Textual itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.signal import Signal

from sochi_cli.errors import SochiError
from sochi_cli.tui.context import TuiContext
from sochi_cli.tui.faults import Fault, describe
from sochi_cli.tui.snapshot import Snapshot

if TYPE_CHECKING:
    from textual.screen import Screen

log = logging.getLogger(__name__)
SNAPSHOT_EVERY = 60.0  # seconds between refreshes of the header's operator/account facts
EVENTS_WAIT = 25  # long-poll seconds (cancelled at once on quit: the feed runs on the loop)


@dataclass(frozen=True)
class Place:
    """A top-level screen: its mode name, key, title and where its class lives."""

    mode: str
    key: str
    title: str
    short: str
    module: str
    cls: str
    summary: str

    def load(self) -> Screen[Any]:
        module = importlib.import_module(f"sochi_cli.tui.screens.{self.module}")
        screen: Screen[Any] = getattr(module, self.cls)()
        return screen


PLACES: tuple[Place, ...] = (
    Place("home", "1", "Home", "Home", "home", "HomeScreen", "What needs you today"),
    Place("clients", "2", "Clients", "Clients", "clients", "ClientsScreen",
          "Taxpayers you represent, their POAs and filings"),
    Place("submissions", "3", "Submissions", "Subs", "submissions", "SubmissionsScreen",
          "Every submission, live: states, receipts, protocols, verify"),
    Place("file", "4", "File reports", "File", "file_reports", "FileReportsScreen",
          "Pick reports, check them, sign once and file exactly once"),
    Place("batches", "5", "Batches", "Batch", "batches", "BatchesScreen",
          "The journal's batches and their items; resume an interrupted one"),
    Place("inbox", "6", "Inbox", "Inbox", "inbox", "InboxScreen",
          "Agency notices and requests; acknowledge or answer with your signature"),
    Place("certificates", "7", "Certificates & token", "Cert", "certificates",
          "CertificatesScreen", "Tokens, certificates, chain, CRL, renewal, revoke"),
    Place("doctor", "8", "Doctor", "Doctor", "doctor", "DoctorScreen",
          "Checks of this machine, the key and the operator, with fixes"),
    Place("audit", "9", "Audit log", "Audit", "audit", "AuditScreen",
          "The hash-chained log of every action; verify it"),
    Place("archive", "0", "Archive", "Archive", "archive", "ArchiveScreen",
          "Your own copy of everything filed; verify it"),
)  # fmt: skip
PLACE_BY_MODE = {p.mode: p for p in PLACES}


def _loader(place: Place) -> Callable[[], Screen[Any]]:
    return place.load


class SochiApp(App[int]):
    """sochi's interactive face: a screen per task over the same services as the CLI."""

    TITLE = "sochi"
    CSS_PATH = "sochi.tcss"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        p.mode: _loader(p) for p in PLACES
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(p.key, f"go('{p.mode}')", p.title, show=False) for p in PLACES),
        Binding("question_mark", "help", "Help"),
        Binding("L", "login", "Log in", show=False),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "interrupt", "Stop", show=False, priority=True),
    ]

    def __init__(
        self,
        profile_override: str | None = None,
        *,
        live: bool = True,
        first_screen: str | None = None,
    ) -> None:
        super().__init__()
        self.ctx = TuiContext(profile_override)
        self.live = live  # False in snapshot tests: no ticking clock, no event feed
        self.first_screen = first_screen
        self.snapshot = Snapshot()
        self.snapshot_changed: Signal[Snapshot] = Signal(self, "snapshot_changed")
        self.events_arrived: Signal[list[Any]] = Signal(self, "events_arrived")
        self.busy: str | None = None  # what must finish before quitting (a running batch)
        self.crashed: BaseException | None = None  # a bug no handler caught (see below)
        self.feed_live = False  # the event feed has caught up: what arrives now is new
        self._session_notified = False

    @property
    def profile_name(self) -> str:
        return self.ctx.profile

    # start and stop --------------------------------------------------------------------
    def on_mount(self) -> None:
        theme = self.ctx.remembered("ui", "theme")
        if isinstance(theme, str) and theme in self.available_themes:
            self.theme = theme
        wanted = self.first_screen or self.ctx.remembered("ui", "screen", "home")
        self.switch_mode(wanted if wanted in PLACE_BY_MODE else "home")
        self.refresh_snapshot()
        if self.live:
            self.set_interval(SNAPSHOT_EVERY, self.refresh_snapshot)

    def on_ready(self) -> None:
        """The first frame is on the screen; `SOCHI_TUI_READY_FILE` is bench/tui.py's probe."""
        import os

        probe = os.environ.get("SOCHI_TUI_READY_FILE")
        if probe:
            with contextlib.suppress(OSError), open(probe, "w", encoding="utf-8") as fh:
                fh.write("ready\n")

    def watch_theme(self, theme: str) -> None:
        self.ctx.remember("ui", "theme", theme)

    def action_go(self, mode: str) -> None:
        from textual.screen import ModalScreen

        from sochi_cli.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)  # a screen's key in the help goes there
        elif isinstance(self.screen, ModalScreen):
            return  # a dialog waits for its answer (Esc cancels it)
        if mode not in PLACE_BY_MODE or mode == self.current_mode:
            return
        self.switch_mode(mode)
        self.ctx.remember("ui", "screen", mode)
        revisited = getattr(self.screen, "revisited", None)
        if callable(revisited):
            revisited()

    def save_state(self) -> None:
        self.ctx.remember("ui", "screen", self.current_mode)
        self.ctx.save()

    async def action_quit(self) -> None:
        if self.busy:
            from sochi_cli.tui.screens.confirm import ConfirmScreen

            def answered(stop: bool | None) -> None:
                if stop:
                    self.action_interrupt()
                    self.notify("stopping the batch; sochi quits when it has stopped cleanly")
                    self._quit_when_idle()

            self.push_screen(
                ConfirmScreen(
                    f"{self.busy} is running. Stop it cleanly and quit? Whatever is in flight "
                    "is finished and recorded; the rest resumes later.",
                    confirm_label="Stop and quit",
                ),
                answered,
            )
            return
        self.save_state()
        self.exit(0)

    def _quit_when_idle(self) -> None:
        def check() -> None:
            if not self.busy:
                self.save_state()
                self.exit(0)

        self.set_interval(0.2, check)

    def action_interrupt(self) -> None:
        """Ctrl+C: stop what runs on this screen cleanly (a batch); otherwise say how to quit."""
        handler = getattr(self.screen, "interrupt", None)
        if callable(handler) and handler():
            return
        if self.busy:
            from textual.screen import ModalScreen

            if isinstance(self.screen, ModalScreen):
                self.screen.dismiss(None)  # the batch's key or PIN prompt: nothing is signed
            for screen in self._all_screens():
                stop = getattr(screen, "interrupt", None)
                if callable(stop) and stop():
                    return
        self.notify("press q to quit", title="Ctrl+C")

    def _all_screens(self) -> Iterable[Any]:
        for stack in self._screen_stacks.values():
            yield from stack

    # a bug -----------------------------------------------------------------------------
    def _handle_exception(self, error: Exception) -> None:
        """Textual's hook for an exception no handler caught (it has no public one; harlequin
        overrides it too). Textual would print its traceback; the message loop that raised
        has stopped, so the app cannot go on either. Instead: a running batch is told to stop
        cleanly (the process waits for it), the traceback goes to the debug log only, and the
        app closes; `run_tui` then says it in one line and exits 1 (`--verbose` adds the
        traceback after the screen is gone)."""
        if self.crashed is not None:  # what fails while closing after the first: noise
            return
        self.crashed = error
        log.debug("internal error in sochi tui", exc_info=error)
        for screen in self._all_screens():
            with contextlib.suppress(Exception):
                stop = getattr(screen, "interrupt", None)
                if callable(stop):
                    stop()
        # as Textual does, so that a Pilot test re-raises it (App.run ignores both)
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self.panic()  # close without a renderable: nothing is printed over the terminal

    # help, palette, login --------------------------------------------------------------
    def action_help(self) -> None:
        from sochi_cli.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        self.push_screen(HelpScreen(self.screen))

    def action_login(self) -> None:
        """Sign the operator's challenge with a key file, token or E-Cloud key (`sochi login`)."""
        from sochi_cli.tui.screens.signer import SignerScreen
        from sochi_cli.tui.signing import default_choice

        def chosen(choice: Any) -> None:
            if choice is not None:
                self.notify(f"logging in with {choice.describe()}…")
                self.run_worker(
                    lambda: self._login(choice), thread=True, group="login", exclusive=True
                )

        self.push_screen(
            SignerScreen(
                "Log in to the operator",
                default_choice(self.ctx),
                note=f"profile {self.profile_name} · {self.ctx.api_url}",
            ),
            chosen,
        )

    def _login(self, choice: Any) -> None:
        """In a worker: sign in, then remember the signer in the profile like `sochi login`."""
        from sochi_cli.errors import SochiError
        from sochi_cli.services.session import login
        from sochi_cli.services.signers import build_signer, remember_signer
        from sochi_cli.tui.signing import signer_options

        try:
            options = signer_options(self, self.ctx, choice)
            signer = build_signer(options, self.ctx.config)
            subscriber = login(self.ctx.config, signer)
        except Exception as exc:
            fault = describe(exc)
            self.call_from_thread(
                self.notify, fault.one_line(), title=f"Login failed: {fault.title}",
                severity="error", timeout=10,
            )  # fmt: skip
            return
        try:
            remember_signer(self.ctx.config, signer, options)
            remembered = None
        except (SochiError, OSError) as exc:
            reason = exc.one_line() if isinstance(exc, SochiError) else str(exc)
            remembered = f"the signer was not remembered in the profile: {reason}"
        self.call_from_thread(self._logged_in, subscriber.name, subscriber.inn, remembered)

    def _logged_in(self, name: str, inn: str, not_remembered: str | None = None) -> None:
        self._session_notified = False
        self.notify(f"logged in as {name} ({inn})")
        if not_remembered:
            self.notify(not_remembered, severity="warning")
        self.refresh_snapshot()
        for screen in self._all_screens():
            if getattr(screen, "loaded", False):
                screen.clear_fault()
                screen.reload()

    def session_lost(self, fault: Fault) -> None:
        """A worker met an expired or missing session: say it once, offer the login."""
        if self.snapshot.overview is not None:
            self.snapshot.overview = None
            self.snapshot.overview_fault = fault
            self.snapshot_changed.publish(self.snapshot)
        if not self._session_notified:
            self._session_notified = True
            self.notify(
                f"{fault.message} — press L to log in", title=fault.title, severity="warning"
            )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        from sochi_cli.tui.commands import screen_commands

        yield from super().get_system_commands(screen)
        yield from screen_commands(self, screen)

    # the snapshot every header shows -----------------------------------------------------
    def refresh_snapshot(self) -> None:
        self.run_worker(self._fetch_snapshot, thread=True, group="snapshot", exclusive=True)

    def _fetch_snapshot(self) -> None:
        from sochi_cli.services.overview import account_overview, operator_state

        snapshot = Snapshot(overview=self.snapshot.overview)
        try:
            snapshot.operator = operator_state(self.ctx.config)
        except Exception as exc:
            snapshot.operator_fault = describe(exc)
        snapshot.fetched_at = time.monotonic()
        self.call_from_thread(self._publish, snapshot)
        snapshot = dataclasses.replace(snapshot)  # the published one is the UI's now

        def early(overview: Any) -> None:  # everything but what is due, while that is worked out
            self.call_from_thread(
                self._publish, dataclasses.replace(snapshot, overview=overview, overview_fault=None)
            )

        try:
            snapshot.overview = account_overview(self.ctx.config, early=early)
            snapshot.overview_fault = None
        except Exception as exc:
            snapshot.overview = None
            snapshot.overview_fault = describe(exc)
        self.call_from_thread(self._publish, snapshot)

    def _publish(self, snapshot: Snapshot) -> None:
        snapshot.frozen = not self.live  # snapshot tests: the countdown stays where it is
        self.snapshot = snapshot
        self.snapshot_changed.publish(snapshot)
        if snapshot.overview is not None and not snapshot.overview.obligations_pending:
            self._session_notified = False
            self.follow_events()

    # live events -------------------------------------------------------------------------
    def follow_events(self) -> None:
        if not self.live or any(w.group == "events" for w in self.workers):
            return
        self.run_worker(self._events_loop(), group="events", exclusive=True)

    async def _events_loop(self) -> None:
        """Long-poll the operator's feed; publish what arrives; stop quietly on a fault."""
        import asyncio

        from sochi_cli.services.events import CursorNotIssued, read_events_async
        from sochi_cli.services.session import open_async_client

        key = self.ctx.api_url
        cursor = self.ctx.remembered("events", key)
        catching_up = cursor is None
        client = open_async_client(self.ctx.config, max_connections=2)
        try:
            while True:
                try:
                    read = await read_events_async(
                        client, cursor, 0 if catching_up else EVENTS_WAIT
                    )
                except CursorNotIssued:  # the operator's feed was reset: catch up from its start
                    cursor, catching_up = None, True
                    continue
                except Exception as exc:
                    fault = describe(exc)
                    if fault.action == "login":
                        self.session_lost(fault)
                        return
                    await asyncio.sleep(10)  # offline or maintenance: try again later
                    continue
                cursor = read.next_cursor or cursor
                self.ctx.remember("events", key, cursor)
                if read.events and not catching_up:
                    self.events_arrived.publish(read.events)
                    if any(e.type.startswith("inbox.") for e in read.events):
                        self.refresh_snapshot()
                catching_up = catching_up and bool(read.events)
                self.feed_live = not catching_up
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()


def run_tui(profile_override: str | None = None) -> int:
    """Start the TUI on this terminal; returns the process exit code.

    sochi's stderr log handler is muted while the screen is up (a line there would tear
    it); a bug that reached Textual is raised here as one internal-error line (exit 1).
    """
    from sochi_cli.logs import console_muted

    app = SochiApp(profile_override)
    app.ctx.config  # noqa: B018 - a broken config is reported before the screen switches
    with console_muted():
        result = app.run()
    if app.crashed is not None:
        raise internal_error(app.crashed)
    if result is None:  # not exited by sochi: Textual's own exit code (1 after a crash)
        return app.return_code or 0
    return int(result)


def internal_error(crash: BaseException) -> SochiError:
    """The one line a bug in the TUI becomes (the CLI prints it; --verbose adds the cause)."""
    import os

    fault = describe(crash)
    log_file = os.environ.get("SOCHI_LOG_FILE")
    hint = (
        f"a bug in sochi: the details are in {log_file}; please report it"
        if log_file
        else "a bug in sochi: rerun with --verbose (or SOCHI_LOG_FILE=FILE) and report it"
    )
    error = SochiError(f"sochi tui stopped: {fault.message}", hint=hint, code="internal")
    error.__cause__ = crash
    return error


__all__ = ["PLACES", "PLACE_BY_MODE", "Place", "SochiApp", "internal_error", "run_tui"]
