"""Serving an ASGI app with uvicorn on a socket we bind ourselves, so that several listeners
(the API, the admin web, the provisioning stub) share one event loop, port 0 works, and the
caller owns start, stop and signals. Each listener bounds its clients (`httpguard`): header and
body deadlines, idle keep-alive time and open connections."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import uvicorn

from mxproxy import __version__
from mxproxy.httpguard import ClientLimits, GuardedProtocol

SERVER_HEADER = f"MXProxy/{__version__}"


def parse_listen(value: str, default_host: str) -> tuple[str, int]:
    """`[HOST:]PORT` (also `:PORT` and `[::1]:PORT`) → (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "", value
    host = host.strip("[]") or default_host
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"invalid listen address {value!r}: port must be a number") from None
    if not 0 <= number < 65536:
        raise ValueError(f"invalid listen address {value!r}: port out of range")
    return host, number


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class HttpListener:
    """One uvicorn server on one socket; `name` says which in the lines logged when a limit bites."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: ClientLimits | None = None,
        keep_alive_timeout: float = 15.0,
        name: str = "http",
        **options: Any,
    ) -> None:
        self._socket = bind(host, port)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            # X-Forwarded-For is read by the apps, from [http] trustedProxies only.
            proxy_headers=options.pop("proxy_headers", False),
            http=GuardedProtocol.with_limits(limits or ClientLimits(), name),
            # uvicorn declares an int, but hands the value to `call_later`: fractions work.
            timeout_keep_alive=keep_alive_timeout,  # type: ignore[arg-type]
            timeout_graceful_shutdown=options.pop("graceful_timeout", 10),
            **options,
        )
        self._server = uvicorn.Server(config)
        self._main_loop: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        config = self._server.config
        if not config.loaded:
            config.load()
        self._server.lifespan = config.lifespan_class(config)
        await self._server.startup(sockets=[self._socket])
        self._main_loop = asyncio.create_task(self._server.main_loop(), name=f"http :{self.port}")

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (bounded), close."""
        self._server.should_exit = True
        if self._main_loop is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._main_loop
            self._main_loop = None
            await self._server.shutdown(sockets=[self._socket])
        else:
            self._socket.close()
