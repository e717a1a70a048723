"""PBX traffic at trace level: every payload both ways, never a password."""

from __future__ import annotations

import logging

import pytest

from mxproxy.mx import commands
from mxproxy.mx.trace import TRACE, redact
from mxproxy.pbx import directory
from mxproxy.pbx.client import MXClient
from mxproxy.sim import Simulator


def test_redact_hides_passwords_and_cuts_long_payloads() -> None:
    login = commands.Login("dmitrys", "78561").payload()
    shown = redact(login)
    assert "<pwd>***</pwd>" in shown
    assert commands.password_hash("78561").strip() not in shown
    assert "dmitrys" in shown
    answer = b'<loginResponce Code="0" softPhonePwd="secret-value" ext="3095">Login OK</loginResponce>'
    assert 'softPhonePwd="***"' in redact(answer)
    assert "secret-value" not in redact(answer)
    assert len(redact(b"<a>" + b"x" * 10_000 + b"</a>")) < 2100


async def test_traffic_is_logged_at_trace_level_without_secrets(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(TRACE, logger="mxproxy.mx.wire")
    client = await MXClient.connect("127.0.0.1", simulator.port, "dmitrys", "78561")
    await directory.services(client)
    await client.close()
    lines = [record.getMessage() for record in caplog.records if record.name == "mxproxy.mx.wire"]
    assert any(line.startswith("→") and "GetServiceList" in line for line in lines)
    assert any(line.startswith("←") and "TESTIVR" in line for line in lines)
    text = "\n".join(lines)
    assert "<pwd>***</pwd>" in text
    assert commands.password_hash("78561").strip() not in text
    assert "78561" not in text


async def test_nothing_is_logged_above_trace_level(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mxproxy.mx.wire")
    client = await MXClient.connect("127.0.0.1", simulator.port, "dmitrys", "78561")
    await client.close()
    assert not [record for record in caplog.records if record.name == "mxproxy.mx.wire"]
