"""Operators' mistakes at start: one line naming the problem and exit status 2, never a
traceback; `mxproxy check-config` validates without starting."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest


async def _mxproxy(*args: str, cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mxproxy",
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _config(tmp_path: Path, text: str = '[apps]\nclient1 = "secret"\n') -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _only_line(err: str) -> str:
    lines = [line for line in err.splitlines() if "INFO" not in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[apps]\na = "b"\n[mx]\ntimout = "7s"\n', "mx.timout: unknown key"),
        ('provisionning = "https://x"\n[apps]\na = "b"\n', "provisionning: unknown key"),
        ('[apps]\na = "b"\n[voip]\napnTTL = "10x"\n', 'voip.apnTTL: invalid duration "10x"'),
    ],
)
async def test_check_config_names_the_key(tmp_path: Path, text: str, named: str) -> None:
    status, out, err = await _mxproxy("check-config", "--config", str(_config(tmp_path, text)), cwd=tmp_path)
    assert status == 2
    assert named in _only_line(err)
    assert out == ""


async def test_check_config_accepts_a_23_file(tmp_path: Path) -> None:
    text = '[apps]\nclient1 = "s"\n[voip]\napnTTL = "3m50s"\n[jwt]\ntokenTTL = "1h"\nsignKeyTTL = "6h"\n'
    path = _config(tmp_path, text)
    status, out, _ = await _mxproxy("check-config", "--config", str(path), cwd=tmp_path)
    assert status == 0
    assert out == f"{path}: ok\n"
    assert not (tmp_path / "mxproxy.db").exists()  # nothing was started


async def test_serve_with_an_unknown_key_exits_2(tmp_path: Path) -> None:
    path = _config(tmp_path, '[apps]\na = "b"\n[mx]\ntimout = "7s"\n')
    status, _, err = await _mxproxy("serve", "--config", str(path), "--port", "127.0.0.1:0", cwd=tmp_path)
    assert status == 2
    assert "mx.timout: unknown key" in _only_line(err)


async def test_a_port_in_use_exits_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, _, err = await _mxproxy(
            "serve",
            "--config",
            str(_config(tmp_path)),
            "--port",
            f"127.0.0.1:{port}",
            "--admin",
            "127.0.0.1:0",
            "--db",
            str(tmp_path / "a.db"),
            cwd=tmp_path,
        )
    assert status == 2
    assert f"cannot start: API address 127.0.0.1:{port}: " in _only_line(err)


@pytest.mark.parametrize("db", ["missing-dir/x.db", "."])
async def test_an_unusable_database_exits_2(tmp_path: Path, db: str) -> None:
    status, _, err = await _mxproxy(
        "serve",
        "--config",
        str(_config(tmp_path)),
        "--port",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
        "--db",
        str(tmp_path / db),
        cwd=tmp_path,
    )
    assert status == 2
    assert "cannot start: database: " in _only_line(err)


async def test_the_open_files_limit_is_raised_to_the_hard_limit(tmp_path: Path) -> None:
    script = (
        "import resource\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))\n"
        "from mxproxy.server import raise_open_files_limit\n"
        "now = raise_open_files_limit()\n"
        "assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == now\n"
        "print(now == hard or hard == resource.RLIM_INFINITY)\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=tmp_path, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert out == b"True\n"
