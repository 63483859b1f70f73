"""Loopback servers for tests: any ASGI app under uvicorn in a thread, on 127.0.0.1:<free port>."""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def serve(
    app: Any,
    *,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    lifespan: bool = False,
) -> Iterator[str]:
    """Run `app` on 127.0.0.1 (https when a certificate is given); yields the root URL."""
    import uvicorn

    from sochi_cli.sandbox.server import GRACEFUL_SHUTDOWN_SECONDS, make_server

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="error",
        lifespan="on" if lifespan else "off",
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    # the server `sochi sandbox serve` runs: a client's long poll (`/events?wait=25`) ends
    # when the test's teardown stops it, as it does on SIGTERM
    server = make_server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    scheme = "https" if certfile else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (and its key), PEM files in `tmp`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp / "tls-cert.pem", tmp / "tls-key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


async def garbage_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server that does not speak the contract: truncated JSON, wrong shapes, extra fields."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    status, body = 200, b'{"server_time": "2026-11-27T11:21:26Z", "maintenance": {'
    if path.endswith("/tariffs"):
        body = (
            b'{"currency": "KGS", "items": [{"code": "x", "amount": 100, "unit": "u",'
            b' "brand_new_field": [1, 2]}], "another_new_member": true}'
        )
    elif path.endswith("/forms"):
        body = b'{"items": [{"code": 5}]}'
    elif path.endswith("/boom"):
        status, body = 502, b"<html>bad gateway</html>"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
