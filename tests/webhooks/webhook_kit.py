"""The webhook tests' proxy: the service with endpoints, against the simulator."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from mxproxy.api.app import create_api_app
from mxproxy.config import Config, MXConfig, StoreConfig
from mxproxy.httpserver import HttpListener
from mxproxy.service import Runtime, Tuning
from mxproxy.sim import Simulator
from mxproxy.webhooks.policy import RetryPolicy
from mxproxy.webhooks.settings import WebhookEndpoint

APP_ID = "client7664"
APP_SECRET = "Mmx0OlWEDIDhPGgGpLQFxBwpCSPp9IIY"
LOGIN = "dmitrys@xyzrd.com"
EXT = "3095"
SECRET = "a webhook secret"
FAST = RetryPolicy(first=0.05, cap=0.2)


def endpoint(url: str, **options: Any) -> WebhookEndpoint:
    return WebhookEndpoint(url=url, secret=options.pop("secret", SECRET), **options)


@asynccontextmanager
async def proxy(
    tmp_path: Path,
    simulator: Simulator,
    webhooks: tuple[WebhookEndpoint, ...],
    *,
    voip: dict[str, object] | None = None,
    login: bool = True,
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    config = Config.default(
        apps={APP_ID: APP_SECRET},
        config_dir=tmp_path,
        provisioning=simulator.provisioning_url,
        store=StoreConfig(path=tmp_path / "mxproxy.db"),
        mx=MXConfig(timeout=3.0, connect_timeout=3.0, call_log_idle=0.2, reconnect_max=2.0),
        voip=voip,
    )
    config = dataclasses.replace(config, webhooks=webhooks)
    service = await Runtime.open(config, Tuning(webhook_retry=FAST))
    await service.start()
    listener = HttpListener(create_api_app(service))
    await listener.start()
    client = httpx.AsyncClient(base_url=listener.url, timeout=15.0)
    try:
        if login:
            basic = base64.b64encode(f"{APP_ID}:{APP_SECRET}".encode()).decode()
            response = await client.post(
                "/auth",
                headers={"Authorization": f"Basic {basic}"},
                data={"username": LOGIN, "password": "78561", "grant_type": "password"},
            )
            assert response.status_code == 200, response.text
            client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        yield service, client
    finally:
        service.live.close()
        await client.aclose()
        await listener.stop()
        await service.close()
