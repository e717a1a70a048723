"""Concurrent `save_user` calls share transactions (group commit): every one is durable when
it returns, and a user the database refuses fails only its own save."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from mxproxy.store import Store, StoredUser, StoreError
from mxproxy.store.secretbox import KEY_SIZE

KEY = bytes(range(KEY_SIZE))


def _user(number: int) -> StoredUser:
    login = f"user{number}"
    return StoredUser(f"{login}@xyzrd.com", login, "10.0.0.1", 7778, f"pw{number}", 1.0 + number)


async def test_concurrent_saves_are_all_durable(tmp_path: Path) -> None:
    path = tmp_path / "mxproxy.db"
    store = await Store.open(path, KEY)
    await asyncio.gather(*(store.save_user(_user(n)) for n in range(200)))
    await store.close()
    reopened = await Store.open(path, KEY)
    try:
        assert [user.login for user in await reopened.users()] == sorted(_user(n).login for n in range(200))
    finally:
        await reopened.close()


async def test_one_bad_user_fails_only_its_own_save(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "mxproxy.db", KEY)
    try:
        bad = dataclasses.replace(_user(5), mx_host=None)  # type: ignore[arg-type]
        results = await asyncio.gather(
            *(store.save_user(bad if n == 5 else _user(n)) for n in range(10)), return_exceptions=True
        )
        assert [n for n, result in enumerate(results) if isinstance(result, StoreError)] == [5]
        assert len(await store.users()) == 9
    finally:
        await store.close()


async def test_a_closed_store_refuses_saves(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "mxproxy.db", KEY)
    await store.close()
    with pytest.raises(StoreError):
        await store.save_user(_user(1))
