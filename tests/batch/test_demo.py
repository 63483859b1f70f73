"""`sochi demo` (what `make demo` runs): the whole job against a throwaway sandbox, exit 0."""

from __future__ import annotations

import json

from tests.support import run_sochi


def test_demo_files_six_clients_reports_refusals_verifies_receipts_and_exits_0() -> None:
    result = run_sochi("--json", "demo", timeout=120)
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["summary"]["counts"] == {"accepted": 4, "invalid": 2}
    refusals = {r["code"] for r in data["expected_refusals"]}
    assert refusals == {"validation_failed", "poa_expired"}
    assert len(data["verified_receipts"]) == 2
    assert all(r["stands"] for r in data["verified_receipts"])
    assert data["archive"]["files"] > 0
    assert "127.0.0.1" in data["api_url"]
