"""The clause-8 procedure: the verdict matrix of issue 4 on real signatures and CRLs."""

from __future__ import annotations

import pytest

from sochi_cli.cms import sign_detached
from sochi_cli.services.verify import (
    NOT_STANDING,
    STANDING,
    UNDETERMINED,
    render_text,
    verify_dispute,
)
from sochi_cli.token.file import KeySigner
from tests.signing import pki
from tests.signing.pki import DAY, NOW

BODY = b"<report form='STI-077'>100</report>"


def _steps(report):
    return {s.step: s for s in report.signers[0].steps}


def _verify(
    test_pki, sig, body=BODY, revoked=None, crls=None, roots=None, at=None, ca_revoked=None
):
    if crls is None:
        crls = [
            test_pki.operator.crl(revoked=revoked or []),
            test_pki.root.crl(revoked=ca_revoked or []),
        ]
    return verify_dispute(
        body,
        sig,
        trust_roots=[test_pki.root.cert] if roots is None else roots,
        crls=crls,
        at=at,
    )


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_valid_signature_stands(test_pki, kind):
    sig = sign_detached(BODY, test_pki.signer(getattr(test_pki, kind)))
    report = _verify(test_pki, sig)
    assert report.verdict == STANDING and report.stands
    steps = _steps(report)
    assert [s for s in steps] == [
        "8.2.1",
        "8.2.2",
        "8.2.3",
        "8.2.4",
        "8.2.5",
        "8.2.6",
        "8.2.7",
        "8.3",
        "8.4",
    ]
    assert steps["8.2.7"].status == "passed"
    text = "\n".join(render_text(report))
    assert "SIGNATURE STANDS" in text and "8.2.4" in text


def test_tampered_content_does_not_stand(test_pki):
    sig = sign_detached(BODY, test_pki.signer(test_pki.rsa))
    report = _verify(test_pki, sig, body=BODY + b" ")
    assert report.verdict == NOT_STANDING
    assert _steps(report)["8.2.2"].status == "failed"
    assert "messageDigest" in _steps(report)["8.2.2"].summary


def test_wrong_certificate_does_not_stand(test_pki):
    class WrongCert(KeySigner):
        pass

    signer = test_pki.signer(test_pki.ec)
    other = test_pki.operator.issue("Someone Else", key=pki.ec_key())
    signer.certificate = other.cert  # claims another certificate, signs with its own key
    report = _verify(test_pki, sign_detached(BODY, signer))
    assert report.verdict == NOT_STANDING
    assert _steps(report)["8.2.2"].status == "failed"


def test_expired_at_signing_does_not_stand(test_pki):
    old = test_pki.operator.issue("Expired", not_before=NOW - 400 * DAY, not_after=NOW - 10 * DAY)
    sig = sign_detached(
        BODY, KeySigner(old.key, old.cert, test_pki.chain), signing_time=NOW - 5 * DAY
    )
    report = _verify(test_pki, sig)
    assert report.verdict == NOT_STANDING
    assert _steps(report)["8.2.6"].status == "failed"
    assert "expired" in _steps(report)["8.2.6"].summary


def test_expired_now_but_valid_at_signing_stands(test_pki):
    old = test_pki.operator.issue(
        "Expired later", not_before=NOW - 400 * DAY, not_after=NOW - 10 * DAY
    )
    sig = sign_detached(
        BODY, KeySigner(old.key, old.cert, test_pki.chain), signing_time=NOW - 20 * DAY
    )
    report = _verify(test_pki, sig)
    assert report.verdict == STANDING
    assert _steps(report)["8.2.5"].status == "info"


def test_not_yet_valid_does_not_stand(test_pki):
    future = test_pki.operator.issue("Future", not_before=NOW + 10 * DAY, not_after=NOW + 400 * DAY)
    sig = sign_detached(BODY, KeySigner(future.key, future.cert, test_pki.chain), signing_time=NOW)
    report = _verify(test_pki, sig)
    assert report.verdict == NOT_STANDING
    assert "not valid before" in _steps(report)["8.2.6"].summary


def test_revoked_before_signing_does_not_stand(test_pki):
    sub = test_pki.operator.issue("Revoked early")
    sig = sign_detached(
        BODY, KeySigner(sub.key, sub.cert, test_pki.chain), signing_time=NOW - 1 * DAY
    )
    report = _verify(test_pki, sig, revoked=[(sub.serial, NOW - 2 * DAY)])
    assert report.verdict == NOT_STANDING
    assert _steps(report)["8.3"].status == "failed"
    assert "BEFORE" in _steps(report)["8.3"].summary


