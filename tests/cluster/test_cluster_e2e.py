"""Three `mxproxy serve` processes on one PostgreSQL database and one simulator: users log in
through instance 1 and are served through instances 2 and 3 (forwarded to their owner); the
owner of most users is SIGKILLed and the survivors take its users over with the tokens they
had, one PBX connection per user, a call pushed exactly once; a SIGTERM hands users over
without a PBX logout; two instances started at once on an empty database both come up."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import orjson
import pytest

from mxproxy.fakes.fcm import FakeFcm
from mxproxy.sim import Simulator
from mxproxy.sim.dataset import Dataset
from mxproxy.store.secretbox import encode_key

USERS = 300
APP_ID = "client7664"
APP_SECRET = "cluster-test-secret"
APP_AUTH = httpx.BasicAuth(APP_ID, APP_SECRET)
FCM_KEY = "fcm-server-key"
FCM_TOKEN = "fcm-cluster-device-token-0123456789"
DEADLINE = 60.0


class Instance:
    def __init__(self, process: asyncio.subprocess.Process, api: str, admin: str, log: Path) -> None:
        self.process = process
        self.api = api
        self.admin = admin
        self.log = log
        self.http = httpx.AsyncClient(base_url=api, timeout=20.0)

    async def close(self) -> None:
        await self.http.aclose()
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


def write_config(directory: Path, simulator: Simulator, fcm: FakeFcm) -> Path:
    (directory / "mx-ca.pem").write_bytes(simulator.cert_pem)
    config = directory / "config.toml"
    config.write_text(
        f'provisioning = "{simulator.provisioning_url}"\n\n[apps]\n{APP_ID} = "{APP_SECRET}"\n\n'
        f'[store]\nkey = "{encode_key(bytes(range(32)))}"\n\n'
        '[mx]\ncaFile = "mx-ca.pem"\nreconnectMax = "1s"\n\n'
        f'[voip]\nfcmURL = "{fcm.legacy_url}"\n\n[voip.fcm]\nandroidapp = "{FCM_KEY}"\n',
        encoding="utf-8",
    )
    return config


async def until(condition: Callable[[], Awaitable[bool]], what: str, deadline: float = DEADLINE) -> None:
    """Poll a real condition until it holds (AssertionError naming it after `deadline`)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not await condition():
        if loop.time() > end:
            raise AssertionError(f"not within {deadline} s: {what}")
        await asyncio.sleep(0.1)


class Cluster:
    def __init__(self, directory: Path, config: Path, url: str) -> None:
        self.directory = directory
        self.config = config
        self.url = url
        self.instances: list[Instance] = []
        self.started = 0

    async def start(self) -> Instance:
        self.started += 1  # before any await: instances may start at once
        index = self.started
        log = self.directory / f"instance{index}.log"
        base = {key: value for key, value in os.environ.items() if key not in {"PORT", "ADMIN", "DB"}}
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "mxproxy",
                "serve",
                "--config",
                str(self.config),
                "--db",
                self.url,
                "--port",
                "127.0.0.1:0",
                "--admin",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--log-level",
                "info",
                cwd=self.directory,
                env=base,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=sink,
            )
        api, admin = await self._listening(process, log)
        instance = Instance(process, api, admin, log)
        self.instances.append(instance)
        return instance

    @staticmethod
    async def _listening(process: asyncio.subprocess.Process, log: Path) -> tuple[str, str]:
        found: list[tuple[str, str]] = []

        async def listening() -> bool:
            text = await asyncio.to_thread(log.read_bytes)
            if process.returncode is not None:
                raise AssertionError(f"exited {process.returncode}: {text[-2000:]!r}")
            for line in text.splitlines():
                if b'"api"' in line:
                    entry = orjson.loads(line)
                    found.append((str(entry["api"]), str(entry["admin"])))
                    return True
            return False

        await until(listening, "the instance listens", 30.0)
        return found[0]

    async def close(self) -> None:
        for instance in self.instances:
            await instance.close()


