"""Shell completion of profiles, client INNs and form codes from local caches only."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sochi_cli.forms.catalogue import forms_cache_dir
from sochi_cli.services.clients import clients_cache_path


def complete(*words: str) -> list[str]:
    line = ["sochi", *words]
    env = {
        **os.environ,
        "_SOCHI_COMPLETE": "complete_bash",
        "COMP_WORDS": " ".join(line),
        "COMP_CWORD": str(len(line) - 1),
        "SOCHI_API_URL": "http://127.0.0.1:9/api/v1",  # nothing listens: no network used
    }
    code = "import sys; from sochi_cli.main import main; sys.exit(main())"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return proc.stdout.split()


def test_completes_profiles_client_inns_and_form_codes() -> None:
    path = clients_cache_path("sandbox")
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            [
                {"inn": "02010201910123", "name": "Ak-Suu"},
                {"inn": "01503201810045", "name": "Bakery"},
            ]
        )
    )
    forms = forms_cache_dir("sandbox")
    forms.mkdir(parents=True)
    (forms / "catalogue.json").write_text(
        json.dumps({"items": [{"code": "STI-077"}, {"code": "SF-001"}]})
    )
    assert complete("--profile", "prod") == ["production"]
    assert complete("clients", "show", "0201") == ["02010201910123"]
    assert complete("forms", "show", "ST") == ["STI-077"]
    assert complete("validate", "--form", "SF") == ["SF-001"]
