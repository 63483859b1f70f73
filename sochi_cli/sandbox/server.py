"""Running the sandbox with uvicorn on loopback: ready line, clean shutdown on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sochi_cli.errors import UsageError
from sochi_cli.store.config import is_loopback_host

# A request still running this long after SIGTERM is cancelled; long polls end at once
# (Sandbox.stopping), so only a request stuck in the database could reach it.
GRACEFUL_SHUTDOWN_SECONDS = 2


def bind_socket(host: str, port: int, *, allow_remote: bool = False) -> socket.socket:
    """A listening socket (port 0 = any free port); non-loopback hosts need `allow_remote`."""
    if not allow_remote and not is_loopback_host(host):
        raise UsageError(
            f"refusing to listen on {host}: the sandbox serves loopback only",
            hint="use 127.0.0.1, or --allow-remote if you really mean it",
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="choose another --port (0 picks a free one)",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8788,
    seed: str | None = None,
    bulk_clients: int | None = None,
    history: bool = True,
    allow_remote: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; `on_ready(base_url)` is called once accepting connections."""
    import uvicorn

    from sochi_cli.sandbox.app import create_app

    sock = bind_socket(host, port, allow_remote=allow_remote)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    base_url = f"http://{shown}:{bound_port}"
    app = create_app(data_dir, seed=seed, bulk_clients=bulk_clients, history=history)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = make_server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started and on_ready is not None:
            on_ready(base_url)
        await task

    try:
        asyncio.run(run())
    finally:
        sock.close()


def make_server(config: Any) -> Any:
    """uvicorn's `Server` for `config` (a `uvicorn.Config`), stopping the way the sandbox
    must: `sochi sandbox serve` and the tests' servers (tests/api/servers.py) share it."""
    return _server_class()(config)


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, except that it stops promptly and a stop on request is done.

        - On shutdown it first sets the sandbox's `stopping` event, so a long poll
          (`GET /events?wait=60`) answers at once instead of holding the graceful shutdown
          until uvicorn cancels it (an error and a traceback on stderr).
        - uvicorn re-raises the captured signal after shutting down, so the process dies
          with 143 (or a KeyboardInterrupt) although it stopped cleanly; a sandbox stopped
          on request should exit 0 like any service manager expects.
        """

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

        def _sandbox(self) -> Any:
            return getattr(getattr(self.config.app, "state", None), "sandbox", None)

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            if (sandbox := self._sandbox()) is not None:
                sandbox.stopping.clear()  # an app served again (tests) polls again
            await super().startup(sockets)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            if (sandbox := self._sandbox()) is not None:
                sandbox.stopping.set()
            await super().shutdown(sockets)

    return Server


def pid() -> int:
    return os.getpid()


__all__ = ["GRACEFUL_SHUTDOWN_SECONDS", "bind_socket", "make_server", "serve"]
