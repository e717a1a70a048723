"""wrk's Lua script and summary, and the Python load generator, against a loopback server."""

from __future__ import annotations

import pytest
from tests.tools import require_tool

from bench.load import LoadSpec, lua_string, parse_wrk_summary, run_python, run_wrk, wrk_script

from .httpserver import canned_server, fixed


def test_lua_strings_are_escaped() -> None:
    assert lua_string('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


def test_the_script_carries_tokens_method_and_body() -> None:
    spec = LoadSpec("127.0.0.1", 1, "/calls", method="PATCH", tokens=["t1", "t2", "t3"], body=b'{"a":1}')
    script = wrk_script(spec, threads=2)
    assert 'local tokens = {"t1", "t2", "t3"}' in script
    assert 'local method = "PATCH"' in script
    assert 'local body = "{\\"a\\":1}"' in script
    assert "local share = 2" in script


def test_the_summary_line_is_parsed() -> None:
    summary = '{"requests": 500, "duration_us": 2000000, "p50_us": 1500, "p99_us": 9000, "errors": 3}'
    output = f"Running 1s test\nBENCHJSON {summary}\n"
    result = parse_wrk_summary(output)
    assert (result.requests, result.errors) == (500, 3)
    assert result.rps == 250.0
    assert (result.p50_ms, result.p99_ms) == (1.5, 9.0)
    with pytest.raises(RuntimeError):
        parse_wrk_summary("no summary")


async def test_the_python_generator_stops_at_its_count() -> None:
    async with canned_server({"/x": fixed(b"ok"), "/missing": fixed(b"", status="404 Not Found")}) as server:
        spec = LoadSpec(
            "127.0.0.1", server.port, "/x", tokens=["a", "b"], connections=4, seconds=10, max_requests=40
        )
        result = await run_python(spec)
        failing = await run_python(
            LoadSpec("127.0.0.1", server.port, "/missing", connections=2, seconds=10, max_requests=6)
        )
    assert result.requests == 40
    assert result.errors == 0
    assert result.p99_ms >= result.p50_ms > 0
    assert any(b"Authorization: Bearer b" in request for request in server.requests)
    assert failing.errors == 6


async def test_wrk_runs_the_script_and_reports() -> None:
    require_tool("wrk", install="Debian: apt-get install wrk")
    async with canned_server({"/x": fixed(b"ok")}) as server:
        spec = LoadSpec("127.0.0.1", server.port, "/x", tokens=["tok"], connections=2, seconds=1)
        result = await run_wrk(spec, threads=1)
    assert result.tool == "wrk"
    assert result.requests > 0
    assert result.errors == 0
    assert any(b"Authorization: Bearer tok" in request for request in server.requests)
