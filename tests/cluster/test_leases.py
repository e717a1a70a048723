"""Leases on a real PostgreSQL, several instances each on its own pool: acquire races, takeover of a
killed instance's accounts spread over the survivors, graceful hand-over, epochs, the owner cache."""

from __future__ import annotations

import asyncio

import pytest

from mxproxy.cluster import NotMember
from mxproxy.cluster.rendezvous import winner

from .conftest import TIMINGS, Cluster, Event, Node

ACCOUNTS = [f"user{n:03}@10.0.0.1:7778" for n in range(60)]


async def owners(cluster: Cluster) -> dict[str, tuple[str | None, int]]:
    rows = await cluster.sql("SELECT account, owner, epoch FROM cluster_leases")
    return {row["account"]: (row["owner"], row["epoch"]) for row in rows}


async def test_two_instances_acquiring_the_same_accounts_at_once_get_one_owner_each(
    cluster: Cluster,
) -> None:
    a = await cluster.node("a")
    b = await cluster.node("b")
    results = await asyncio.gather(
        *(node.leases.acquire(account) for account in ACCOUNTS for node in (a, b))
    )
    by_account: dict[str, list[bool]] = {}
    for account, owner in zip([x for x in ACCOUNTS for _ in (a, b)], results, strict=True):
        by_account.setdefault(account, []).append(owner.local)
    assert all(sorted(flags) == [False, True] for flags in by_account.values())
    # The loser was told who won, with its URL.
    for account, owner in zip([x for x in ACCOUNTS for _ in (a, b)], results, strict=True):
        if not owner.local:
            winner = a if owner.instance_id == a.id else b
            assert owner.url == winner.membership.url
            assert winner.leases.owns(account)
    stored = await owners(cluster)
    assert set(stored) == set(ACCOUNTS)
    assert set(a.leases.owned()) | set(b.leases.owned()) == set(ACCOUNTS)
    assert not set(a.leases.owned()) & set(b.leases.owned())
    assert all(epoch == 1 for _, epoch in stored.values())


async def test_acquiring_again_keeps_the_epoch_and_a_live_owner_keeps_its_account(cluster: Cluster) -> None:
    a = await cluster.node("a")
    b = await cluster.node("b")
    first = await a.leases.acquire(ACCOUNTS[0])
    assert (first.local, first.epoch) == (True, 1)
    assert (await a.leases.acquire(ACCOUNTS[0])).epoch == 1
    other = await b.leases.acquire(ACCOUNTS[0])
    assert (other.local, other.instance_id, other.epoch) == (False, a.id, 1)


async def test_a_killed_instance_loses_its_accounts_to_the_survivors_spread_across_them(
    cluster: Cluster,
) -> None:
    a = await cluster.node("a")
    for account in ACCOUNTS:
        assert (await a.leases.acquire(account)).local
    b = await cluster.node("b")
    c = await cluster.node("c")
    killed_at = asyncio.get_running_loop().time()
    await a.kill()

    events = cluster.events
    await events.until(lambda: len(events.gained_by("b")) + len(events.gained_by("c")) == len(ACCOUNTS))
    took = asyncio.get_running_loop().time() - killed_at
    gained_b, gained_c = events.gained_by("b"), events.gained_by("c")
    assert not set(gained_b) & set(gained_c)
    # Spread: rendezvous hashing splits 60 accounts between two survivors, neither gets them all.
    assert 10 <= len(gained_b) <= 50, (len(gained_b), len(gained_c))
    # Each survivor took exactly its rendezvous share, in the first round (not after the grace).
    assert all(winner(account, [b.id, c.id]) == b.id for account in gained_b)
    assert all(winner(account, [b.id, c.id]) == c.id for account in gained_c)
    assert set(gained_b.values()) == set(gained_c.values()) == {2}
    assert b.leases.owned() == gained_b
    assert c.leases.owned() == gained_c
    # Within one lease period plus the takeover round (generous bound for a loaded machine).
    assert took < TIMINGS.lease_ttl + TIMINGS.takeover_grace + 2.0, took
    stored = await owners(cluster)
    assert {owner for owner, _ in stored.values()} == {b.id, c.id}


async def test_no_takeover_while_the_owner_is_alive(cluster: Cluster) -> None:
    a = await cluster.node("a")
    for account in ACCOUNTS[:10]:
        await a.leases.acquire(account)
    b = await cluster.node("b")
    # Several full lease periods, with b scanning for orphans every period it has a reason to.
    renewals = b.membership.renewals
    await cluster.events.until(lambda: b.membership.renewals >= renewals + 8, timeout=20)
    assert cluster.events.of("gained") == []
    assert set(a.leases.owned()) == set(ACCOUNTS[:10])


