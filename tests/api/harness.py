"""A real proxy for end-to-end tests: the service on its own SQLite file, the API and admin
web on ephemeral loopback ports, the MX simulator and its provisioning stub behind it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mxproxy.api.admin import create_admin_app
from mxproxy.api.app import create_api_app
from mxproxy.config import Config, JwtConfig, MXConfig, StoreConfig
from mxproxy.httpserver import HttpListener
from mxproxy.service import Runtime, Tuning
from mxproxy.sim import Simulator

APP_ID = "client7664"
APP_SECRET = "Mmx0OlWEDIDhPGgGpLQFxBwpCSPp9IIY"
APP_BASIC = "Basic " + base64.b64encode(f"{APP_ID}:{APP_SECRET}".encode()).decode()


def proxy_config(tmp_path: Path, simulator: Simulator, **overrides: object) -> Config:
    settings: dict[str, object] = {
        "apps": {APP_ID: APP_SECRET},
        "config_dir": tmp_path,
        "provisioning": simulator.provisioning_url,
        "store": StoreConfig(path=tmp_path / "mxproxy.db"),
        "mx": MXConfig(timeout=3.0, connect_timeout=3.0, call_log_idle=0.2, reconnect_max=2.0),
        "jwt": JwtConfig(),
    }
    settings.update(overrides)
    return Config.default(**settings)  # type: ignore[arg-type]


@dataclass
class Proxy:
    """A running proxy and HTTP clients for its two listeners."""

    config: Config
    simulator: Simulator
    tuning: Tuning = field(default_factory=Tuning)
    service: Runtime = field(init=False)
    api: httpx.AsyncClient = field(init=False)
    admin: httpx.AsyncClient = field(init=False)
    _listeners: list[HttpListener] = field(default_factory=list)

    async def start(self) -> None:
        self.service = await Runtime.open(self.config, self.tuning)
        await self.service.start()
        api = HttpListener(create_api_app(self.service))
        admin = HttpListener(create_admin_app(self.service))
        for listener in (api, admin):
            await listener.start()
        self._listeners = [api, admin]
        self.api = httpx.AsyncClient(base_url=api.url, timeout=15.0)
        self.admin = httpx.AsyncClient(base_url=admin.url, timeout=15.0)

    async def stop(self) -> None:
        self.service.live.close()  # open event streams end first, as in `run_proxy`
        await self.api.aclose()
        await self.admin.aclose()
        for listener in self._listeners:
            await listener.stop()
        await self.service.close()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def login(self, username: str = "dmitrys@xyzrd.com", password: str = "78561") -> str:
        """Log in and return the access token."""
        response = await self.api.post(
            "/auth",
            headers={"Authorization": APP_BASIC},
            data={"username": username, "password": password, "grant_type": "password"},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}
