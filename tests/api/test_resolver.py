"""The one place a bearer token becomes a session: every authenticated operation asks the
runtime's `Resolver`, once per request; a resolution naming another instance (cluster mode)
is not served here, and a request already forwarded is never sent on again."""

from __future__ import annotations

from mxproxy.services.resolver import FORWARDED_HEADER, Invalid, Local, Remote, Resolution, Resolver

from .harness import Proxy


class CountingResolver:
    def __init__(self, inner: Resolver, remote: set[str]) -> None:
        self.inner = inner
        self.remote = remote
        self.calls = 0

    async def resolve(self, token: str, *, forwarded: bool = False) -> Resolution:
        self.calls += 1
        if token in self.remote:
            return Remote("instance-2", "http://10.0.0.2:8000")
        return await self.inner.resolve(token, forwarded=forwarded)


async def test_each_request_resolves_its_token_once(proxy: Proxy) -> None:
    token = await proxy.login()
    counting = CountingResolver(proxy.service.resolver, set())
    proxy.service.resolver = counting
    for path in ("/auth", "/contacts", "/voicemails", "/calls/12"):
        before = counting.calls
        await proxy.api.get(path, headers=proxy.bearer(token))
        assert counting.calls == before + 1, path
    before = counting.calls
    assert (await proxy.api.get("/healthz")).status_code == 200
    assert counting.calls == before


async def test_a_session_owned_elsewhere_is_not_served_here(proxy: Proxy) -> None:
    token = await proxy.login()
    proxy.service.resolver = CountingResolver(proxy.service.resolver, {token})
    response = await proxy.api.get("/contacts", headers=proxy.bearer(token))
    assert response.status_code == 503
    forwarded = {**proxy.bearer(token), FORWARDED_HEADER.decode(): "instance-1"}
    again = await proxy.api.get("/contacts", headers=forwarded)
    assert again.status_code == 503
    assert again.json() == {"error": "session moved"}


async def test_the_local_resolver_answers_local_or_invalid(proxy: Proxy) -> None:
    token = await proxy.login()
    resolution = await proxy.service.resolver.resolve(token)
    assert isinstance(resolution, Local)
    assert resolution.session.login == "dmitrys@xyzrd.com"
    assert isinstance(await proxy.service.resolver.resolve(token + "x"), Invalid)
