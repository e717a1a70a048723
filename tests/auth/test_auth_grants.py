"""Device grants on both real stores (an SQLite file, a PostgreSQL database), driven by a fake
clock: rotation, reuse detection, expiry, the app binding, restarts, the owner's end and the
per-login cap."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mxproxy.auth.grants import MAX_SPENT, GrantRegistry, InvalidGrant
from mxproxy.store import Store, StoredUser

KEY = bytes(range(32))
ALICE = StoredUser(login="alice@x.com", mx_login="alice", mx_host="mx", mx_port=7778,
                   mx_password="pw", created_at=1.0)  # fmt: skip


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    if request.param == "sqlite":
        return tmp_path / "grants.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(target: Path | str) -> AsyncIterator[Store]:
    opened = await Store.open(target, KEY)
    await opened.save_user(ALICE)
    try:
        yield opened
    finally:
        await opened.close()


def _raw_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(directory.glob("grants.db*")))


def registry(store: Store, clock: FakeClock, **options: int) -> GrantRegistry:
    return GrantRegistry(store, refresh_ttl=100.0, clock=clock, **options)


async def _create(grants: GrantRegistry, client_id: str = "app") -> tuple[str, str]:
    grant, token = await grants.create(owner=ALICE.login, login=ALICE.login, client_id=client_id, address="a")
    return grant.sid, token


async def test_a_refresh_rotates_and_only_the_newest_token_works(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock)
    sid, first = await _create(grants)
    assert first.startswith(sid + ".")
    grant, second = await grants.rotate(first, client_id="app", address="b")
    assert grant.sid == sid
    assert grant.address == "b"
    assert second != first
    _, third = await grants.rotate(second, client_id="app", address="b")
    assert third not in (first, second)


async def test_a_spent_token_revokes_the_grant(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock)
    sid, first = await _create(grants)
    _, second = await grants.rotate(first, client_id="app", address="a")
    with pytest.raises(InvalidGrant) as reused:
        await grants.rotate(first, client_id="app", address="elsewhere")
    assert reused.value.reused
    assert grants.get(sid) is None
    with pytest.raises(InvalidGrant):
        await grants.rotate(second, client_id="app", address="a")
    assert await store.grants(clock()) == []


async def test_two_concurrent_uses_of_one_token_are_a_reuse(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock)
    sid, token = await _create(grants)
    results = await asyncio.gather(
        grants.rotate(token, client_id="app", address="a"),
        grants.rotate(token, client_id="app", address="a"),
        return_exceptions=True,
    )
    assert sum(isinstance(result, InvalidGrant) for result in results) == 1
    assert grants.get(sid) is None


async def test_a_wrong_secret_for_a_known_sid_revokes_nothing(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock)
    sid, token = await _create(grants)
    with pytest.raises(InvalidGrant) as unknown:
        await grants.rotate(f"{sid}.guess", client_id="app", address="a")
    assert not unknown.value.reused
    assert grants.get(sid) is not None
    await grants.rotate(token, client_id="app", address="a")


async def test_another_apps_refresh_is_refused_without_spending(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock)
    _, token = await _create(grants)
    with pytest.raises(InvalidGrant):
        await grants.rotate(token, client_id="other", address="a")
    await grants.rotate(token, client_id="app", address="a")


async def test_an_azure_grant_is_refreshed_by_any_app(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock)
    _, token = await _create(grants, client_id="")
    await grants.rotate(token, client_id="any", address="a")


async def test_refresh_tokens_expire_and_each_refresh_renews_the_lifetime(
    store: Store, clock: FakeClock
) -> None:
    grants = registry(store, clock)
    _, token = await _create(grants)
    clock.now += 99.0
    _, token = await grants.rotate(token, client_id="app", address="a")
    clock.now += 99.0
    _, token = await grants.rotate(token, client_id="app", address="a")
    clock.now += 100.0
    with pytest.raises(InvalidGrant):
        await grants.rotate(token, client_id="app", address="a")
    assert await store.grants(clock()) == []


async def test_grants_and_spent_tokens_survive_a_reload(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock)
    sid, first = await _create(grants)
    await grants.rotate(first, client_id="app", address="a")
    reloaded = registry(store, clock)
    assert await reloaded.load() == 1
    with pytest.raises(InvalidGrant) as reused:
        await reloaded.rotate(first, client_id="app", address="a")
    assert reused.value.reused
    assert reloaded.get(sid) is None


async def test_only_recent_spent_tokens_are_kept(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock)
    sid, token = await _create(grants)
    for _ in range(MAX_SPENT + 5):
        _, token = await grants.rotate(token, client_id="app", address="a")
    grant = grants.get(sid)
    assert grant is not None
    assert len(grant.spent) == MAX_SPENT


async def test_the_stored_form_holds_digests_not_tokens(
    store: Store, clock: FakeClock, target: Path | str
) -> None:
    grants = registry(store, clock)
    _, token = await _create(grants)
    secret = token.partition(".")[2]
    (stored,) = await store.grants(clock())
    assert stored.refresh_hash == hashlib.sha256(secret.encode()).digest()
    if isinstance(target, Path):
        assert secret.encode() not in _raw_bytes(target.parent)


async def test_the_owners_end_removes_its_grants(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock)
    sid, _ = await _create(grants)
    grants.owner_ended(ALICE.login, "logged out")
    assert grants.get(sid) is None
    await grants.drain()
    assert await store.grants(clock()) == []


async def test_deleting_the_user_cascades_to_its_grants(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock)
    await _create(grants)
    await store.delete_user(ALICE.login)
    assert await store.grants(clock()) == []


async def test_a_login_keeps_at_most_its_newest_grants(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock, max_per_login=3)
    sids = []
    for _ in range(5):
        clock.now += 1.0
        sids.append((await _create(grants))[0])
    assert [g.sid for g in grants.of_login(ALICE.login)] == sids[2:]
    assert len(await store.grants(clock())) == 3


async def test_uses_are_stored_by_a_flush(store: Store, clock: FakeClock) -> None:
    grants = registry(store, clock)
    sid, _ = await _create(grants)
    grant = grants.get(sid)
    assert grant is not None
    clock.now += 30.0
    grants.touch(grant)
    assert [g.last_used for g in await store.grants(clock())] == [clock.now - 30.0]
    assert await grants.flush() == 1
    assert [g.last_used for g in await store.grants(clock())] == [clock.now]
    assert await grants.flush() == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
async def test_any_presented_string_is_an_invalid_grant_or_a_rotation(
    store: Store, clock: FakeClock, presented: str
) -> None:
    grants = registry(store, clock)
    sid, token = await _create(grants)
    for candidate in (presented, f"{sid}.{presented}"):
        assert grants.find_refresh(candidate) is None or candidate == token
        with pytest.raises(InvalidGrant):
            await grants.rotate(candidate, client_id="app", address="a")
    await grants.revoke([sid])
