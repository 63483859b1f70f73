"""Clients: the taxpayers you represent, POA validity (expired/expiring highlighted), the last
filing; filter as you type by name or INN; Enter opens the client."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from sochi_cli.tui.screens.base import TableScreen
from sochi_cli.tui.widgets.record_table import Column, Record

if TYPE_CHECKING:
    from sochi_cli.services.client_view import LastFiling

POA_WARNING_DAYS = 30


def open_text(items: list[Any]) -> str:
    """`2 late` / `1 due` / `` for a client's open obligations."""
    late = sum(1 for o in items if o.overdue)
    if late:
        return f"{late} late"
    return f"{len(items)} due" if items else ""


def client_record(
    client: Any, today: date, last: LastFiling | None, due: list[Any] | None = None
) -> Record:
    poa = client.poa
    days = (poa.valid_until - today).days if poa is not None else None
    if client.status != "active":
        state, tag = client.status, "muted"
    elif poa is None:
        state, tag = "missing", "error"
    elif days is not None and days < 0:
        state, tag = "expired", "error"
    elif days is not None and days <= POA_WARNING_DAYS:
        state, tag = "expiring", "warning"
    else:
        state, tag = client.poa_state or "valid", ""
    if due and not tag:
        tag = "error" if any(o.overdue for o in due) else "warning"
    filed = "-"
    if last is not None:
        filed = f"{last.form} {last.period} {last.status}"
    return Record(
        client.inn,
        (
            client.inn,
            client.name,
            client.status,
            state,
            poa.valid_until.isoformat() if poa is not None else "-",
            "" if days is None else str(days),
            open_text(due or []),
            filed,
        ),
        tag,
    )


class ClientsScreen(TableScreen):
    MODE = "clients"
    TITLE = "Clients"
    SUMMARY = "Taxpayers you represent: POA validity, open obligations, last filing; Enter opens."
    FILTER_HINT = "filter by name or INN (e.g. 'bakery', '0150', 'expired', 'late')"
    EMPTY = "no clients"
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("inn", "INN", 14, whole=True),
        Column("name", "Name", 26),
        Column("status", "Status", 8, drop=2),  # the POA column says `detached` too
        Column("poa", "POA", 8, whole=True),
        Column("valid_until", "Valid until", 11),
        Column("days", "Days", 5, numeric=True),
        Column("open", "Open", 7),
        Column("last", "Last filing", 24, drop=1, flex=True),
    )

    def __init__(self) -> None:
        super().__init__()
        self.clients: list[Any] = []
        self.last: dict[str, LastFiling] = {}
        self.due: dict[str, list[Any]] = {}

    def reload(self) -> None:
        from sochi_cli.services.client_view import client_list

        def load() -> list[Any] | None:
            from sochi_cli.errors import OperatorRefused

            try:
                return client_list(self.ctx.config)
            except OperatorRefused as err:
                if err.code == "not_tax_representative":
                    return None  # a self-filer: no clients, by definition
                raise

        self.update_caption("loading…")
        self.run_blocking(load, self.show_clients)

    def show_clients(self, found: list[Any] | None) -> None:
        from sochi_cli.errors import SochiError
        from sochi_cli.services.client_view import client_last_filings

        clients = found or []
        self.clients = clients
        self._show_rows()
        if not clients:
            alone = found is None
            self.show_fault(
                SochiError(
                    "this account files only for itself" if alone else "no clients yet",
                    hint=None
                    if alone
                    else "add one with `sochi clients add INN --name … "
                    "--poa-scan FILE …` (clause 3.2), then press r",
                    code="no_clients",
                )
            )
            return
        from sochi_cli.services.client_view import client_open_obligations

        self.run_blocking(
            lambda: client_last_filings(self.ctx.config), self.show_last, group="last"
        )
        self.run_blocking(
            lambda: client_open_obligations(self.ctx.config, clients),
            self.show_due,
            group="due",
        )

    def show_due(self, due: dict[str, list[Any]]) -> None:
        self.due = due
        self._show_rows()

    def show_last(self, last: dict[str, LastFiling]) -> None:
        self.last = last
        self._show_rows()

    def _show_rows(self) -> None:
        today = self.sochi.snapshot.today()
        self.table.set_records(
            [
                client_record(c, today, self.last.get(c.inn), self.due.get(c.inn))
                for c in self.clients
            ]
        )
        self.update_caption()

    def on_record_table_opened(self, event: Any) -> None:
        from sochi_cli.tui.screens.client_detail import ClientDetailScreen

        self.app.push_screen(ClientDetailScreen(event.key))


__all__ = ["ClientsScreen", "client_record"]
