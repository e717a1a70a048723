"""The admin web's start-up rules and `mxproxy hash-password`, as real processes: no users and
a non-loopback admin address is one clear line and exit 2; with users it starts, and says how
the admin web is protected; a hash read from stdin verifies, and argv never carries it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import bcrypt
import orjson

OPS_HASH = bcrypt.hashpw(b"ops-password", bcrypt.gensalt(rounds=4)).decode()


def _config(directory: Path, admin: str = "") -> Path:
    config = directory / "config.toml"
    config.write_text(
        f'provisioning = "http://127.0.0.1:9/config"\n\n[apps]\nclient = "secret"\n\n{admin}',
        encoding="utf-8",
    )
    return config


async def _mxproxy(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> asyncio.subprocess.Process:
    environment = {key: value for key, value in os.environ.items() if key not in {"PORT", "ADMIN", "DB"}}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxproxy", *args,
        cwd=cwd, env=environment,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_a_reachable_admin_web_without_users_refuses_to_start(tmp_path: Path) -> None:
    config = _config(tmp_path)
    process = await _mxproxy("serve", "--config", str(config), "--port", "127.0.0.1:0",
                             "--admin", "0.0.0.0:0", cwd=tmp_path)  # fmt: skip
    _, errors = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = errors.decode().strip().splitlines()
    assert lines == [
        "mxproxy: configuration error: admin web on 0.0.0.0 needs [admin] users "
        "(mxproxy hash-password); without them it may listen on loopback only"
    ]


async def _started_and_announced(tmp_path: Path, admin_table: str, admin: str) -> list[str]:
    config = _config(tmp_path, admin_table)
    process = await _mxproxy("serve", "--config", str(config), "--port", "127.0.0.1:0", "--admin", admin,
                             "--log-format", "json", cwd=tmp_path)  # fmt: skip
    assert process.stderr is not None
    messages: list[str] = []
    try:
        async with asyncio.timeout(30):
            while line := await process.stderr.readline():
                message = str(orjson.loads(line).get("msg", ""))
                messages.append(message)
                if message.startswith("admin web:"):
                    break
    finally:
        process.terminate()
        await process.wait()
    return messages


async def test_without_users_the_admin_web_says_it_is_loopback_only(tmp_path: Path) -> None:
    messages = await _started_and_announced(tmp_path, "", "127.0.0.1:0")
    assert messages[-1] == (
        "admin web: no [admin] users configured, so it listens on loopback only, without authentication"
    )


async def test_with_users_the_admin_web_may_listen_anywhere(tmp_path: Path) -> None:
    messages = await _started_and_announced(
        tmp_path, f'[admin]\nusers = {{ ops = "{OPS_HASH}" }}\n', "0.0.0.0:0"
    )
    assert messages[-1] == "admin web: HTTP Basic for 1 [admin] user(s)"


async def test_hash_password_reads_stdin_and_prints_a_bcrypt_hash() -> None:
    process = await _mxproxy("hash-password", stdin=b"s3cret pass\n")
    output, _ = await asyncio.wait_for(process.communicate(b"s3cret pass\n"), 30)
    assert process.returncode == 0
    hashed = output.strip()
    assert hashed.startswith(b"$2b$")
    assert bcrypt.checkpw(b"s3cret pass", hashed)
    assert not bcrypt.checkpw(b"s3cret pass\n", hashed)


async def test_hash_password_takes_no_password_argument() -> None:
    process = await _mxproxy("hash-password", "s3cret")
    output, errors = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert output == b""
    assert b"s3cret" not in errors
