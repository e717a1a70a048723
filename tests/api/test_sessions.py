"""PBX sessions behind the API: shared per user, restored after a restart, reconnected after a
drop, ended by a server Logout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mxproxy.service import Tuning

from .harness import Proxy


async def _until_answered(proxy: Proxy, token: str, deadline: float) -> int:
    """GET /auth until it answers 200 or `deadline` (loop time) passes; each request itself
    waits briefly for a reconnect in progress, so this loop only bounds the whole wait."""
    loop = asyncio.get_running_loop()
    status = 0
    while loop.time() < deadline:
        status = (await proxy.api.get("/auth", headers=proxy.bearer(token))).status_code
        if status == 200:
            return status
    return status


async def test_a_restart_keeps_tokens_valid_and_brings_the_pbx_session_back(proxy: Proxy) -> None:
    token = await proxy.login()
    await proxy.restart()
    loop = asyncio.get_running_loop()
    assert await _until_answered(proxy, token, loop.time() + 5) == 200
    assert (await proxy.admin.get("/connections")).json() == {"connections": ["dmitrys@xyzrd.com"]}
    assert proxy.simulator.logged_in_users() == ["dmitrys"]


async def test_a_graceful_stop_logs_every_pbx_session_out(proxy: Proxy) -> None:
    await proxy.login()
    await proxy.login("peterh@xyzrd.com", "981211")
    assert proxy.simulator.logged_in_users() == ["dmitrys", "peterh"]
    await proxy.service.sessions.shutdown()
    await proxy.simulator.wait_for_sessions(0)
    assert proxy.simulator.logged_in_users() == []


async def test_the_api_works_again_within_five_seconds_of_a_pbx_drop(proxy: Proxy) -> None:
    token = await proxy.login()
    session = proxy.service.sessions.get("dmitrys@xyzrd.com")
    assert session is not None
    client = session.client
    assert client is not None
    proxy.simulator.drop_all()
    await client.wait_closed()
    loop = asyncio.get_running_loop()
    assert await _until_answered(proxy, token, loop.time() + 5) == 200
    assert session.reconnects == 1


async def test_requests_while_the_pbx_is_away_get_401_not_a_hang(
    tuned_proxy: Callable[[Tuning], Awaitable[Proxy]],
) -> None:
    proxy = await tuned_proxy(Tuning(wait_for_reconnect=0.2))
    token = await proxy.login()
    session = proxy.service.sessions.get("dmitrys@xyzrd.com")
    assert session is not None
    await session.stop(logout=False)  # down, and nobody reconnects it
    response = await proxy.api.get("/auth", headers=proxy.bearer(token))
    assert response.status_code == 401
    assert response.json() == {"error": "active mx connection unavailable"}
    assert response.headers["www-authenticate"].startswith('Bearer realm="MXProxy"')


async def test_a_server_logout_ends_the_session_and_forgets_the_user(proxy: Proxy) -> None:
    token = await proxy.login()
    session = proxy.service.sessions.get("dmitrys@xyzrd.com")
    assert session is not None
    ended = asyncio.get_running_loop().create_future()
    proxy.service.sessions.end_listeners.append(lambda login, reason: ended.set_result((login, reason)))
    proxy.simulator.logout("dmitrys", mode="kicked")
    login, reason = await asyncio.wait_for(ended, 5)
    assert login == "dmitrys@xyzrd.com"
    assert "server logout" in reason
    assert (await proxy.api.get("/auth", headers=proxy.bearer(token))).status_code == 401
    assert (await proxy.admin.get("/users")).json() == {"users": {}}


async def test_a_stored_user_whose_pbx_login_is_refused_is_removed(proxy: Proxy) -> None:
    await proxy.login()
    ended = asyncio.get_running_loop().create_future()
    proxy.service.sessions.end_listeners.append(lambda login, reason: ended.set_result((login, reason)))
    proxy.simulator.set_password("dmitrys", "changed-elsewhere")
    proxy.simulator.drop_all()
    login, reason = await asyncio.wait_for(ended, 10)
    assert login == "dmitrys@xyzrd.com"
    assert "refused" in reason
    assert (await proxy.admin.get("/users")).json() == {"users": {}}
    assert await proxy.service.store.users() == []
