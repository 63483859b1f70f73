"""Fixtures for the signing tests: one test PKI per session (and SoftHSM tokens, see softhsm.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sochi_cli.token.file import KeySigner
from tests.signing import gost_pki, pki


@dataclass
class TestPKI:
    root: pki.CA
    operator: pki.CA
    rsa: pki.Issued
    ec: pki.Issued
    dir: Path

    @property
    def chain(self) -> list:
        return [self.operator.cert, self.root.cert]

    def signer(self, issued: pki.Issued) -> KeySigner:
        return KeySigner(issued.key, issued.cert, [self.operator.cert, self.root.cert])

    def write(self, filename: str, data: bytes) -> Path:
        path = self.dir / filename
        path.write_bytes(data)
        return path

    @property
    def crls(self) -> list:
        """A current, empty CRL of each CA (operator CA and Main CA)."""
        return [self.operator.crl(revoked=[]), self.root.crl(revoked=[])]

    @property
    def root_pem(self) -> Path:
        return self.write("root.pem", pki.pem(self.root.cert))

    @property
    def bundle_pem(self) -> Path:
        return self.write("bundle.pem", pki.pem(self.operator.cert) + pki.pem(self.root.cert))


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    root = pki.make_root()
    operator = pki.sub_ca(root)
    rsa_sub = operator.issue("Test Subscriber RSA", key=pki.rsa_key())
    ec_sub = operator.issue("Test Subscriber EC", key=pki.ec_key())
    return TestPKI(root, operator, rsa_sub, ec_sub, tmp_path_factory.mktemp("pki"))


@dataclass
class GostPKI:
    """Main CA (GOST R 34.10-2001) → operator CA (2012-512) → one subscriber per GOST kind."""

    root: gost_pki.GostCA
    operator: gost_pki.GostCA
    subscribers: dict[str, gost_pki.GostIssued]
    dir: Path

    @property
    def chain(self) -> list:
        return [self.operator.cert, self.root.cert]

    @property
    def crls(self) -> list:
        return [self.operator.crl(revoked=[]), self.root.crl(revoked=[])]

    def signer(self, issued: gost_pki.GostIssued) -> KeySigner:
        return KeySigner(issued.key.key, issued.cert, self.chain)

    def write(self, filename: str, data: bytes) -> Path:
        path = self.dir / filename
        path.write_bytes(data)
        return path


@pytest.fixture(scope="session")
def gost(tmp_path_factory: pytest.TempPathFactory) -> GostPKI:
    """The GOST test PKI. OpenSSL's gost engine is required: `make test` installs it."""
    from sochi_cli.cms import gost as bridge

    if not bridge.available():
        pytest.fail(
            "OpenSSL's gost engine is missing: `make test` installs libengine-gost-openssl "
            "(or: sudo apt-get install libengine-gost-openssl)"
        )
    root = gost_pki.make_root()
    operator = gost_pki.sub_ca(root)
    subscribers = {
        kind: operator.issue(f"Test Subscriber {kind}", kind=kind) for kind in gost_pki.KINDS
    }
    return GostPKI(root, operator, subscribers, tmp_path_factory.mktemp("gost-pki"))


@dataclass
class SoftHSM:
    conf: Path
    library: Path
    pin: str
    rsa_label: str = "sochi-rsa"
    ec_label: str = "sochi-ec"
    nocert_label: str = "sochi-nocert"
    wrongpin_label: str = "sochi-wrongpin"
    ec384_label: str = "sochi-ec384"
    gost_label: str = "sochi-gost"  # a GOST certificate over a stand-in EC key (see test_pkcs11)
    ec521_label: str = "sochi-ec521"
    ec384: pki.Issued | None = None
    ec521: pki.Issued | None = None
    gost_root: gost_pki.GostCA | None = None
    # GOST kind -> (token label, its certificate); "gost2012_256" is on `gost_label`
    gost: dict[str, tuple[str, gost_pki.GostIssued]] = field(default_factory=dict)


@pytest.fixture(scope="session")
def softhsm(test_pki: TestPKI, tmp_path_factory: pytest.TempPathFactory):
    """One SoftHSM2 token directory per session: RSA, EC P-256, P-384 and P-521,
    key-without-cert, one GOST certificate per GOST kind (SoftHSM2 has no GOST keys) and a
    spare token."""
    import os

    from sochi_cli.token import pkcs11 as p11
    from tests.signing import softhsm as sh

    directory = tmp_path_factory.mktemp("softhsm")
    conf = sh.write_config(directory)
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    hsm = SoftHSM(conf, sh.LIBRARY, sh.PIN)
    gost_labels = {
        "gost2001": "sochi-gost2001",
        "gost2012_256": hsm.gost_label,
        "gost2012_512": "sochi-gost2012-512",
    }
    labels = (hsm.rsa_label, hsm.ec_label, hsm.nocert_label, hsm.wrongpin_label)
    for label in (*labels, hsm.ec384_label, hsm.ec521_label, *gost_labels.values()):
        sh.init_token(conf, label)
    chain = [test_pki.operator.cert, test_pki.root.cert]
    from cryptography.hazmat.primitives.asymmetric import ec

    hsm.ec384 = test_pki.operator.issue(
        "Test Subscriber P-384", key=ec.generate_private_key(ec.SECP384R1())
    )
    hsm.ec521 = test_pki.operator.issue(
        "Test Subscriber P-521", key=ec.generate_private_key(ec.SECP521R1())
    )
    tokens = [
        (hsm.rsa_label, test_pki.rsa),
        (hsm.ec_label, test_pki.ec),
        (hsm.ec384_label, hsm.ec384),
        (hsm.ec521_label, hsm.ec521),
    ]
    for label, issued in tokens:
        p11.import_pkcs12(
            library=sh.LIBRARY,
            token=label,
            pin=sh.PIN,
            private_key=issued.key,
            certificate=issued.cert,
            chain=chain,
            key_id=b"\x01",
            label="signing key",
        )
    # a key whose certificate has a different CKA_ID: "key without certificate"
    lonely = test_pki.operator.issue("lonely", key=pki.ec_key())
    p11.import_pkcs12(
        library=sh.LIBRARY,
        token=hsm.nocert_label,
        pin=sh.PIN,
        private_key=lonely.key,
        certificate=lonely.cert,
        key_id=b"\x07",
        label="lonely",
    )
    _drop_certificates(hsm.nocert_label)
    # SoftHSM2 stores a GOST certificate but cannot hold or use a GOST key: the certificate
    # sits beside an EC key with its CKA_ID; signing is exercised at the C_Sign seam
    from sochi_cli.cms import gost as bridge

    if bridge.available():
        hsm.gost_root = gost_pki.make_root("Main CA GOST (token test)")
        for kind, label in gost_labels.items():
            issued = hsm.gost_root.issue(f"Token GOST subscriber {kind}", kind=kind)
            hsm.gost[kind] = (label, issued)
            p11.import_pkcs12(
                library=sh.LIBRARY,
                token=label,
                pin=sh.PIN,
                private_key=pki.ec_key(),
                certificate=issued.cert,
                key_id=b"\x01",
                label="gost key",
            )
    yield hsm
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def _drop_certificates(label: str) -> None:
    from pkcs11 import Attribute, ObjectClass

    from sochi_cli.token import pkcs11 as p11
    from tests.signing import softhsm as sh

    token, _ = p11.select_token(sh.LIBRARY, label)
    with token.open(rw=True, user_pin=sh.PIN) as session:
        for obj in list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})):
            obj.destroy()
