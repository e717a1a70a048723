"""`mxproxy serve` as a real process: SIGTERM stops it gracefully (exit 0, open event streams
ended, every PBX session logged out)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from mxproxy.sim import Simulator

APP_ID = "client7664"
APP_SECRET = "server-test-secret"


def _write_config(directory: Path, simulator: Simulator) -> Path:
    config = directory / "config.toml"
    config.write_text(
        f"""provisioning = "{simulator.provisioning_url}"

[apps]
{APP_ID} = "{APP_SECRET}"

[store]
path = "mxproxy.db"
""",
        encoding="utf-8",
    )
    return config


@pytest.fixture
async def serving(
    tmp_path: Path, simulator: Simulator
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """`mxproxy serve` on ephemeral loopback ports; yields the process and the API's URL."""
    config = _write_config(tmp_path, simulator)
    environment = {key: value for key, value in os.environ.items() if key not in {"PORT", "ADMIN", "DB"}}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mxproxy",
        "serve",
        "--config",
        str(config),
        "--port",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
        "--log-format",
        "json",
        "--sse-heartbeat",
        "30",
        cwd=tmp_path,
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        api = await asyncio.wait_for(_api_url(process), 30)
        yield process, api
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _api_url(process: asyncio.subprocess.Process) -> str:
    """The API's URL from the process's "listening" log line."""
    assert process.stderr is not None
    while line := await process.stderr.readline():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict) and "api" in entry:
            return str(entry["api"])
    raise AssertionError(f"mxproxy serve exited ({await process.wait()}) before listening")


async def _read_all(response: httpx.Response) -> bytes:
    return b"".join([chunk async for chunk in response.aiter_bytes()])


async def test_sigterm_stops_serving_gracefully(
    serving: tuple[asyncio.subprocess.Process, str], simulator: Simulator
) -> None:
    process, api = serving
    basic = base64.b64encode(f"{APP_ID}:{APP_SECRET}".encode()).decode()
    async with httpx.AsyncClient(base_url=api, timeout=15.0) as client:
        login = await client.post(
            "/auth",
            headers={"Authorization": f"Basic {basic}"},
            data={"username": "dmitrys@xyzrd.com", "password": "78561", "grant_type": "password"},
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        await simulator.wait_for_users(["dmitrys"])
        async with client.stream("GET", "/events", headers={"Authorization": f"Bearer {token}"}) as events:
            assert events.status_code == 200
            process.send_signal(signal.SIGTERM)
            # The open stream ends at once instead of holding the shutdown up until the
            # listener's drain timeout (10 s) runs out.
            body = await asyncio.wait_for(_read_all(events), 5)
            assert body == b"retry: 3000\n\n"
    assert await asyncio.wait_for(process.wait(), 20) == 0
    await simulator.wait_for_users([])
    assert simulator.logged_in_users() == []


async def test_a_bad_config_exits_with_status_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[apps]\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mxproxy",
        "serve",
        "--config",
        str(config),
        "--port",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"configuration error: apps" in errors
