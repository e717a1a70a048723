"""API.md § Administrative web, and GET /debug/log."""

from __future__ import annotations

import base64

from .harness import APP_BASIC, APP_ID, APP_SECRET, Proxy


async def test_apps_lists_client_ids_never_secrets(proxy: Proxy) -> None:
    response = await proxy.admin.get("/apps")
    assert response.json() == {"apps": [APP_ID]}
    assert APP_SECRET not in response.text


async def test_users_and_connections_after_logins(proxy: Proxy) -> None:
    await proxy.login()
    await proxy.login("peterh@xyzrd.com", "981211")
    users = (await proxy.admin.get("/users")).json()
    port = proxy.simulator.port
    assert users == {
        "users": {
            "dmitrys@xyzrd.com": {"host": f"127.0.0.1:{port}", "login": "dmitrys"},
            "peterh@xyzrd.com": {"host": f"127.0.0.1:{port}", "login": "peterh"},
        }
    }
    connections = (await proxy.admin.get("/connections")).json()
    assert connections == {"connections": ["dmitrys@xyzrd.com", "peterh@xyzrd.com"]}
    raw = (await proxy.admin.get("/users")).text
    assert "78561" not in raw
    assert "981211" not in raw


async def test_tokens_lists_registered_device_tokens(proxy: Proxy) -> None:
    await proxy.login()
    assert (await proxy.admin.get("/tokens")).json() == {"tokens": {}}


async def test_post_users_logs_a_user_out(proxy: Proxy) -> None:
    token = await proxy.login()
    response = await proxy.admin.post("/users", data={"login": "dmitrys@xyzrd.com"})
    assert response.json() == {"userLogout": "dmitrys@xyzrd.com"}
    assert (await proxy.api.get("/auth", headers=proxy.bearer(token))).status_code == 401
    assert proxy.simulator.logged_in_users() == []


async def test_post_users_for_an_unknown_login_is_404(proxy: Proxy) -> None:
    response = await proxy.admin.post("/users", data={"login": "nobody@xyzrd.com"})
    assert response.status_code == 404
    assert "error" in response.json()


async def test_unknown_paths_and_methods_answer_json_errors(proxy: Proxy) -> None:
    missing = await proxy.api.get("/no/such/path")
    assert missing.status_code == 404
    assert missing.json() == {"error": "not found"}
    wrong = await proxy.api.put("/auth")
    assert wrong.status_code == 405
    assert wrong.json() == {"error": "method not allowed"}


async def test_debug_log_is_refused_without_admin_users(proxy: Proxy) -> None:
    assert (await proxy.api.get("/debug/log")).status_code == 401
    wrong = "Basic " + base64.b64encode(f"{APP_ID}:nope".encode()).decode()
    assert (await proxy.api.get("/debug/log", headers={"Authorization": wrong})).status_code == 403
    # An app's credentials no longer read the log (tests/api/test_admin_auth.py).
    assert (await proxy.api.get("/debug/log", headers={"Authorization": APP_BASIC})).status_code == 403
