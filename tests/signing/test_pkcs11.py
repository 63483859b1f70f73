"""PKCS#11 signing on a real SoftHSM2 token: selection, PIN handling, batch signatures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sochi_cli.cms import sign_detached_many, verify_detached
from sochi_cli.errors import AuthError, ExitCode
from sochi_cli.token import pkcs11 as p11
from tests.signing import softhsm as sh


def test_lists_initialised_tokens(softhsm):
    labels = {t.label for t in p11.list_tokens(softhsm.library)}
    assert {softhsm.rsa_label, softhsm.ec_label, softhsm.nocert_label} <= labels


@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_signs_a_batch_in_one_session(softhsm, test_pki, which):
    label = getattr(softhsm, f"{which}_label")
    asked = []

    def pin(info):
        asked.append(info.label)
        return softhsm.pin

    with p11.PKCS11Signer(library=softhsm.library, token=label, pin=pin) as signer:
        assert signer.certificate == getattr(test_pki, which).cert
        assert signer.chain == [test_pki.operator.cert, test_pki.root.cert]
        sigs = sign_detached_many([b"one", b"two", b"three"], signer)
    assert asked == [label]  # one login for the batch
    for sig, body in zip(sigs, [b"one", b"two", b"three"], strict=True):
        assert verify_detached(sig, body).signer_certificate == getattr(test_pki, which).cert


def test_selects_key_by_certificate_serial(softhsm, test_pki):
    serial = format(test_pki.ec.cert.serial_number, "x")
    with p11.PKCS11Signer(
        library=softhsm.library, token=softhsm.ec_label, key=serial, pin=softhsm.pin
    ) as signer:
        assert signer.key_info.key_id == "01"


def test_several_tokens_without_selector_is_an_error(softhsm):
    with pytest.raises(AuthError, match="several tokens connected") as err:
        p11.PKCS11Signer(library=softhsm.library, pin=softhsm.pin).open()
    assert err.value.code == "token_ambiguous"
    assert softhsm.rsa_label in err.value.message and softhsm.ec_label in err.value.message
    assert err.value.exit_code == ExitCode.AUTH


def test_unknown_token_lists_connected_ones(softhsm):
    with pytest.raises(AuthError, match="no token with label") as err:
        p11.PKCS11Signer(library=softhsm.library, token="nope", pin=softhsm.pin).open()
    assert softhsm.rsa_label in err.value.message


def test_key_without_certificate_is_refused(softhsm):
    with pytest.raises(AuthError) as err:
        p11.PKCS11Signer(
            library=softhsm.library, token=softhsm.nocert_label, pin=softhsm.pin
        ).open()
    assert err.value.code == "key_without_certificate"
    with pytest.raises(AuthError) as err:
        p11.PKCS11Signer(
            library=softhsm.library, token=softhsm.nocert_label, key="07", pin=softhsm.pin
        ).open()
    assert err.value.code == "key_without_certificate"


def test_wrong_pin_is_reported_once_and_not_retried(softhsm, monkeypatch):
    calls = []

    def pin(info):
        calls.append(info.pin_state)
        return "0000"

    with pytest.raises(AuthError, match="wrong PIN") as err:
        p11.PKCS11Signer(library=softhsm.library, token=softhsm.wrongpin_label, pin=pin).open()
    assert err.value.code == "pin_wrong"
    assert len(calls) == 1  # one attempt, no automatic retry
    assert "0000" not in err.value.one_line()
    # the token now reports the failed attempt and the callback sees it before the next try
    state = {t.label: t.pin_state for t in p11.list_tokens(softhsm.library)}
    assert state[softhsm.wrongpin_label] == "count_low"
    # …and a person is told before typing the next one, as every warning of sochi reads
    from tests.support import run_cli

    monkeypatch.setenv("SOCHI_PIN", softhsm.pin)
    lib, label = str(softhsm.library), softhsm.wrongpin_label
    listed = run_cli("token", "keys", "--pkcs11-lib", lib, "--token", label)
    assert listed.code == 0, listed.stderr
    assert listed.stderr.startswith(
        f"warning: token '{label}' (serial "
    ) and listed.stderr.endswith("): a wrong PIN was entered before: few tries left\n")
    assert "WARNING" not in listed.stderr and "sochi_cli." not in listed.stderr


def test_missing_library_is_an_auth_error(tmp_path):
    with pytest.raises(AuthError) as err:
        p11.find_library(tmp_path / "librtpkcs11ecp.so")
    assert err.value.code == "pkcs11_library_missing"


def test_incompatible_library_is_an_auth_error(tmp_path):
    fake = tmp_path / "libfake.so"
    fake.write_bytes(b"not a shared object")
    with pytest.raises(AuthError) as err:
        p11.load_library(fake)
    assert err.value.code == "pkcs11_library_incompatible"


def test_library_from_environment(monkeypatch, softhsm):
    monkeypatch.setenv(p11.LIBRARY_ENV, str(softhsm.library))
    assert p11.find_library() == softhsm.library


def test_pin_state_from_flags():
    from pkcs11 import TokenFlag

    base = TokenFlag.USER_PIN_INITIALIZED | TokenFlag.TOKEN_INITIALIZED
    assert p11.pin_state(base) == "ok"
    assert p11.pin_state(base | TokenFlag.USER_PIN_COUNT_LOW) == "count_low"
    assert p11.pin_state(base | TokenFlag.USER_PIN_FINAL_TRY) == "final_try"
    assert p11.pin_state(base | TokenFlag.USER_PIN_LOCKED) == "locked"


@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_openssl_verifies_token_signatures(softhsm, test_pki, which, tmp_path):
    from sochi_cli.cms import sign_detached
    from tests.signing.interop import openssl_verifies

    label = getattr(softhsm, f"{which}_label")
    content = tmp_path / "report.xml"
    content.write_bytes(b"<report/>")
    with p11.PKCS11Signer(library=softhsm.library, token=label, pin=softhsm.pin) as signer:
        (tmp_path / "report.p7s").write_bytes(sign_detached(content, signer))
    assert openssl_verifies(which, tmp_path / "report.p7s", content, test_pki.root_pem)


def test_rsa_pss_on_the_token(softhsm, test_pki, tmp_path):
    """SoftHSM2 offers CKM_RSA_PKCS_PSS: RSASSA-PSS signed on the token, OpenSSL agrees."""
    from sochi_cli.cms import parse_signature, sign_detached
    from tests.signing.interop import openssl_verifies

    content = tmp_path / "report.xml"
    content.write_bytes(b"<report>pss</report>")
    with p11.PKCS11Signer(
        library=softhsm.library, token=softhsm.rsa_label, pin=softhsm.pin, rsa_pss=True
    ) as signer:
        der = sign_detached(content, signer)
    (tmp_path / "report.p7s").write_bytes(der)
    assert parse_signature(der).signature_algorithm == "rsassa_pss"
    assert openssl_verifies("rsa", tmp_path / "report.p7s", content, test_pki.root_pem)


@pytest.mark.parametrize(
    ("curve", "algorithm", "digest"),
    [("ec384", "ECDSA-P384-SHA384", "sha384"), ("ec521", "ECDSA-P521-SHA512", "sha512")],
)
def test_ecdsa_p384_and_p521_on_the_token(softhsm, test_pki, tmp_path, curve, algorithm, digest):
    """SoftHSM2 holds P-384 and P-521 keys: CKM_ECDSA on the token, OpenSSL and clause 8 agree."""
    from sochi_cli.cms import parse_signature, sign_detached
    from sochi_cli.services.verify import STANDING, verify_dispute
    from tests.signing.interop import openssl_verifies

    content = tmp_path / "report.xml"
    content.write_bytes(b"<report>" + curve.encode() + b"</report>")
    label = getattr(softhsm, f"{curve}_label")
    with p11.PKCS11Signer(library=softhsm.library, token=label, pin=softhsm.pin) as signer:
        assert signer.algorithm().name == algorithm
        assert signer.certificate == getattr(softhsm, curve).cert
        der = sign_detached(content, signer)
    (tmp_path / "report.p7s").write_bytes(der)
    assert parse_signature(der).digest_algorithm == digest
    assert openssl_verifies("ec", tmp_path / "report.p7s", content, test_pki.root_pem)
    report = verify_dispute(content, der, trust_roots=[test_pki.root.cert], crls=test_pki.crls)
    assert report.verdict == STANDING, report.reason


def test_pss_is_refused_on_a_token_without_the_mechanism(softhsm, monkeypatch):
    monkeypatch.setattr(p11, "token_mechanisms", lambda token: frozenset())
    with pytest.raises(AuthError, match="CKM_RSA_PKCS_PSS") as err:
        p11.PKCS11Signer(
            library=softhsm.library, token=softhsm.rsa_label, pin=softhsm.pin, rsa_pss=True
        ).open()
    assert err.value.code == "mechanism_unsupported"


@pytest.mark.parametrize("kind", ["gost2001", "gost2012_256", "gost2012_512"])
def test_gost_certificate_on_softhsm_has_no_mechanism(softhsm, gost, kind):
    """Debian's SoftHSM2 has no GOST mechanisms: a GOST key there is refused before signing."""
    label, _ = softhsm.gost[kind]
    with pytest.raises(AuthError, match=r"no GOST R 34\.10 signing mechanism") as err:
        p11.PKCS11Signer(library=softhsm.library, token=label, pin=softhsm.pin).open()
    assert err.value.code == "mechanism_unsupported"