@pytest.fixture
async def rig(tmp_path: Path, postgres_url: str) -> AsyncIterator[tuple[Cluster, Simulator, FakeFcm]]:
    simulator = Simulator(Dataset.generated(users=USERS))
    await simulator.start()
    async with FakeFcm(server_keys={FCM_KEY}) as fcm:
        cluster = Cluster(tmp_path, write_config(tmp_path, simulator, fcm), postgres_url)
        try:
            yield cluster, simulator, fcm
        finally:
            await cluster.close()
            await simulator.stop()


def logins(simulator: Simulator, limit: int = USERS) -> list[str]:
    return [user.login for user in simulator.dataset.users if user.login.startswith("user")][:limit]


async def log_in(instance: Instance, simulator: Simulator, limit: int = USERS) -> dict[str, str]:
    tokens: dict[str, str] = {}

    async def one(user_login: str) -> None:
        user = next(u for u in simulator.dataset.users if u.login == user_login)
        response = await instance.http.post(
            "/auth",
            auth=APP_AUTH,
            data={"username": user.provisioning_login, "password": user.password, "grant_type": "password"},
        )
        assert response.status_code == 200, response.text
        tokens[user.provisioning_login] = response.json()["access_token"]

    await asyncio.gather(*(one(login) for login in logins(simulator, limit)))
    return tokens


async def all_work(instance: Instance, tokens: dict[str, str]) -> bool:
    async def works(token: str) -> bool:
        response = await instance.http.get("/contacts", headers={"Authorization": f"Bearer {token}"})
        return response.status_code == 200

    results = await asyncio.gather(*(works(token) for token in tokens.values()))
    return all(results)


def one_connection_each(simulator: Simulator, limit: int = USERS) -> bool:
    return all(len(simulator.core.sessions_of(login)) == 1 for login in logins(simulator, limit))


@pytest.mark.timeout(240)  # 300 users through three processes: above the suite's per-test 60 s
async def test_three_instances_forward_fail_over_and_push_once(
    rig: tuple[Cluster, Simulator, FakeFcm],
) -> None:
    cluster, simulator, fcm = rig
    first, second, third = [await cluster.start() for _ in range(3)]
    tokens = await log_in(first, simulator)
    assert one_connection_each(simulator)
    bearer = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}

    # Every user through instances 2 and 3: REST, the voicemail download (streamed), SSE.
    for instance in (second, third):
        assert await all_work(instance, tokens)
    sample = sorted(tokens)[:3]
    for name in sample:
        ext = next(u.ext for u in simulator.dataset.users if u.provisioning_login == name)
        mail_id = simulator.inject_mail(ext)
        download = await second.http.get(f"/voicemails/{mail_id}", headers=bearer[name])
        assert download.status_code == 200, download.text
        assert len(download.content) > 0
        async with third.http.stream(
            "GET", "/events", headers={**bearer[name], "Accept": "text/event-stream"}
        ) as stream:
            assert stream.status_code == 200
            call_id = simulator.inject_call(ext)
            async with asyncio.timeout(20):
                async for line in stream.aiter_lines():
                    if str(call_id) in line:
                        break

    # The admin views of any instance are cluster-wide; the forwarded requests are counted.
    async with httpx.AsyncClient(base_url=second.admin) as admin:
        listed = (await admin.get("/connections")).json()["connections"]
        assert sorted(listed) == sorted(tokens)
        exposition = (await admin.get("/metrics")).text
    forwarded = [
        line
        for line in exposition.splitlines()
        if line.startswith('mxproxy_cluster_forwarded_total{outcome="ok"}')
    ]
    assert forwarded
    assert float(forwarded[0].split()[-1]) >= len(tokens)
    ready = await second.http.get("/readyz")
    assert ready.status_code == 200, ready.text

    # A device token registered through instance 3 for one user.
    pushed = sample[0]
    pushed_ext = next(u.ext for u in simulator.dataset.users if u.provisioning_login == pushed)
    put = await third.http.put(f"/tokens/fcm/androidapp/{FCM_TOKEN}", headers=bearer[pushed])
    assert put.status_code == 204, put.text

    # SIGKILL the instance owning most users: the first (all logins went through it).
    first.process.send_signal(signal.SIGKILL)
    await first.process.wait()
    survivors = (second, third)

    async def everyone_works_again() -> bool:
        return all([await all_work(instance, tokens) for instance in survivors])

    await until(everyone_works_again, "every user works through the survivors")

    async def settled() -> bool:
        return one_connection_each(simulator)

    await until(settled, "one PBX connection per user")

    # A call after the failover is pushed exactly once: a second call's push arriving after
    # the first's means any duplicate of the first would have arrived too.
    before = len(fcm.requests)
    first_call = simulator.inject_call(pushed_ext)
    second_call = simulator.inject_call(pushed_ext)

    def pushes_of(call: int) -> int:
        return sum(
            1
            for request in fcm.requests[before:]
            if request.json().get("data", {}).get("callId") in (call, str(call))
        )

    async def second_pushed() -> bool:
        return pushes_of(second_call) >= 1

    await until(second_pushed, "the second call's push")
    assert pushes_of(first_call) == 1

    # SIGTERM hand-over: the users of instance 2 move to instance 3 without a PBX logout.
    await second.http.aclose()
    second.process.send_signal(signal.SIGTERM)
    assert await second.process.wait() == 0
    second.http = httpx.AsyncClient(base_url=second.api)

    async def third_serves_all() -> bool:
        return await all_work(third, tokens)

    await until(third_serves_all, "every user works through the last instance")
    await until(settled, "one PBX connection per user after the hand-over")