def test_revoked_after_signing_stands(test_pki):
    sub = test_pki.operator.issue("Revoked late")
    sig = sign_detached(
        BODY, KeySigner(sub.key, sub.cert, test_pki.chain), signing_time=NOW - 5 * DAY
    )
    report = _verify(test_pki, sig, revoked=[(sub.serial, NOW - 2 * DAY)])
    assert report.verdict == STANDING, report.reason
    assert _steps(report)["8.2.7"].details["levels"][0]["listed"] is True
    assert _steps(report)["8.3"].status == "passed"


def test_broken_chain_does_not_stand(test_pki):
    forged_ca = pki.CA(pki.ec_key(), test_pki.operator.cert)  # same name, different key
    sub = forged_ca.issue("Forged")
    sig = sign_detached(BODY, KeySigner(sub.key, sub.cert, [test_pki.operator.cert]))
    report = _verify(test_pki, sig)
    assert report.verdict == NOT_STANDING
    assert _steps(report)["8.2.4"].status == "failed"


def test_unknown_root_does_not_stand(test_pki):
    other_root = pki.make_root("Some Other Root")
    other_ca = pki.sub_ca(other_root, "Other CA")
    sub = other_ca.issue("Stranger")
    sig = sign_detached(BODY, KeySigner(sub.key, sub.cert, [other_ca.cert, other_root.cert]))
    report = _verify(test_pki, sig)
    assert report.verdict == NOT_STANDING
    assert _steps(report)["8.2.4"].status == "failed"


def test_wrong_key_usage_does_not_stand(test_pki):
    sub = test_pki.operator.issue("Encryption only", digital_signature=False, non_repudiation=False)
    sig = sign_detached(BODY, KeySigner(sub.key, sub.cert, test_pki.chain))
    report = _verify(test_pki, sig)
    assert report.verdict == NOT_STANDING
    assert "key usage" in _steps(report)["8.2.6"].summary


def test_without_crl_the_verdict_is_undetermined(test_pki):
    sig = sign_detached(BODY, test_pki.signer(test_pki.rsa))
    report = _verify(test_pki, sig, crls=[])
    assert report.verdict == UNDETERMINED and not report.stands
    assert _steps(report)["8.2.7"].status == "indeterminate"


def test_forged_crl_is_ignored(test_pki):
    sub = test_pki.operator.issue("Forged CRL victim")
    sig = sign_detached(BODY, KeySigner(sub.key, sub.cert, test_pki.chain))
    forged = pki.CA(pki.ec_key(), test_pki.operator.cert).crl(revoked=[(sub.serial, NOW - 9 * DAY)])
    report = _verify(test_pki, sig, crls=[forged])
    assert report.verdict == UNDETERMINED


def test_report_is_json_serialisable(test_pki):
    import json

    sig = sign_detached(BODY, test_pki.signer(test_pki.ec))
    data = json.loads(json.dumps(_verify(test_pki, sig).to_json()))
    assert data["verdict"] == "standing" and data["stands"] is True
    assert data["signers"][0]["steps"][0]["step"] == "8.2.1"


async def test_dispute_check_works_inside_an_event_loop(test_pki):
    sig = sign_detached(BODY, test_pki.signer(test_pki.ec))
    assert _verify(test_pki, sig).verdict == STANDING


# -- whole-chain revocation (issue 14) ---------------------------------------------------


def _signed_under_ca(test_pki, signing_time):
    """A subscriber of a fresh operator CA (so that CA can be revoked by the Main CA)."""
    ca = pki.sub_ca(test_pki.root, "Revocable CA (test)")
    sub = ca.issue("Subscriber of the revocable CA")
    sig = sign_detached(
        BODY, KeySigner(sub.key, sub.cert, [ca.cert, test_pki.root.cert]), signing_time=signing_time
    )
    return ca, sub, sig


def _chain_verify(test_pki, ca, sig, *, ca_revoked=(), crls=None):
    crls = crls or [ca.crl(revoked=[]), test_pki.root.crl(revoked=list(ca_revoked))]
    return verify_dispute(BODY, sig, trust_roots=[test_pki.root.cert], crls=crls)


