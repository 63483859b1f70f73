"""Certificates & token: tokens present, the account's certificates with the clause-18 renewal
path and requisites drift, the chain to the Main CA, CRL freshness; fetch the CRL, list a
token's keys (PIN), revoke on compromise (clause 4.3.9) behind a typed confirmation."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from sochi_cli.tui.screens.base import SochiScreen, ask_from_thread
from sochi_cli.tui.widgets.record_table import Column, Record, RecordTable

STATUS_TAGS = {"valid": "", "expired": "error", "revoked": "muted", "not_yet_valid": "warning"}


def certificate_record(row: Any) -> Record:
    days = "" if row.days_left is None else str(row.days_left)
    tag = STATUS_TAGS.get(row.status, "")
    if row.status == "valid" and row.days_left is not None and row.days_left <= 30:
        tag = "warning"
    return Record(
        row.serial,
        (("● " if row.in_use else "  ") + row.serial, row.status, row.key_kind, days,
         row.owner, row.renewal_path),
        tag,
    )  # fmt: skip


def facts_renderable(overview: Any, chosen: Any) -> Group:
    from sochi_cli.names import readable_dn

    parts: list[Any] = []
    if chosen is not None:
        parts.append(Text(f"{chosen.subject}", style="bold"))
        parts.append(Text(chosen.renewal_summary))
        for action in chosen.actions:
            parts.append(Text(f"  → {action}", style="yellow"))
        drift = ", ".join(chosen.requisites_drift) if chosen.requisites_drift else "none"
        parts.append(Text(f"requisites drift (clause 18): {drift}",
                          style="bold red" if chosen.requisites_drift else ""))  # fmt: skip
    if overview.next_year_paid is not None:
        # money is asked for only inside the renewal window, as `cert status` and the doctor do
        urgent = not overview.next_year_paid and overview.renewal_due is not False
        if overview.next_year_paid:
            paid = "yes"
        elif urgent:
            paid = "NO — top up the account"
        else:
            paid = f"not yet — due from {overview.renewal_opens}"
        parts.append(
            Text(f"next year paid: {paid} (balance {overview.balance}, renewal fee "
                 f"{overview.renewal_fee})", style="bold red" if urgent else "")
        )  # fmt: skip
    chain = Table(title="Chain to the Main CA", title_justify="left", box=None, expand=True)
    chain.add_column("#")
    chain.add_column("subject")
    chain.add_column("until")
    for n, link in enumerate(overview.chain):
        chain.add_row(str(n), link.subject, link.not_after)
    if not overview.chain:
        chain.add_row("-", "not built (no certificate or no chain)", "")
    parts.append(chain)
    crl = overview.crl
    if crl is not None:
        state = Text("STALE — press f to fetch", style="bold red") if crl.stale else Text("fresh")
        line = Text(f"CRL {readable_dn(crl.issuer)}: this update {crl.this_update[:16]}, next "
                    f"{(crl.next_update or '-')[:16]}, {crl.revoked} revoked · ")  # fmt: skip
        parts.append(line + state)
    tokens = Table(title="Tokens (PKCS#11)", title_justify="left", box=None, expand=True)
    tokens.add_column("label")
    tokens.add_column("serial")
    tokens.add_column("model")
    tokens.add_column("PIN")
    for token in overview.tokens:
        style = "" if token.pin_state == "ok" else "bold red"
        tokens.add_row(token.label, token.serial, token.model, Text(token.pin_text, style=style))
    if not overview.tokens:
        tokens.add_row("none found", overview.token_library or "no PKCS#11 library", "", "")
    parts.append(tokens)
    for problem in overview.problems:
        parts.append(Text(problem, style="italic"))
    return Group(*parts)


class CertificatesScreen(SochiScreen):
    MODE = "certificates"
    TITLE = "Certificates & token"
    SUMMARY = "Certificates, renewal path, chain, CRL, tokens; f fetch CRL, t keys, x revoke."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Refresh"),
        Binding("f", "fetch_crl", "Fetch CRL"),
        Binding("t", "keys", "Token keys"),
        Binding("x", "revoke", "Revoke"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.overview: Any = None

    def body(self) -> ComposeResult:
        yield Static("Certificates of the account (● the one you logged in with)",
                     classes="pane-title")  # fmt: skip
        yield RecordTable(
            (
                Column("serial", "Serial", 20, whole=True),
                Column("status", "Status", 8, whole=True),
                Column("key", "Key", 6),
                Column("days", "Days", 5, numeric=True),
                Column("owner", "Owner", 22, drop=1, flex=True),
                Column("renewal", "Renewal", 13, whole=True, drop=2),
            ),
            empty_text="no certificates (log in with L)",
            id="certs",
        )
        with VerticalScroll(id="cert-facts-pane"):
            yield Static("", id="cert-facts")

    def on_mount(self) -> None:
        self.query_one(RecordTable).styles.height = 7
        self.query_one(RecordTable).focus()

    def reload(self) -> None:
        from sochi_cli.services.cert_overview import certificate_overview

        self.query_one("#cert-facts", Static).update("checking certificates, chain, CRL…")
        self.run_blocking(lambda: certificate_overview(self.ctx.config), self.show)

    def show(self, overview: Any) -> None:
        self.overview = overview
        table = self.query_one(RecordTable)
        unlisted = any(p.startswith("certificates:") for p in overview.problems)
        table.empty_text = (
            "not listed: see below" if unlisted else "no certificates (log in with L)"
        )
        table.set_records([certificate_record(r) for r in overview.certificates])
        self._facts(table.current_key)

    def _chosen(self, key: str | None) -> Any:
        if self.overview is None:
            return None
        return next((c for c in self.overview.certificates if c.serial == key), None)

    def _facts(self, key: str | None) -> None:
        if self.overview is not None:
            self.query_one("#cert-facts", Static).update(
                facts_renderable(self.overview, self._chosen(key))
            )

    def on_record_table_highlighted(self, event: RecordTable.Highlighted) -> None:
        self._facts(event.key)

    def focus_key(self, key: str) -> None:
        self.query_one(RecordTable).move_to_key(key)

    def action_fetch_crl(self) -> None:
        from sochi_cli.services.cert_overview import refresh_crl

        def done(crl: Any) -> None:
            self.notify(f"CRL fetched: next update {(crl.next_update or '-')[:16]}")
            self.reload()

        self.run_blocking(lambda: refresh_crl(self.ctx.config), done, group="crl")

    def action_keys(self) -> None:
        from sochi_cli.services.cert_overview import token_keys, token_rows
        from sochi_cli.tui.screens.secret import SecretScreen
        from sochi_cli.tui.signing import token_pin_note

        token = self.ctx.config.get("token_label")

        def work() -> Any:
            import os

            token_rows(self.ctx.config)  # no PKCS#11 library: say so before asking a PIN
            pin = os.environ.get("SOCHI_PIN")
            if not pin:
                note, warning = token_pin_note(self.ctx, token)
                pin = ask_from_thread(
                    self.app, SecretScreen("Token PIN", note=note, warning=warning)
                )
            return token_keys(self.ctx.config, token, pin)

        def done(keys: list[Any]) -> None:
            from sochi_cli.names import readable_dn

            text = Text("Keys on the token\n", style="bold underline")
            for key in keys:
                text.append(f"id {key.key_id} {key.label} ({key.key_type}) → "
                            f"{readable_dn(key.subject or 'no certificate')}\n")  # fmt: skip
            if not keys:
                text.append("no private keys\n")
            self.query_one("#cert-facts", Static).update(text)

        self.run_blocking(work, done, group="keys")

    def action_revoke(self) -> None:
        from sochi_cli.services.cert_overview import revoke
        from sochi_cli.tui.screens.confirm import ConfirmScreen

        chosen = self._chosen(self.query_one(RecordTable).current_key)
        if chosen is None or chosen.status != "valid":
            self.notify("choose a valid certificate first", severity="warning")
            return
        serial = chosen.serial

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return

            def done(revoked: str) -> None:
                self.notify(f"certificate {revoked} revoked; fetch the CRL (f)", severity="warning")
                self.reload()

            self.run_blocking(
                lambda: revoke(self.ctx.config, serial, "key-compromise"), done, group="revoke"
            )

        self.app.push_screen(
            ConfirmScreen(
                f"Revoke certificate {serial} ({chosen.owner}) for KEY COMPROMISE now "
                "(clause 4.3.9)? Signatures made after this moment will not be valid, and a new "
                "certificate has to be issued.",
                confirm_label="Revoke",
                typed=serial[:8],
            ),
            confirmed,
        )


__all__ = ["CertificatesScreen", "certificate_record", "facts_renderable"]