async def test_two_instances_started_at_once_on_an_empty_database(
    rig: tuple[Cluster, Simulator, FakeFcm],
) -> None:
    cluster, simulator, _ = rig
    first, second = await asyncio.gather(cluster.start(), cluster.start())
    tokens = await log_in(second, simulator, 20)

    async def served_by_the_other() -> bool:
        # Right after both joined, the first may answer 503 once while it learns the other.
        return await all_work(first, tokens)

    await until(served_by_the_other, "every user served through the other instance", 10.0)
    assert one_connection_each(simulator, 20)

    # Logouts are cluster-wide: through the API of the other instance (forwarded to the owner)
    # and through the other instance's admin web.
    by_api, by_admin = sorted(tokens)[:2]
    gone = await first.http.delete("/auth", headers={"Authorization": f"Bearer {tokens[by_api]}"})
    assert gone.status_code == 200, gone.text
    async with httpx.AsyncClient(base_url=first.admin) as admin:
        assert (await admin.post("/users", data={"login": by_admin})).status_code == 200

    async def refused_everywhere() -> bool:
        for name in (by_api, by_admin):
            for instance in (first, second):
                answer = await instance.http.get(
                    "/contacts", headers={"Authorization": f"Bearer {tokens[name]}"}
                )
                if answer.status_code != 401:
                    return False
        return True

    await until(refused_everywhere, "the logged-out tokens refused on every instance", 10.0)

    async def logged_out_of_the_pbx() -> bool:
        return not simulator.core.sessions_of(by_api.split("@")[0]) and not simulator.core.sessions_of(
            by_admin.split("@")[0]
        )

    await until(logged_out_of_the_pbx, "both logged out of the PBX")


async def test_a_wildcard_listen_address_without_advertise_is_a_one_line_error(
    rig: tuple[Cluster, Simulator, FakeFcm],
) -> None:
    cluster, _, _ = rig
    unset = {"PORT", "ADMIN", "DB", "ADVERTISE"}
    base = {key: value for key, value in os.environ.items() if key not in unset}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxproxy", "serve", "--config", str(cluster.config),
        "--db", cluster.url, "--port", "0.0.0.0:0", "--admin", "127.0.0.1:0",
        cwd=cluster.directory, env=base, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, errors = await process.communicate()
    assert process.returncode == 2
    lines = errors.decode().strip().splitlines()
    assert len(lines) == 1
    assert "cluster.advertise" in lines[0]