# GOST kind -> (the algorithm row, sign-a-digest mechanism, hash-and-sign mechanism, digest)
GOST_TOKEN_CASES = {
    "gost2001": (
        "GOST-R-34.10-2001-GOSTR3411-94",
        p11.CKM_GOSTR3410,
        p11.CKM_GOSTR3410_WITH_GOSTR3411,
        "gostr3411_94",
    ),
    "gost2012_256": (
        "GOST-R-34.10-2012-256-Streebog256",
        p11.CKM_GOSTR3410,
        p11.CKM_GOSTR3410_WITH_GOSTR3411_12_256,
        "streebog256",
    ),
    "gost2012_512": (
        "GOST-R-34.10-2012-512-Streebog512",
        p11.CKM_GOSTR3410_512,
        p11.CKM_GOSTR3410_WITH_GOSTR3411_12_512,
        "streebog512",
    ),
}


class RutokenGostKey:
    """Stands in for a RuToken GOST private key at C_Sign, the one thing SoftHSM2 cannot do.

    CKM_GOSTR3410 / CKM_GOSTR3410_512 sign a digest made by the caller (32 / 64 bytes); the
    hash-and-sign mechanisms hash the data themselves with the kind's digest. All return
    `s || r`, as PKCS#11 specifies for GOST.
    """

    def __init__(self, key, kind):
        self.key = key
        _, self.raw, self.hashing, self.digest = GOST_TOKEN_CASES[kind]
        self.calls = []

    def sign(self, data, mechanism=None, mechanism_param=None):
        from sochi_cli.cms import gost

        self.calls.append(int(mechanism))
        assert mechanism_param is None
        if int(mechanism) == self.raw:
            assert len(data) == gost.DIGESTS[self.digest][1]
            return self.key.sign_digest(data)
        assert int(mechanism) == self.hashing
        return self.key.sign(data, self.digest)