def test_intermediate_revoked_before_signing_does_not_stand(test_pki):
    # the issue's case: the root's CRL revoked the issuing CA 20 days before the signature
    ca, _, sig = _signed_under_ca(test_pki, NOW - 2 * DAY)
    report = _chain_verify(test_pki, ca, sig, ca_revoked=[(ca.cert.serial_number, NOW - 22 * DAY)])
    assert report.verdict == NOT_STANDING
    steps = _steps(report)
    assert steps["8.3"].status == "failed" and "Revocable CA" in steps["8.3"].summary
    levels = steps["8.2.7"].details["levels"]
    assert [lv["listed"] for lv in levels] == [False, True]
    assert "CA CN=Revocable CA (test)" in report.reason and "before" in report.reason
    text = "\n".join(render_text(report))
    assert "LISTED on the CRL of CN=Main CA (test)" in text
    assert "not on the CRL of CN=Revocable CA (test)" in text


def test_intermediate_revoked_after_signing_stands(test_pki):
    ca, _, sig = _signed_under_ca(test_pki, NOW - 10 * DAY)
    report = _chain_verify(test_pki, ca, sig, ca_revoked=[(ca.cert.serial_number, NOW - 3 * DAY)])
    assert report.verdict == STANDING, report.reason
    assert _steps(report)["8.3"].status == "passed"
    assert "AFTER signing" in _steps(report)["8.3"].details["levels"][0]["line"]


def test_missing_root_crl_is_undetermined(test_pki):
    ca, _, sig = _signed_under_ca(test_pki, NOW - DAY)
    report = _chain_verify(test_pki, ca, sig, crls=[ca.crl(revoked=[])])
    assert report.verdict == UNDETERMINED
    levels = _steps(report)["8.2.7"].details["levels"]
    assert levels[0]["status"] == "passed" and levels[1]["status"] == "indeterminate"


def test_crl_not_from_the_issuer_proves_nothing(test_pki):
    ca, _, sig = _signed_under_ca(test_pki, NOW - DAY)
    impostor = pki.CA(pki.ec_key(), test_pki.root.cert)  # the root's name, another key
    forged = impostor.crl(revoked=[])
    report = _chain_verify(test_pki, ca, sig, crls=[ca.crl(revoked=[]), forged])
    assert report.verdict == UNDETERMINED
    line = _steps(report)["8.2.7"].details["levels"][1]["line"]
    assert "do not verify with its key and prove nothing" in line
    # and a forged CRL cannot revoke either
    forged = impostor.crl(revoked=[(ca.cert.serial_number, NOW - 9 * DAY)])
    real = test_pki.root.crl(revoked=[])
    report = _chain_verify(test_pki, ca, sig, crls=[ca.crl(revoked=[]), forged, real])
    assert report.verdict == STANDING, report.reason


def test_stale_crl_is_reported(test_pki):
    ca, _, sig = _signed_under_ca(test_pki, NOW - 10 * DAY)
    stale_root = test_pki.root.crl(revoked=[], this_update=NOW - 8 * DAY, next_update=NOW - 2 * DAY)
    report = _chain_verify(test_pki, ca, sig, crls=[ca.crl(revoked=[]), stale_root])
    level = _steps(report)["8.2.7"].details["levels"][1]
    assert level["stale"] is True and "STALE" in level["line"]
    assert _steps(report)["8.2.7"].status == "warning"
    # it still speaks for the signing time, which it covers
    assert report.verdict == STANDING, report.reason
    assert report.crls[1]["stale"] is True


def test_crl_expired_before_signing_cannot_decide(test_pki):
    ca, _, sig = _signed_under_ca(test_pki, NOW - DAY)
    old_root = test_pki.root.crl(revoked=[], this_update=NOW - 20 * DAY, next_update=NOW - 10 * DAY)
    report = _chain_verify(test_pki, ca, sig, crls=[ca.crl(revoked=[]), old_root])
    assert report.verdict == UNDETERMINED
    assert "cannot tell the status" in _steps(report)["8.2.7"].details["levels"][1]["line"]


def test_gate_refuses_a_revoked_intermediate(test_pki):
    from sochi_cli.errors import AuthError
    from sochi_cli.services.certificates import check_can_sign

    ca = pki.sub_ca(test_pki.root, "Revoked CA (test)")
    sub = ca.issue("Subscriber of a revoked CA")
    crls = [ca.crl(revoked=[]), test_pki.root.crl(revoked=[(ca.cert.serial_number, NOW - DAY)])]
    with pytest.raises(AuthError, match="CA CN=Revoked CA") as err:
        check_can_sign(sub.cert, chain=[ca.cert], trust_roots=[test_pki.root.cert], crls=crls)
    assert err.value.code == "certificate_revoked"
