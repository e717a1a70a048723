"""How an MX client connects and waits: `ClientOptions` (from the `[mx]` configuration) and
the TLS context for PBX connections."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass

from mxproxy.mx.connection import Settings

__all__ = ["ClientOptions", "RoundTripObserver", "client_ssl_context"]

# (command name, seconds, outcome: "ok" | "error" | "timeout" | "closed") for metrics.
RoundTripObserver = Callable[[str, float, str], None]


def client_ssl_context(*, verify: bool = False, ca_file: str | None = None) -> ssl.SSLContext:
    """TLS settings for MX connections: MX servers use self-signed certificates, so not
    verifying is the compatible default; `verify` (with an optional CA file) turns it on."""
    if verify:
        context = ssl.create_default_context(cafile=ca_file or None)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How a client connects and how long it waits (the protocol's timing rules are the
    connection's `Settings`, built from these)."""

    timeout: float = 7.0
    connect_timeout: float = 7.0
    keepalive_interval: float = 60.0
    call_log_idle: float = 0.5
    hung_after_timeouts: int = 3
    ssl_context: ssl.SSLContext | None = None
    platform: str = "iPhone"
    version: str = "7.0"
    observer: RoundTripObserver | None = None

    def settings(self) -> Settings:
        return Settings(
            answer_timeout=self.timeout,
            keepalive_interval=self.keepalive_interval,
            call_log_idle=self.call_log_idle,
            hung_after_timeouts=self.hung_after_timeouts,
        )
