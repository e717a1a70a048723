"""The admin web's protection from outside: Basic credentials of `[admin] users` on every
endpoint (/metrics included), Host and cross-site checks, masked device tokens, and
`GET /debug/log` for admins only (apps only behind `[admin] debugLogForApps`)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import bcrypt
import pytest

from mxproxy.config import AdminConfig
from mxproxy.sim import Simulator
from mxproxy.store import DeviceToken

from .harness import APP_BASIC, Proxy, proxy_config

OPS_PASSWORD = "correct horse battery staple"
# Few rounds: the tests check the logic, not bcrypt's cost.
OPS_HASH = bcrypt.hashpw(OPS_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


OPS = _basic("ops", OPS_PASSWORD)


@pytest.fixture
async def guarded(tmp_path: Path, simulator: Simulator) -> AsyncIterator[Proxy]:
    log_file = tmp_path / "mxproxy.log"
    log_file.write_text("2026-01-01 INFO mxproxy: started\n", encoding="utf-8")
    admin = AdminConfig(users={"ops": OPS_HASH}, hosts=("admin.example.net",))
    proxy = Proxy(proxy_config(tmp_path, simulator, admin=admin, log_name=log_file), simulator)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


@pytest.mark.parametrize("path", ["/apps", "/connections", "/tokens", "/users", "/metrics"])
async def test_every_admin_endpoint_needs_the_admin_password(guarded: Proxy, path: str) -> None:
    anonymous = await guarded.admin.get(path)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="MXProxy admin"'
    assert anonymous.json() == {"error": "admin authorization required"}
    for wrong in (_basic("ops", "guess"), _basic("nobody", OPS_PASSWORD), {"Authorization": APP_BASIC}):
        assert (await guarded.admin.get(path, headers=wrong)).status_code == 401
    assert (await guarded.admin.get(path, headers=OPS)).status_code == 200


async def test_logging_a_user_out_needs_the_admin_password(guarded: Proxy) -> None:
    token = await guarded.login()
    refused = await guarded.admin.post("/users", data={"login": "dmitrys@xyzrd.com"})
    assert refused.status_code == 401
    assert (await guarded.api.get("/auth", headers=guarded.bearer(token))).status_code == 200
    done = await guarded.admin.post("/users", data={"login": "dmitrys@xyzrd.com"}, headers=OPS)
    assert done.json() == {"userLogout": "dmitrys@xyzrd.com"}


@pytest.mark.parametrize("host", ["evil.example.com", "rebound.example.com:8043", "", "[::1"])
async def test_unknown_host_names_are_refused(guarded: Proxy, host: str) -> None:
    response = await guarded.admin.get("/users", headers={**OPS, "Host": host})
    assert response.status_code in (400, 403)
    assert "users" not in response.text


@pytest.mark.parametrize(
    "host", ["admin.example.net", "ADMIN.example.net:8043", "localhost:8043", "[::1]:8043"]
)
async def test_configured_and_loopback_host_names_are_served(guarded: Proxy, host: str) -> None:
    response = await guarded.admin.get("/apps", headers={**OPS, "Host": host})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example.com"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
async def test_cross_site_form_posts_are_refused(guarded: Proxy, headers: dict[str, str]) -> None:
    token = await guarded.login()
    response = await guarded.admin.post(
        "/users", data={"login": "dmitrys@xyzrd.com"}, headers={**OPS, **headers}
    )
    assert response.status_code == 403
    assert response.json() == {"error": "cross-site request refused"}
    assert (await guarded.api.get("/auth", headers=guarded.bearer(token))).status_code == 200


async def test_a_same_origin_post_is_served(guarded: Proxy) -> None:
    await guarded.login()
    origin = str(guarded.admin.base_url).rstrip("/")
    headers = {**OPS, "Origin": origin, "Sec-Fetch-Site": "same-origin"}
    response = await guarded.admin.post("/users", data={"login": "dmitrys@xyzrd.com"}, headers=headers)
    assert response.status_code == 200


async def test_device_tokens_are_masked(guarded: Proxy) -> None:
    await guarded.login()
    device = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
    await guarded.service.store.add_token(DeviceToken("apn", "com.example.app", device, "dmitrys@xyzrd.com"))
    response = await guarded.admin.get("/tokens", headers=OPS)
    assert response.json() == {"tokens": {"apn:com.example.app:a1b2…8f90": "dmitrys@xyzrd.com"}}
    assert device not in response.text


async def test_debug_log_takes_admin_credentials_not_an_apps(guarded: Proxy) -> None:
    assert (await guarded.api.get("/debug/log")).status_code == 401
    assert (await guarded.api.get("/debug/log", headers={"Authorization": APP_BASIC})).status_code == 403
    assert (await guarded.api.get("/debug/log", headers=_basic("ops", "guess"))).status_code == 403
    response = await guarded.api.get("/debug/log", headers=OPS)
    assert response.status_code == 200
    assert "mxproxy: started" in response.text


async def test_debug_log_for_apps_only_when_explicitly_allowed(tmp_path: Path, simulator: Simulator) -> None:
    log_file = tmp_path / "mxproxy.log"
    log_file.write_text("2026-01-01 INFO mxproxy: started\n", encoding="utf-8")
    config = proxy_config(tmp_path, simulator, log_name=log_file, admin=AdminConfig(debug_log_for_apps=True))
    proxy = Proxy(config, simulator)
    await proxy.start()
    try:
        response = await proxy.api.get("/debug/log", headers={"Authorization": APP_BASIC})
        assert response.status_code == 200
        assert "mxproxy: started" in response.text
    finally:
        await proxy.stop()
