"""Admin password checks (bcrypt, remembered briefly) and the start-up rule for the admin
web's address, without HTTP (the HTTP side is tests/api/test_admin_auth.py)."""

from __future__ import annotations

import asyncio

import bcrypt
import pytest

from mxproxy.auth.admin_guard import AdminPasswords, check_admin_listen, is_loopback
from mxproxy.config import AdminConfig, ConfigError

HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_right_password_passes_and_others_do_not() -> None:
    passwords = AdminPasswords({"ops": HASH})
    assert await passwords.check("ops", "pw")
    assert not await passwords.check("ops", "PW")
    assert not await passwords.check("nobody", "pw")
    assert not await AdminPasswords({}).check("ops", "pw")


async def test_a_success_is_remembered_for_a_minute_only() -> None:
    clock = FakeClock()
    passwords = AdminPasswords({"ops": HASH}, clock=clock)
    assert await passwords.check("ops", "pw")
    passwords._hashes["ops"] = bcrypt.hashpw(b"new", bcrypt.gensalt(rounds=4))
    assert await passwords.check("ops", "pw")  # remembered
    clock.now += 61.0
    assert not await passwords.check("ops", "pw")


async def test_a_malformed_hash_is_a_refusal_not_an_error() -> None:
    assert not await AdminPasswords({"ops": "$2b$broken"}).check("ops", "pw")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_names(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "example.com", ""])
def test_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_without_users_only_loopback_may_be_bound() -> None:
    assert "loopback only" in check_admin_listen(AdminConfig(), "localhost")
    with pytest.raises(ConfigError, match="needs \\[admin\\] users"):
        check_admin_listen(AdminConfig(), "0.0.0.0")
    assert "HTTP Basic" in check_admin_listen(AdminConfig(users={"ops": HASH}), "0.0.0.0")


async def test_a_flood_of_checks_is_refused_beyond_a_short_queue() -> None:
    passwords = AdminPasswords({"ops": HASH})
    results = await asyncio.gather(*(passwords.check("ops", f"guess{n}") for n in range(40)))
    assert not any(results)
    # A remembered admin still passes at once, and the queue is free again afterwards.
    assert await passwords.check("ops", "pw")
    assert await passwords.check("ops", "pw")
