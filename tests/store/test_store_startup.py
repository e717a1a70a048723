"""`mxproxy serve` on PostgreSQL as a real process: the key requirement, a wrong key refused,
and a database restart seen from HTTP (503 and /readyz not ready, never 500, then back)."""

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
from mxproxy.store import Store
from mxproxy.store.secretbox import encode_key
from pgserver import PostgresServer

APP_ID = "client7664"
APP_SECRET = "store-test-secret"
KEY = bytes(range(32))
OTHER_KEY = bytes(reversed(range(32)))


def write_config(directory: Path, provisioning: str, store: str) -> Path:
    config = directory / "config.toml"
    config.write_text(
        f'provisioning = "{provisioning}"\n\n[apps]\n{APP_ID} = "{APP_SECRET}"\n\n[store]\n{store}\n',
        encoding="utf-8",
    )
    return config


async def start_serve(
    directory: Path, config: Path, *extra: str, environment: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    base = {key: value for key, value in os.environ.items() if key not in {"PORT", "ADMIN", "DB"}}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxproxy", "serve", "--config", str(config),
        "--port", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--log-format", "json", *extra,
        cwd=directory,
        env={**base, **(environment or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def listening(process: asyncio.subprocess.Process) -> tuple[str, str, list[bytes]]:
    """The API's and admin web's URLs from the "listening" log line, and the lines before it."""
    assert process.stderr is not None
    seen: list[bytes] = []
    while line := await process.stderr.readline():
        seen.append(line)
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict) and "api" in entry:
            return str(entry["api"]), str(entry["admin"]), seen
    raise AssertionError(f"exited ({await process.wait()}) before listening: {b''.join(seen)!r}")


@pytest.fixture
async def stopped_at_the_end() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    processes: list[asyncio.subprocess.Process] = []
    try:
        yield processes
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()


@pytest.mark.parametrize("how", ["--db", "DB", "[store] url"])
async def test_postgresql_without_a_key_is_a_one_line_start_up_error(
    tmp_path: Path, postgres_server: PostgresServer, how: str
) -> None:
    url = postgres_server.url()
    store = f'url = "{url}"' if how == "[store] url" else ""
    config = write_config(tmp_path, "http://127.0.0.1:9/config", store)
    extra = ("--db", url) if how == "--db" else ()
    environment = {"DB": url} if how == "DB" else {}
    process = await start_serve(tmp_path, config, *extra, environment=environment)
    _, errors = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2, errors
    lines = errors.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("mxproxy: configuration error: store: a PostgreSQL database needs key")
    assert postgres_server.password not in errors.decode()


async def test_serving_on_postgresql_rides_out_a_database_restart(
    tmp_path: Path,
    simulator: Simulator,
    postgres_server: PostgresServer,
    postgres_url: str,
    stopped_at_the_end: list[asyncio.subprocess.Process],
) -> None:
    config = write_config(tmp_path, simulator.provisioning_url, f'key = "{encode_key(KEY)}"')
    process = await start_serve(tmp_path, config, "--db", postgres_url)
    stopped_at_the_end.append(process)
    api, admin, start_up = await asyncio.wait_for(listening(process), 30)
    assert postgres_server.password.encode() not in b"".join(start_up)
    basic = base64.b64encode(f"{APP_ID}:{APP_SECRET}".encode()).decode()
    async with httpx.AsyncClient(timeout=20.0) as client:
        login = await client.post(
            f"{api}/auth",
            headers={"Authorization": f"Basic {basic}"},
            data={"username": "dmitrys@xyzrd.com", "password": "78561", "grant_type": "password"},
        )
        assert login.status_code == 200, login.text
        assert (await client.get(f"{api}/readyz")).status_code == 200

        await asyncio.to_thread(postgres_server.stop)
        try:
            ready = await client.get(f"{api}/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["store"] is False
            users = await client.get(f"{admin}/users")
            assert users.status_code == 503
            assert users.json() == {"error": "store unavailable"}
        finally:
            await asyncio.to_thread(postgres_server.start)

        assert (await client.get(f"{api}/readyz")).status_code == 200
        users = await client.get(f"{admin}/users")
        assert users.status_code == 200
        assert list(users.json()["users"]) == ["dmitrys@xyzrd.com"]
        token = login.json()["access_token"]
        me = await client.get(f"{api}/auth", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200

    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 20) == 0
    assert process.stderr is not None
    rest = await process.stderr.read()
    assert postgres_server.password.encode() not in rest
    assert b'"level":"error"' not in rest.replace(b" ", b"")
    async with await Store.open(postgres_url, KEY) as store:
        assert [user.login for user in await store.users()] == ["dmitrys@xyzrd.com"]


async def test_an_instance_with_another_key_refuses_to_start(
    tmp_path: Path, postgres_server: PostgresServer, postgres_url: str
) -> None:
    async with await Store.open(postgres_url, KEY):
        pass
    config = write_config(tmp_path, "http://127.0.0.1:9/config", f'key = "{encode_key(OTHER_KEY)}"')
    process = await start_serve(tmp_path, config, "--db", postgres_url)
    _, errors = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode != 0
    assert b"store key does not match" in errors
    assert postgres_server.password.encode() not in errors
