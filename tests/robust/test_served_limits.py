"""`mxproxy serve` applies the `[http]` limits to both listeners: on the admin web as on the
API, idle connections are cut at the header deadline and one too many gets 503 at once."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

CONFIG = """\
[apps]
a = "b"
[http]
headerTimeout = "500ms"
maxConnections = 3
adminMaxConnections = 2
"""


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[dict[str, tuple[str, int]]]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxproxy", "serve", "--config", str(config), "--db", str(tmp_path / "a.db"),
        "--port", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--log-format", "json",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        async with asyncio.timeout(30):
            while True:
                line = await process.stderr.readline()
                assert line, "mxproxy serve ended before listening"
                entry = orjson.loads(line) if line.startswith(b"{") else {}
                if "api" in entry:
                    break
        listeners = {}
        for name in ("api", "admin"):
            host, _, port = entry[name].removeprefix("http://").rpartition(":")
            listeners[name] = (host, int(port))
        yield listeners
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)


async def test_both_listeners_are_bounded(served: dict[str, tuple[str, int]]) -> None:
    for listener, allowed in (("api", 3), ("admin", 2)):
        host, port = served[listener]
        idle = [await asyncio.open_connection(host, port) for _ in range(allowed)]
        reader, writer = await asyncio.open_connection(host, port)
        async with asyncio.timeout(5):
            assert (await reader.read(-1)).startswith(b"HTTP/1.1 503 "), listener
        writer.close()
        async with asyncio.timeout(5):
            for idle_reader, _ in idle:
                assert (await idle_reader.read(-1)).startswith(b"HTTP/1.1 408 "), listener
        for _, idle_writer in idle:
            idle_writer.close()
