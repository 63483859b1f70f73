"""`sochi demo` (what `make demo` runs): the whole job against a throwaway sandbox, exit 0."""

from __future__ import annotations

import json
import re

from tests.support import run_sochi


def test_demo_files_six_clients_reports_refusals_verifies_receipts_and_exits_0() -> None:
    result = run_sochi("--json", "demo", timeout=120)
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["summary"]["counts"] == {"accepted": 4, "invalid": 1, "failed": 1, "rejected": 1}
    refusals = {r["code"] for r in data["expected_refusals"]}
    assert refusals == {"validation_failed", "poa_expired", "rejected"}
    rejected = [r for r in data["expected_refusals"] if r["code"] == "rejected"]
    assert "not registered as a sales tax payer" in rejected[0]["error"]
    # `sochi due` before and after: the four accepted filings moved from overdue to accepted
    before, after = data["obligations_before"], data["obligations_after"]
    assert after["accepted"] - before["accepted"] == 4
    assert before["overdue"] - after["overdue"] == 4
    assert before.get("rejected") == 1 and before.get("in_progress") == 1
    assert len(data["verified_receipts"]) == 2
    assert all(r["stands"] for r in data["verified_receipts"])
    assert data["archive"]["files"] > 0
    assert "127.0.0.1" in data["api_url"]
    # what `sochi help demo` and `sochi --help` promise is what it did: 7 reports of 6 clients
    items = data["summary"]["items"]
    said = re.search(r"file (\d+) reports of (\d+) clients", run_sochi("help", "demo").stdout)
    assert said and (int(said[1]), int(said[2])) == (
        len(items),
        len({i["client_inn"] for i in items}),
    )
    assert said[0] in " ".join(run_sochi("--help").stdout.split())
    assert f"wrote {said[1]} reports of {said[2]} clients" in result.stderr
