"""The cached `GET /contacts` fast path answers exactly what the FastAPI route answers, and
leaves every other case to it."""

from __future__ import annotations

from .harness import Proxy


async def test_the_fast_path_answers_the_same_bytes_and_headers(proxy: Proxy) -> None:
    token = await proxy.login()
    cold = await proxy.api.get("/contacts", headers=proxy.bearer(token))  # builds the cache
    session = proxy.service.sessions.get("dmitrys@xyzrd.com")
    assert session is not None
    assert proxy.service.directory.cached_json(session) is not None
    warm = await proxy.api.get("/contacts", headers=proxy.bearer(token))  # served from it
    assert warm.status_code == cold.status_code == 200
    assert warm.content == cold.content
    assert {k: v for k, v in warm.headers.items() if k != "date"} == {
        k: v for k, v in cold.headers.items() if k != "date"
    }


async def test_errors_still_come_from_the_documented_route(proxy: Proxy) -> None:
    token = await proxy.login()
    await proxy.api.get("/contacts", headers=proxy.bearer(token))
    bad = await proxy.api.get("/contacts", headers=proxy.bearer(token + "x"))
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"].startswith('Bearer realm="MXProxy"')
    proxy.service.wait_for_reconnect = 0.1
    session = proxy.service.sessions.get("dmitrys@xyzrd.com")
    assert session is not None
    await session.stop(logout=False)
    down = await proxy.api.get("/contacts", headers=proxy.bearer(token))
    assert down.status_code == 401
    assert down.json() == {"error": "active mx connection unavailable"}
