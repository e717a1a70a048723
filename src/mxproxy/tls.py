"""TLS on a plain asyncio Protocol, driven through memory BIOs, for both ends of MX
connections (the proxy's client side and the simulator's server side).

asyncio's own TLS layer keeps a 256 KiB read buffer per connection, which would cost gigabytes
at the ten thousand concurrent PBX connections one process must hold. Running the TLS state
machine here over `ssl.MemoryBIO` keeps a connection down to OpenSSL's own state (which frees
its buffers when idle) plus what the subclass stores.

Subclasses implement `tls_established`, `tls_failed`, `plaintext_received` and
`connection_closed`, and call `send`, `close` (flush, close_notify, then TCP close) or `abort`
(TCP close at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import cast

_log = logging.getLogger("mxproxy.tls")
_READ_SIZE = 16384


class TLSProtocol(asyncio.Protocol):
    """One TCP connection speaking TLS, as the server or as the client."""

    __slots__ = ("_closing", "_context", "_established", "_incoming", "_outgoing", "_tls", "transport")

    def __init__(
        self, context: ssl.SSLContext, *, server_side: bool = True, server_hostname: str | None = None
    ) -> None:
        self._context = context
        self.transport: asyncio.Transport | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_side=server_side, server_hostname=server_hostname
        )
        self._established = False
        self._closing = False

    # -- hooks for subclasses ------------------------------------------------------------

    def tls_established(self) -> None:
        """The handshake completed; the connection can carry data."""

    def tls_failed(self, exc: Exception) -> None:
        """The handshake failed (the connection is being aborted)."""

    def plaintext_received(self, data: bytes) -> None:
        """Decrypted bytes arrived."""

    def connection_closed(self, exc: Exception | None) -> None:
        """The TCP connection is gone (either side closed it)."""

    # -- actions ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self._closing

    def send(self, data: bytes) -> None:
        """Encrypt and send `data`; silently dropped once the connection is closing."""
        if not self._established or not self.is_open:
            return
        view = memoryview(data)
        while view:
            written = self._tls.write(view)
            view = view[written:]
        self._flush()

    def close(self) -> None:
        """Send what is queued, say close_notify, and close the TCP connection."""
        if self.transport is None or self._closing:
            return
        self._closing = True
        if self._established:
            # The peer's close_notify is not awaited: unwrap() only queues ours.
            with contextlib.suppress(ssl.SSLError):
                self._tls.unwrap()
            self._flush()
        self.transport.close()

    def abort(self) -> None:
        """Drop the TCP connection at once, with no TLS goodbye."""
        if self.transport is None:
            return
        self._closing = True
        self.transport.abort()

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        if not self._tls.server_side:
            self._handshake()  # the client speaks first: send the ClientHello

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._closing = True
        self.connection_closed(exc)

    def eof_received(self) -> bool | None:
        return None

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        self._incoming.write(data)
        if not self._established and not self._handshake():
            return
        chunks, peer_done = self._read_plaintext()
        for chunk in chunks:
            self.plaintext_received(chunk)
            if self._closing:
                return
        if peer_done:
            self.close()
        else:
            self._flush()

    # -- internals ---------------------------------------------------------------------------

    def _handshake(self) -> bool:
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return False
        except (ssl.SSLError, OSError) as exc:
            _log.info("TLS handshake failed: %s", exc)
            self._flush()
            self.abort()
            self.tls_failed(exc)
            return False
        self._established = True
        self._flush()
        self.tls_established()
        return not self._closing

    def _read_plaintext(self) -> tuple[list[bytes], bool]:
        """Everything decryptable now, and whether the peer has finished sending."""
        chunks: list[bytes] = []
        while True:
            try:
                chunk = self._tls.read(_READ_SIZE)
            except ssl.SSLWantReadError:
                return chunks, False
            except ssl.SSLZeroReturnError:
                return chunks, True
            except (ssl.SSLError, OSError) as exc:
                _log.info("TLS error, the peer's data ends here: %s", exc)
                return chunks, True
            if not chunk:
                return chunks, True
            chunks.append(chunk)

    def _flush(self) -> None:
        pending = self._outgoing.read()
        if pending and self.transport is not None:
            self.transport.write(pending)
