"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import pwd
from asyncio import AbstractEventLoop
from collections.abc import AsyncIterator, Callable, Iterator, Mapping

import pytest
import uvloop

from mxproxy.sim import Simulator
from pgserver import PostgresServer, find_binaries, reap_abandoned


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], AbstractEventLoop]]:
    """Every async test runs on uvloop, the loop the service runs on."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """A simulated MX serving the reference dataset on ephemeral loopback ports."""
    sim = Simulator()
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server (one per xdist worker), stopped and deleted at the end.

    Without PostgreSQL installed the tests that need it skip, except in CI, where that is a
    failure: CI installs it, and a silent skip would hide the backend going untested.
    """
    binaries = find_binaries()
    problem = None
    if binaries is None:
        problem = "PostgreSQL is not installed (Debian: apt-get install postgresql)"
    elif os.geteuid() == 0 and not _has_user("postgres"):
        problem = "running as root, PostgreSQL needs a postgres OS user to run as"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    assert binaries is not None
    reap_abandoned(binaries)
    server = PostgresServer(binaries)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the throwaway server."""
    return postgres_server.create_database()


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
