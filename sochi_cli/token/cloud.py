"""E-Cloud remote signer over the CSC API v2 shape served by the operator at `{api_url}/csc/v2`.

Only digests leave the machine. One authorisation (PIN + one-time code → SAD) covers a
batch of up to `multisign` signatures; `signatures/signHash` is called in chunks.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sochi_cli.errors import AuthError, SignatureError, UsageError
from sochi_cli.logs import register_secret
from sochi_cli.token.base import (
    SHA256_OID,
    SignatureAlgorithm,
    algorithm_for_certificate,
    ecdsa_to_der,
)

if TYPE_CHECKING:
    import httpx
    from cryptography import x509

DEFAULT_CHUNK = 100


@dataclass(frozen=True)
class CredentialInfo:
    """`credentials/info` of one E-Cloud credential (what a PIN/OTP prompt may show)."""

    credential_id: str
    key_status: str
    key_algorithms: tuple[str, ...]
    key_length: int | None
    cert_status: str
    certificates: tuple[x509.Certificate, ...] = field(repr=False)
    auth_mode: str
    multisign: int

    @property
    def certificate(self) -> x509.Certificate:
        return self.certificates[0]


SecretProvider = Callable[[CredentialInfo], str]


class CloudSigner:
    """A key in the operator's E-Cloud; `with signer:` resolves the credential and certificate."""

    kind = "cloud"

    def __init__(
        self,
        *,
        api_url: str,
        user_id: str,
        pin: SecretProvider,
        otp: SecretProvider,
        credential_id: str | None = None,
        access_token: str | None = None,
        client: httpx.Client | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        timeout: float = 30.0,
        rsa_pss: bool = False,
    ) -> None:
        self._base = api_url.rstrip("/") + "/csc/v2"
        self._rsa_pss = rsa_pss
        self._user_id = user_id
        self._pin = pin
        self._otp = otp
        self._credential_id = credential_id
        self._access_token = access_token
        if access_token:
            register_secret(access_token)
        self._client = client
        self._own_client = client is None
        self._chunk = max(1, chunk_size)
        self._timeout = timeout
        self.info: CredentialInfo | None = None
        self.chain: list[x509.Certificate] = []
        self._algorithm: SignatureAlgorithm | None = None

    # -- HTTP ---------------------------------------------------------------------------

    def _post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        from sochi_cli.errors import Unavailable

        assert self._client is not None
        headers = {"Authorization": f"Bearer {self._access_token}"} if self._access_token else {}
        url = f"{self._base}/{endpoint}"
        try:
            response = self._client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"E-Cloud signing service unreachable ({type(exc).__name__})",
                hint="check the network and the profile's api_url",
            ) from None
        if response.status_code >= 400:
            self._raise_for(endpoint, response)
        try:
            data = response.json()
        except ValueError:
            raise SignatureError(
                f"E-Cloud {endpoint}: the answer is not JSON", code="cloud_protocol"
            ) from None
        if not isinstance(data, dict):
            raise SignatureError(f"E-Cloud {endpoint}: unexpected answer", code="cloud_protocol")
        return data

    @staticmethod
    def _raise_for(endpoint: str, response: httpx.Response) -> None:
        from sochi_cli.errors import OperatorRefused, Unavailable

        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        code = str(body.get("error") or body.get("code") or response.status_code)
        text = str(
            body.get("error_description") or body.get("detail") or body.get("title") or ""
        ).strip()
        message = f"E-Cloud {endpoint} failed: {text or code}"
        if response.status_code >= 500 or response.status_code == 429:
            raise Unavailable(message, code=code)
        if response.status_code in (401, 403) or code in (
            "invalid_pin",
            "invalid_otp",
            "access_denied",
            "invalid_token",
            "SAD_expired",
        ):
            raise AuthError(message, code=f"cloud_{code}".lower())
        if response.status_code == 404:
            raise AuthError(message, code="cloud_credential_missing")
        raise OperatorRefused(message, code=f"cloud_{code}".lower())

    # -- credential ---------------------------------------------------------------------

    def list_credentials(self) -> list[str]:
        data = self._post("credentials/list", {"userID": self._user_id})
        ids = data.get("credentialIDs")
        if not isinstance(ids, list):
            raise SignatureError(
                "E-Cloud credentials/list: no credentialIDs", code="cloud_protocol"
            )
        return [str(i) for i in ids]

    def credential_info(self, credential_id: str) -> CredentialInfo:
        from cryptography import x509

        data = self._post(
            "credentials/info", {"credentialID": credential_id, "certificates": "chain"}
        )
        try:
            key = data["key"]
            cert = data["cert"]
            certs = tuple(
                x509.load_der_x509_certificate(base64.b64decode(c)) for c in cert["certificates"]
            )
            if not certs:
                raise ValueError("no certificate")
            return CredentialInfo(
                credential_id=credential_id,
                key_status=str(key.get("status", "")),
                key_algorithms=tuple(str(a) for a in key.get("algo", [])),
                key_length=int(key["len"]) if key.get("len") is not None else None,
                cert_status=str(cert.get("status", "")),
                certificates=certs,
                auth_mode=str(data.get("authMode", "explicit")),
                multisign=max(1, int(data.get("multisign", 1))),
            )
        except (KeyError, TypeError, ValueError):
            raise SignatureError(
                "E-Cloud credentials/info: malformed answer", code="cloud_protocol"
            ) from None

    def open(self) -> None:
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout)
        credential = self._credential_id
        if credential is None:
            ids = self.list_credentials()
            if not ids:
                raise AuthError(
                    f"no E-Cloud credential for {self._user_id}", code="cloud_credential_missing"
                )
            if len(ids) > 1:
                raise AuthError(
                    "several E-Cloud credentials: " + ", ".join(ids),
                    hint="choose one with profile key cloud_credential",
                    code="cloud_credential_ambiguous",
                )
            credential = ids[0]
        info = self.credential_info(credential)
        if info.key_status not in ("", "enabled"):
            raise AuthError(
                f"E-Cloud key {credential} is {info.key_status}", code="cloud_key_disabled"
            )
        self.info = info
        self.chain = list(info.certificates[1:])
        self._algorithm = algorithm_for_certificate(info.certificate, rsa_pss=self._rsa_pss)

    def close(self) -> None:
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None

    @property
    def certificate(self) -> x509.Certificate:
        if self.info is None:
            raise UsageError("the E-Cloud signer is not open (use it in a `with` block)")
        return self.info.certificate

    def algorithm(self) -> SignatureAlgorithm:
        if self._algorithm is None:
            self._algorithm = algorithm_for_certificate(self.certificate, rsa_pss=self._rsa_pss)
        return self._algorithm

    # -- signing ------------------------------------------------------------------------

    def authorize(self, count: int) -> str:
        """sendOTP, ask the caller for PIN and code, and get a SAD for `count` signatures."""
        info = self.info
        if info is None:
            raise UsageError("the E-Cloud signer is not open (use it in a `with` block)")
        self._post("credentials/sendOTP", {"credentialID": info.credential_id})
        pin = self._pin(info)
        register_secret(pin)
        otp = self._otp(info)
        register_secret(otp)
        data = self._post(
            "credentials/authorize",
            {
                "credentialID": info.credential_id,
                "numSignatures": count,
                "PIN": pin,
                "OTP": otp,
            },
        )
        sad = data.get("SAD")
        if not isinstance(sad, str) or not sad:
            raise SignatureError("E-Cloud authorize: no SAD in the answer", code="cloud_protocol")
        register_secret(sad)
        return sad

    def sign_digests(self, digests: Sequence[bytes]) -> list[bytes]:
        info = self.info
        if info is None:
            raise UsageError("the E-Cloud signer is not open (use it in a `with` block)")
        algorithm = self.algorithm()
        result: list[bytes] = []
        for start in range(0, len(digests), info.multisign):
            group = digests[start : start + info.multisign]
            sad = self.authorize(len(group))
            for offset in range(0, len(group), self._chunk):
                chunk = group[offset : offset + self._chunk]
                data = self._post(
                    "signatures/signHash",
                    {
                        "credentialID": info.credential_id,
                        "SAD": sad,
                        "hashes": [base64.b64encode(d).decode("ascii") for d in chunk],
                        "hashAlgo": algorithm.digest_oid,
                        "signAlgo": algorithm.csc_sign_oid,
                        **(
                            {"signAlgoParams": base64.b64encode(params).decode("ascii")}
                            if (params := algorithm.cms_signature_params)
                            else {}
                        ),
                    },
                )
                values = data.get("signatures")
                if not isinstance(values, list) or len(values) != len(chunk):
                    raise SignatureError(
                        "E-Cloud signHash returned the wrong number of signatures",
                        code="cloud_protocol",
                    )
                for value in values:
                    raw = base64.b64decode(value)
                    result.append(
                        ecdsa_to_der(raw, size=algorithm.ec_size)
                        if algorithm.key_type == "ec"
                        else raw
                    )
        return result

    def __enter__(self) -> Self:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["SHA256_OID", "CloudSigner", "CredentialInfo", "SecretProvider"]
