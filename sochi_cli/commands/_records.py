"""The journal as inspection commands open it: read-only, and never silently empty."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sochi_cli.commands._context import AppContext
    from sochi_cli.store.journal import Journal


def journal_reader(app: AppContext) -> Journal | None:
    """The profile's journal opened read-only; None (with a warning when records are lost:
    a missing or empty journal beside an archive or an audit head file) when there is none."""
    from sochi_cli.services.records import LOST_REMEDY, lost_journal
    from sochi_cli.store.journal import Journal

    journal = Journal.reader(app.profile)
    if journal is None:
        lost = lost_journal(app.profile)
        if lost:
            app.out.warn(f"{lost}: {LOST_REMEDY}")
    return journal


__all__ = ["journal_reader"]
