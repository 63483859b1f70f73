"""Shell completion of the new commands' INN and form options, from local caches only."""

from __future__ import annotations

import json

from sochi_cli.forms.catalogue import forms_cache_dir
from sochi_cli.services.clients import clients_cache_path
from tests.api.test_completion import complete


def test_submissions_list_completes_client_inns_and_form_codes() -> None:
    path = clients_cache_path("sandbox")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps([{"inn": "02010201910123", "name": "Ak-Suu"}]))
    forms = forms_cache_dir("sandbox")
    forms.mkdir(parents=True)
    (forms / "catalogue.json").write_text(json.dumps({"items": [{"code": "STI-077"}]}))
    assert complete("submissions", "list", "--client", "0201") == ["02010201910123"]
    assert complete("submissions", "list", "--form", "ST") == ["STI-077"]
    assert complete("cert", "revoke", "ab", "--reason", "key") == ["key-compromise"]
