"""Clause 8 on signatures made by `openssl cms -sign`: every verdict, for every key family.

GOST signatures (made with `-engine gost`) must stand or fall exactly as the RSA and ECDSA
ones do: valid, tampered, revoked before / after signing (signer and issuing CA), expired,
unknown root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sochi_cli.services.verify import NOT_STANDING, STANDING, verify_dispute
from tests.signing import gost_pki, pki
from tests.signing.interop import GOST_KINDS, OpensslSigner
from tests.signing.pki import DAY, NOW

KINDS = ["rsa", "ec", *GOST_KINDS]


@dataclass
class Family:
    """One key family's CAs and a key to issue subscribers with (reused: keys cost time)."""

    kind: str
    root: Any
    operator: Any
    key: Any
    make_root: Any
    make_sub_ca: Any

    def issue(self, cn: str, ca: Any = None, **kwargs: Any) -> Any:
        return (ca or self.operator).issue(cn, key=self.key, **kwargs)


@pytest.fixture
def family(request, test_pki, gost) -> Family:
    kind = request.param
    if kind in GOST_KINDS:
        return Family(
            kind,
            gost.root,
            gost.operator,
            gost.subscribers[kind].key,
            gost_pki.make_root,
            gost_pki.sub_ca,
        )
    key = (test_pki.rsa if kind == "rsa" else test_pki.ec).key
    return Family(kind, test_pki.root, test_pki.operator, key, pki.make_root, pki.sub_ca)


BODY = b"<report form='STI-077'>100</report>\n"


def _sign(tmp_path: Path, family: Family, issued: Any, chain: list) -> tuple[Path, bytes]:
    content = tmp_path / "report.xml"
    content.write_bytes(BODY)
    signer = OpensslSigner.write(tmp_path, family.kind, issued, chain)
    return content, signer.sign(content)


def _steps(report):
    return {s.step: s for s in report.signers[0].steps}


def _check(content, der, family, *, operator_crl=None, root_crl=None, roots=None, at=None):
    """Clause 8 with current CRLs (empty unless given) of the operator CA and the Main CA."""
    return verify_dispute(
        content,
        der,
        trust_roots=roots or [family.root.cert],
        crls=[
            family.operator.crl(revoked=[]) if operator_crl is None else operator_crl,
            family.root.crl(revoked=[]) if root_crl is None else root_crl,
        ],
        at=at,
    )


pytestmark = pytest.mark.parametrize("family", KINDS, indirect=True)


def test_valid_stands(family, tmp_path):
    sub = family.issue("Valid")
    content, der = _sign(tmp_path, family, sub, [family.operator.cert, family.root.cert])
    report = _check(content, der, family)
    assert report.verdict == STANDING, report.reason
    assert [s.status for s in report.signers[0].steps][:7] == ["passed"] * 7


def test_tampered_does_not_stand(family, tmp_path):
    sub = family.issue("Tampered")
    content, der = _sign(tmp_path, family, sub, [family.operator.cert, family.root.cert])
    content.write_bytes(BODY.replace(b"100", b"900"))
    report = _check(content, der, family)
    assert report.verdict == NOT_STANDING
    assert _steps(report)["8.2.2"].status == "failed"


def test_revoked_before_signing_does_not_stand(family, tmp_path):
    sub = family.issue("Revoked before")
    content, der = _sign(tmp_path, family, sub, [family.operator.cert, family.root.cert])
    report = _check(
        content,
        der,
        family,
        operator_crl=family.operator.crl(revoked=[(sub.serial, NOW - 2 * DAY)]),
    )
    assert report.verdict == NOT_STANDING
    assert _steps(report)["8.3"].status == "failed"


def test_revoked_after_signing_stands(family, tmp_path):
    # openssl signs now; the dispute is heard 10 days later, after a revocation on day 5
    sub = family.issue("Revoked after")
    content, der = _sign(tmp_path, family, sub, [family.operator.cert, family.root.cert])
    later = {"this_update": NOW + 6 * DAY, "next_update": NOW + 12 * DAY}
    report = _check(
        content,
        der,
        family,
        operator_crl=family.operator.crl(revoked=[(sub.serial, NOW + 5 * DAY)], **later),
        root_crl=family.root.crl(revoked=[], **later),
        at=NOW + 10 * DAY,
    )
    assert report.verdict == STANDING, report.reason
    assert _steps(report)["8.3"].status == "passed"


def test_issuing_ca_revoked_before_signing_does_not_stand(family, tmp_path):
    ca_issued = family.root.issue(
        f"Revoked CA {family.kind}", key=family.key, ca=True, non_repudiation=False
    )
    ca = type(family.operator)(ca_issued.key, ca_issued.cert)
    sub = family.issue("Under a revoked CA", ca=ca)
    content, der = _sign(tmp_path, family, sub, [ca.cert, family.root.cert])
    report = _check(
        content,
        der,
        family,
        operator_crl=ca.crl(revoked=[]),
        root_crl=family.root.crl(revoked=[(ca.cert.serial_number, NOW - 20 * DAY)]),
    )
    assert report.verdict == NOT_STANDING
    assert "CA CN=Revoked CA" in report.reason


def test_expired_at_signing_does_not_stand(family, tmp_path):
    sub = family.issue("Expired", not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    content, der = _sign(tmp_path, family, sub, [family.operator.cert, family.root.cert])
    report = _check(content, der, family)
    assert report.verdict == NOT_STANDING
    assert "expired" in _steps(report)["8.2.6"].summary


def test_unknown_root_does_not_stand(family, tmp_path):
    sub = family.issue("Trusted elsewhere")
    content, der = _sign(tmp_path, family, sub, [family.operator.cert, family.root.cert])
    stranger = family.make_root("Some Other Root")
    report = _check(
        content,
        der,
        family,
        roots=[stranger.cert],
    )
    assert report.verdict == NOT_STANDING
    assert _steps(report)["8.2.4"].status == "failed"