async def test_graceful_hand_over_gives_the_accounts_away_without_waiting_for_expiry(
    cluster: Cluster,
) -> None:
    a = await cluster.node("a")
    for account in ACCOUNTS:
        await a.leases.acquire(account)
    await cluster.node("b")
    await cluster.node("c")
    a_id = a.id
    expires = (await cluster.sql("SELECT expires_at FROM cluster_instances WHERE id = $1", a_id))[0][0]

    events = cluster.events

    async def drain(accounts: dict[str, int]) -> None:
        # Closing PBX connections takes a while; nobody may take the accounts meanwhile.
        renewals = a.membership.renewals
        await events.until(lambda: a.membership.renewals >= renewals + 2)
        assert events.of("gained") == []
        events.add(Event("a", "drained", accounts))

    await a.leases.hand_over(drain)
    assert events.of("lost", "a")[0].accounts == dict.fromkeys(ACCOUNTS, 1)
    assert a.leases.owned() == {}
    with pytest.raises(NotMember):
        await a.leases.acquire("late@10.0.0.1:7778")
    await events.until(lambda: len(events.gained_by("b")) + len(events.gained_by("c")) == len(ACCOUNTS))
    # Before a's row would even have expired.
    assert (await cluster.sql("SELECT now() < $1 AS early", expires))[0]["early"]
    assert events.index("lost", "a") < events.index("drained", "a")
    assert events.index("drained", "a") < min(events.index("gained", "b"), events.index("gained", "c"))
    assert events.gained_by("b")
    assert events.gained_by("c")
    assert {epoch for epoch in (events.gained_by("b") | events.gained_by("c")).values()} == {3}
    assert (await cluster.sql("SELECT count(*) AS n FROM cluster_instances WHERE id = $1", a_id))[0]["n"] == 0


async def test_the_epoch_grows_on_every_change_of_owner(cluster: Cluster) -> None:
    account = ACCOUNTS[0]
    nodes: list[Node] = [await cluster.node("n0")]
    assert (await nodes[0].leases.acquire(account)).epoch == 1
    for generation in range(1, 3):
        survivor = await cluster.node(f"n{generation}")
        await nodes[-1].kill()
        await cluster.events.until(lambda survivor=survivor: survivor.leases.owns(account))
        assert survivor.leases.owned()[account] == generation + 1
        nodes.append(survivor)
    # An acquire after the owner died takes it too, one epoch later.
    last = await cluster.node("last")
    await last.leases.close()  # no takeovers by last: only its acquire may take the account
    await nodes[-1].kill()
    await cluster.events.until(
        lambda: last.membership.view is not None and len(last.membership.view.live) == 1
    )
    owner = await last.leases.acquire(account)
    assert owner.local
    assert owner.epoch >= 4


async def test_the_owner_cache_answers_remote_owners_and_forgets_on_request(cluster: Cluster) -> None:
    a = await cluster.node("a")
    b = await cluster.node("b")
    await a.leases.acquire(ACCOUNTS[0])
    assert await b.leases.owner_of("nobody@10.0.0.1:7778") is None
    owner = await b.leases.owner_of(ACCOUNTS[0])
    assert owner is not None
    assert (owner.local, owner.instance_id, owner.url) == (False, a.id, a.membership.url)
    def lookups() -> int:
        # Only owner look-ups: b's renewals run meanwhile.
        return sum("LEFT JOIN cluster_instances" in query for query in b.queries)

    before = lookups()
    assert await b.leases.owner_of(ACCOUNTS[0]) == owner
    assert lookups() == before, "a cached owner costs no statement"
    b.leases.forget_instance(a.id)
    assert await b.leases.owner_of(ACCOUNTS[0]) == owner
    assert lookups() == before + 1
    b.leases.invalidate(ACCOUNTS[0])
    await b.leases.owner_of(ACCOUNTS[0])
    assert lookups() == before + 2
    local = await a.leases.owner_of(ACCOUNTS[0])
    assert local is not None
    assert local.local


async def test_release_deletes_the_lease(cluster: Cluster) -> None:
    a = await cluster.node("a")
    b = await cluster.node("b")
    await a.leases.acquire(ACCOUNTS[0])
    await a.leases.release([ACCOUNTS[0]])
    assert a.leases.owned() == {}
    assert await owners(cluster) == {}
    assert (await b.leases.acquire(ACCOUNTS[0])).local


async def test_after_the_grace_anyone_takes_what_the_rendezvous_winner_left(cluster: Cluster) -> None:
    a = await cluster.node("a")
    for account in ACCOUNTS:
        await a.leases.acquire(account)
    b = await cluster.node("b")
    c = await cluster.node("c")
    await c.leases.close()  # c stays a live member but takes nothing: as if stuck
    share_b = {account for account in ACCOUNTS if winner(account, [b.id, c.id]) == b.id}
    assert 0 < len(share_b) < len(ACCOUNTS)

    a_id = a.id
    await a.kill()
    events = cluster.events
    await events.until(lambda: set(b.leases.owned()) == set(ACCOUNTS))
    gains = events.of("gained", "b")
    assert set(gains[0].accounts) == share_b, "first its own share"
    assert set().union(*(set(g.accounts) for g in gains[1:])) == set(ACCOUNTS) - share_b
    assert events.of("gained", "c") == []
    # Past the grace the dead instance's row is deleted too.
    async with asyncio.timeout(10):
        while a_id in {row["id"] for row in await cluster.sql("SELECT id FROM cluster_instances")}:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
