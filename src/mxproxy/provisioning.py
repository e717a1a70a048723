"""The provisioning client: which MX a login belongs to, and with which PBX credentials.

`GET <provisioning URL>` with the user's Basic credentials (or an Azure AD bearer token)
answers `{"MX": {"account_name", "account_pwd", "address", "csta_port", "csta_ssl", "sn"}}`
(PROTOCOL.md § Provisioning). Every failure becomes a `ProvisioningError` carrying the HTTP
status the API answers with: the provisioning service's own non-200 status, 403 when the MX
part is missing or not TLS, 502 for an answer we cannot read, 503 unreachable, 504 timeout.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

DEFAULT_MX_PORT = 7778
NOT_CONFIGURED = "mx provisioning is not configured"


@dataclass(frozen=True, slots=True)
class MXAccount:
    """Where and as whom to log in to the PBX. `password` is the PBX password: never log it."""

    login: str
    password: str
    host: str
    port: int
    sn: str

    def __repr__(self) -> str:
        return f"MXAccount(login={self.login!r}, host={self.host!r}, port={self.port}, sn={self.sn!r})"


class ProvisioningError(Exception):
    """Provisioning failed; `status` is what the API answers."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status}: {message}")


class Provisioning:
    """The provisioning service at `url`, asked over one pooled aiohttp session: connections
    stay open between logins, so a login pays no TCP (or TLS) handshake to provisioning.
    aiohttp rather than httpx: a third of httpx's processor time per request (measured in
    docs/benchmarks.md), and every login asks provisioning first."""

    def __init__(self, url: str, timeout: float = 10.0, *, max_connections: int = 256) -> None:
        self.url = url
        self.timeout = timeout
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use: an aiohttp session belongs to the running event loop.
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=30.0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                auto_decompress=False,
                trust_env=False,
            )
        return self._session

    async def account(self, *, basic: tuple[str, str] | None = None, bearer: str | None = None) -> MXAccount:
        """Ask the provisioning service for the login's MX account."""
        headers = {"Accept": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        elif basic is not None:
            headers["Authorization"] = _basic(*basic)
        try:
            async with self._client().get(self.url, headers=headers, allow_redirects=False) as response:
                body = await response.read()
                status, reason = response.status, response.reason or ""
        except TimeoutError:
            raise ProvisioningError(504, "provisioning service timed out") from None
        except (aiohttp.ClientError, OSError, ValueError):
            raise ProvisioningError(503, "provisioning service unavailable") from None
        if status != 200:
            raise ProvisioningError(status, _error_text(status, reason, body))
        return parse_account(body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _basic(username: str, password: str) -> str:
    # RFC 7617 with UTF-8, as httpx and 2.3 sent it.
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def parse_account(body: bytes) -> MXAccount:
    """Read the provisioning answer; see the module docstring for the statuses."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ProvisioningError(502, "provisioning service answered garbage") from None
    mx = document.get("MX") if isinstance(document, dict) else None
    if not isinstance(mx, dict):
        raise ProvisioningError(403, NOT_CONFIGURED)
    login, password, host = (_text(mx, key) for key in ("account_name", "account_pwd", "address"))
    if not (login and password and host):
        raise ProvisioningError(403, NOT_CONFIGURED)
    if mx.get("csta_ssl") not in (True, "true", "1", 1):
        raise ProvisioningError(403, "mx connection is not encrypted")
    return MXAccount(login, password, host, _port(mx.get("csta_port")), _text(mx, "sn"))


def _text(mx: dict[str, Any], key: str) -> str:
    value = mx.get(key)
    return str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _port(value: object) -> int:
    if value in (None, ""):
        return DEFAULT_MX_PORT
    try:
        port = int(str(value))
    except ValueError:
        raise ProvisioningError(403, NOT_CONFIGURED) from None
    if not 0 < port < 65536:
        raise ProvisioningError(403, NOT_CONFIGURED)
    return port


def _error_text(status: int, reason: str, body: bytes) -> str:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        return str(document["error"])[:200]
    return reason.lower() or f"provisioning failed with status {status}"
