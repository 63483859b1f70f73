"""The inbox for an interactive front-end: list, read with the agency's signature checked,
acknowledge with a signed receipt and answer a request with a signed document, both kept in
the archive (as `sochi inbox ack` and `sochi inbox reply` do)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from sochi_cli.api.models import InboxItem
    from sochi_cli.services.inbox import AckResult, ReplyResult, ShownItem
    from sochi_cli.store.config import Config
    from sochi_cli.token.base import Signer


def inbox_items(config: Config) -> list[InboxItem]:
    from sochi_cli.services.inbox import list_items
    from sochi_cli.services.session import open_client

    with open_client(config) as client:
        return list_items(client)


def read_item(config: Config, item_id: str) -> ShownItem:
    from sochi_cli.services.inbox import show_item
    from sochi_cli.services.receipts import operator_trust
    from sochi_cli.services.session import open_client

    trust = operator_trust(config.profile, str(config.get("api_url")))
    with open_client(config) as client:
        return show_item(client, item_id, trust)


def acknowledge_item(
    config: Config,
    item_id: str,
    signer: Signer,
    on_warning: Callable[[str], None] | None = None,
) -> AckResult:
    """Sign the document (clause-1.5 gate first) and send the acknowledgement; archived."""
    from sochi_cli.services.inbox import acknowledge
    from sochi_cli.services.session import open_client
    from sochi_cli.services.signing import trust_material

    trust = trust_material(
        config.profile, api_url=str(config.get("api_url")), fetch_missing=True, refresh=True
    )
    with open_client(config) as client:
        return acknowledge(
            client, item_id, signer, trust=trust, on_warning=on_warning, keep_in=config.profile
        )


def reply_to_item(
    config: Config,
    item_id: str,
    document: Path,
    signer: Signer,
    attachments: Sequence[Path] = (),
    on_warning: Callable[[str], None] | None = None,
) -> ReplyResult:
    """Sign the answer and its attachments (clause-1.5 gate first) and send them; archived."""
    from sochi_cli.services.inbox import reply
    from sochi_cli.services.session import open_client
    from sochi_cli.services.signing import trust_material

    trust = trust_material(config.profile, api_url=str(config.get("api_url")), fetch_missing=True)
    with open_client(config) as client:
        return reply(
            client,
            item_id,
            document,
            signer,
            trust=trust,
            attachments=attachments,
            on_warning=on_warning,
            keep_in=config.profile,
        )


__all__ = ["acknowledge_item", "inbox_items", "read_item", "reply_to_item"]
