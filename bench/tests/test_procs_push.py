"""The harness's processes and configuration: a real simulator process started and stopped,
the proxy's TOML (push table included) read by the proxy's own loaders, /proc memory."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from bench.procs import Processes, memory_kib, proxy_config_text
from bench.push import TOPIC, VOIP_TOPIC, start_apns
from mxproxy.config import parse_config
from mxproxy.push.settings import load_push_settings


def test_memory_of_this_process() -> None:
    memory = memory_kib(os.getpid())
    assert memory["VmHWM"] >= memory["VmRSS"] > 0


async def test_the_proxy_config_points_at_the_fake_apns(tmp_path: Path) -> None:
    rig = await start_apns(tmp_path)
    try:
        text = proxy_config_text("http://127.0.0.1:9/config", "s3cret", rig.voip_toml)
        config = parse_config(tomllib.loads(text), config_dir=tmp_path)
        settings, problems = load_push_settings(config.voip, config.config_dir)
    finally:
        await rig.apns.stop()
    assert config.apps == {"bench": "s3cret"}
    assert config.provisioning == "http://127.0.0.1:9/config"
    assert problems == []
    assert settings.apn_host == rig.apns.url
    assert [key.topics for key in settings.apn_keys] == [
        frozenset({TOPIC, VOIP_TOPIC, TOPIC + ".complication"})
    ]


async def test_a_simulator_process_is_started_driven_and_stopped(tmp_path: Path) -> None:
    async with Processes(tmp_path) as processes:
        sim = await processes.simulator(users=3, call_log=5)
        answer = await sim.control("GET", "sessions")
        pid = sim.child.pid
        assert answer == {"sessions": 0, "users": [], "calls": 0}
        assert await sim.logged_in_count() == 0
    assert sim.child.process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
