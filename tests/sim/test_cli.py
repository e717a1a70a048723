"""`mxproxy sim` as a process: it serves until SIGTERM and prints where to reach it."""

from __future__ import annotations

import asyncio
import re
import signal
import ssl
import sys
from pathlib import Path

import httpx

from mxproxy.mx.frames import FrameDecoder, encode_frame
from mxproxy.mx.xml import parse_frame
from mxproxy.sim.cli import build_parser, dataset_from

from .rawclient import hashed, login_xml


def test_reference_dataset_without_sizing_options() -> None:
    args = build_parser().parse_args(["--port", "0"])
    assert len(dataset_from(args).contacts) == 17


def test_sizing_options_generate_a_dataset() -> None:
    args = build_parser().parse_args(["--contacts", "60", "--users", "5", "--call-log", "22"])
    data = dataset_from(args)
    assert (len(data.contacts), len(data.users), len(data.default_call_log)) == (60, 9, 22)


async def test_serves_until_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxproxy.sim.cli", "--port", "0", "--prov-port", "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [(await asyncio.wait_for(process.stdout.readline(), 20)).decode() for _ in range(4)]
        port = int(re.findall(r":(\d+) \(TLS\)", lines[0])[0])
        provisioning = lines[1].split(": ", 1)[1].strip()
        cert = Path(lines[3].split(": ", 1)[1].strip())
        async with httpx.AsyncClient() as http:
            config = await http.get(provisioning, auth=("dmitrys@xyzrd.com", "78561"))
        assert config.json()["MX"]["csta_port"] == str(port)

        context = ssl.create_default_context(cafile=str(cert))
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        writer.write(encode_frame(1, login_xml("dmitrys", hashed("78561")).encode()))
        decoder = FrameDecoder()
        frames = decoder.feed(await asyncio.wait_for(reader.read(65536), 5))
        assert parse_frame(frames[0]).name == "loginResponce"
        writer.close()

        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