@pytest.mark.parametrize("on_token", [False, True], ids=["digest-here", "digest-on-token"])
@pytest.mark.parametrize("kind", list(GOST_TOKEN_CASES))
def test_gost_token_signature_is_what_openssl_accepts(
    softhsm, gost, monkeypatch, tmp_path, kind, on_token
):
    """The whole PKCS#11 GOST path on a real SoftHSM2 session (token, login, certificate,
    mechanism choice, CMS) with only C_Sign answered by the gost engine, for each kind."""
    from sochi_cli.cms import sign_detached_many
    from sochi_cli.services.verify import STANDING, verify_dispute
    from tests.signing import pki
    from tests.signing.interop import openssl_verifies

    name, raw, hashing, digest = GOST_TOKEN_CASES[kind]
    mechanism = hashing if on_token else raw
    label, issued = softhsm.gost[kind]
    root = softhsm.gost_root
    monkeypatch.setattr(p11, "token_mechanisms", lambda token: frozenset({mechanism}))
    contents = [tmp_path / "a.xml", tmp_path / "b.xml"]
    for path in contents:
        path.write_bytes(b"<report>" + path.name.encode() + b"</report>")
    signer = p11.PKCS11Signer(library=softhsm.library, token=label, pin=softhsm.pin)
    with signer:
        assert signer.certificate == issued.cert
        assert signer.algorithm().name == name
        assert signer.hashes_on_device is on_token
        fake = RutokenGostKey(issued.key.key, kind)
        signer._key = fake
        sigs = sign_detached_many(contents, signer)
    assert fake.calls == [mechanism, mechanism]
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(pki.pem(root.cert))
    for path, der in zip(contents, sigs, strict=True):
        path.with_suffix(".p7s").write_bytes(der)
        assert openssl_verifies(kind, path.with_suffix(".p7s"), path, root_pem)
        report = verify_dispute(path, der, trust_roots=[root.cert], crls=[root.crl(revoked=[])])
        assert report.verdict == STANDING, report.reason
        assert report.signers[0].steps[1].details["digest_algorithm"] == digest


