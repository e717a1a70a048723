"""Prometheus `/metrics` on the admin listener, and the per-request log line."""

from __future__ import annotations

import logging

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mxproxy import metrics
from mxproxy.logs import JsonFormatter

from .harness import Proxy

LOGIN = "dmitrys@xyzrd.com"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _scrape(proxy: Proxy) -> Samples:
    response = await proxy.admin.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _sum(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (sample, have), value in samples.items() if sample == name and wanted <= have)


async def test_http_requests_are_counted_by_route_template_and_status(proxy: Proxy) -> None:
    token = await proxy.login()
    route = {"app": "api", "method": "GET", "route": "/auth"}
    before = await _scrape(proxy)
    for _ in range(2):
        assert (await proxy.api.get("/auth", headers=proxy.bearer(token))).status_code == 200
    assert (await proxy.api.get("/no/such/path")).status_code == 404
    after = await _scrape(proxy)
    ok = "mxproxy_http_requests_total"
    assert _value(after, ok, **route, status="200") - _value(before, ok, **route, status="200") == 2
    unmatched = {"app": "api", "method": "GET", "route": "<unmatched>", "status": "404"}
    assert _value(after, ok, **unmatched) - _value(before, ok, **unmatched) == 1
    count = "mxproxy_http_request_duration_seconds_count"
    assert _value(after, count, **route) - _value(before, count, **route) == 2
    # Plain Starlette routes are named by their path as well.
    assert (await proxy.api.get("/openapi.json")).status_code == 200
    spec = {"app": "api", "method": "GET", "route": "/openapi.json", "status": "200"}
    assert _value(await _scrape(proxy), ok, **spec) >= 1
    # Concrete paths never become labels.
    assert not any("/no/such/path" in str(labels) for _, labels in after)


async def test_pbx_sessions_round_trips_and_reconnects_move(proxy: Proxy) -> None:
    before = await _scrape(proxy)
    await proxy.login()
    session = proxy.service.sessions.get(LOGIN)
    assert session is not None
    await session.client_ready(5)
    logged_in = await _scrape(proxy)
    up = "mxproxy_pbx_sessions"
    assert _value(logged_in, up, state="up") - _value(before, up, state="up") == 1
    trips = "mxproxy_pbx_request_seconds_count"
    assert _sum(logged_in, trips, outcome="ok") > _sum(before, trips, outcome="ok")

    client = session.client
    assert client is not None
    proxy.simulator.drop_all()
    await client.wait_closed()
    await session.client_ready(5)
    reconnected = await _scrape(proxy)
    reconnects = "mxproxy_pbx_reconnects_total"
    assert _value(reconnected, reconnects) - _value(logged_in, reconnects) == 1
    assert _value(reconnected, up, state="up") == _value(logged_in, up, state="up")


async def test_open_event_streams_are_counted(proxy: Proxy) -> None:
    token = await proxy.login()
    before = _value(await _scrape(proxy), "mxproxy_sse_streams_open")
    async with proxy.api.stream("GET", "/events", headers=proxy.bearer(token)) as response:
        assert response.status_code == 200
        assert _value(await _scrape(proxy), "mxproxy_sse_streams_open") == before + 1
        await proxy.api.delete("/auth/logout", headers=proxy.bearer(token))
        assert _value(await _scrape(proxy), "mxproxy_sse_streams_open") == before


async def test_the_push_counter_is_exposed(proxy: Proxy) -> None:
    labels = {"service": "apns", "result": "sent"}
    before = _value(await _scrape(proxy), "mxproxy_pushes_total", **labels)
    metrics.PUSHES.labels(**labels).inc()
    assert _value(await _scrape(proxy), "mxproxy_pushes_total", **labels) == before + 1


async def test_every_request_gets_one_log_line_without_secrets(
    proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    token = await proxy.login()
    device = "a" * 64
    caplog.set_level(logging.INFO, logger="mxproxy.http")
    await proxy.api.get("/auth", headers=proxy.bearer(token))
    await proxy.api.put(f"/tokens/fcm/app/{device}", headers=proxy.bearer(token))
    lines = [record for record in caplog.records if record.name == "mxproxy.http"]
    assert len(lines) == 2
    first = lines[0]
    assert first.getMessage().startswith("GET /auth 200 ")
    assert first.getMessage().endswith(f"user={LOGIN}")
    fields = first.fields  # type: ignore[attr-defined]
    assert fields["method"] == "GET"
    assert fields["route"] == "/auth"
    assert fields["status"] == 200
    assert fields["user"] == LOGIN
    assert fields["duration_ms"] >= 0
    entry = orjson.loads(JsonFormatter().format(first))
    assert entry["route"] == "/auth"
    assert entry["user"] == LOGIN
    assert entry["logger"] == "mxproxy.http"
    for record in lines:
        assert token not in record.getMessage()
        assert device not in record.getMessage()
        assert device not in JsonFormatter().format(record)