def test_gost_token_prefers_the_digest_made_here(softhsm, gost, monkeypatch):
    """With both mechanisms on offer, the digest is made here and the token signs it."""
    for kind, (_, raw, hashing, _) in GOST_TOKEN_CASES.items():
        monkeypatch.setattr(p11, "token_mechanisms", lambda token, m=(raw, hashing): frozenset(m))
        label, _ = softhsm.gost[kind]
        with p11.PKCS11Signer(library=softhsm.library, token=label, pin=softhsm.pin) as signer:
            assert signer.hashes_on_device is False
            assert int(signer._mechanism) == raw


def test_vendor_mechanisms_reach_python_pkcs11():
    from pkcs11 import Mechanism

    member = p11.pkcs11_mechanism(p11.CKM_GOSTR3410_512)
    assert isinstance(member, Mechanism) and int(member) == 0xD4321006
    assert p11.pkcs11_mechanism(0x1201) is Mechanism.GOSTR3410


def test_threads_calling_the_library_at_once_take_turns(tmp_path: Path) -> None:
    """The TUI lists tokens in one worker while another checks the signer: python-pkcs11
    initialises the library for one thread at a time, and calls from two threads at once
    crashed the process (a segfault or a double free)."""
    conf = sh.write_config(tmp_path / "softhsm")
    sh.init_token(conf, "threads")
    script = (
        "import threading\n"
        "from sochi_cli.token.pkcs11 import list_tokens\n"
        "gate = threading.Barrier(8)\n"
        "def one():\n"
        "    gate.wait()\n"
        "    for _ in range(20):\n"
        f"        assert [t.label for t in list_tokens({str(sh.LIBRARY)!r})] == ['threads']\n"
        "workers = [threading.Thread(target=one) for _ in range(8)]\n"
        "[w.start() for w in workers]\n"
        "[w.join() for w in workers]\n"
        "print('ok')\n"
    )
    for _ in range(10):  # each run a fresh process: the library is loaded once per process
        done = subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "SOFTHSM2_CONF": str(conf)},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr[-2000:]
