"""Membership on a real PostgreSQL: joining, the view, renewal cost, self-fencing under partition."""

from __future__ import annotations

import dataclasses

from .conftest import TIMINGS, Cluster


async def test_instances_see_each_other_and_a_stopped_one_leaves(cluster: Cluster) -> None:
    a = await cluster.node("a")
    b = await cluster.node("b")
    await cluster.events.until(lambda: a.membership.view is not None and len(a.membership.view.live) == 2)
    view = a.membership.view
    assert view is not None
    assert {i.url for i in view.live} == {"http://a.invalid", "http://b.invalid"}
    assert a.id != b.id

    await b.membership.stop()
    assert b.membership.instance_id is None
    rows = await cluster.sql("SELECT id FROM cluster_instances")
    assert [row["id"] for row in rows] == [a.id]


async def test_a_renewal_is_one_statement_whatever_the_number_of_leases(cluster: Cluster) -> None:
    # No safety scan in these periods: they are the renewal alone.
    a = await cluster.node("a", timings=dataclasses.replace(TIMINGS, scan_every=1000))
    # Leases are rows in the database owned by a, however many; acquire a few through the API too.
    for n in range(5):
        await a.leases.acquire(f"user{n}@pbx:7778")
    await cluster.sql(
        "INSERT INTO cluster_leases (account, owner, epoch, changed_at)"
        " SELECT 'bulk' || n, $1, 1, now() FROM generate_series(1, 2000) AS n",
        a.id,
    )

    async def statements_per_renewal() -> list[int]:
        counts = []
        for _ in range(3):
            start, before = a.membership.renewals, len(a.queries)
            await cluster.events.until(lambda start=start: a.membership.renewals > start, timeout=5)
            counts.append(len(a.queries) - before)
        return counts

    assert await statements_per_renewal() == [1, 1, 1]
    assert a.queries[-1].lstrip().startswith("WITH me AS (")


async def test_a_partitioned_instance_fences_itself_before_anyone_takes_over(cluster: Cluster) -> None:
    relay = await cluster.relay()
    a = await cluster.node("a", relay=relay)
    accounts = [f"user{n}@10.0.0.1:7778" for n in range(20)]
    for account in accounts:
        assert (await a.leases.acquire(account)).local
    b = await cluster.node("b")
    c = await cluster.node("c")
    old_id = a.id
    events = cluster.events

    relay.partition()
    await events.until(lambda: len(events.gained_by("b")) + len(events.gained_by("c")) == len(accounts))
    first_gain = min(n for n, e in enumerate(events.log) if e.kind == "gained")
    assert events.index("fenced", "a") < first_gain
    assert events.index("lost", "a") < first_gain
    assert events.of("lost", "a")[0].accounts == dict.fromkeys(accounts, 1)
    assert a.leases.owned() == {}
    assert not a.membership.live

    # Once the network is back, a joins again under a new id, owning nothing.
    relay.heal()
    await events.until(lambda: len(events.of("joined", "a")) == 2)
    assert a.id != old_id
    assert a.leases.owned() == {}
    owner = await a.leases.acquire(accounts[0])
    assert not owner.local
    assert owner.instance_id in {b.id, c.id}
    ids = {row["id"] for row in await cluster.sql("SELECT id FROM cluster_instances")}
    assert ids == {a.id, b.id, c.id}


async def test_a_row_the_database_expired_stays_dead(cluster: Cluster) -> None:
    a = await cluster.node("a")
    await a.leases.acquire("user1@10.0.0.1:7778")
    old_id = a.id
    # As if a's renewals had stalled past expiry: its next renewal must not bring it back.
    await cluster.sql(
        "UPDATE cluster_instances SET expires_at = now() - interval '1 second' WHERE id = $1", old_id
    )
    events = cluster.events
    await events.until(lambda: len(events.of("joined", "a")) == 2)
    assert events.index("fenced", "a") < events.index("lost", "a") < len(events.log)
    assert a.id != old_id
    # The new a finds the orphan of its former self and takes it back, one epoch later.
    await events.until(lambda: a.leases.owns("user1@10.0.0.1:7778"))
    assert a.leases.owned() == {"user1@10.0.0.1:7778": 2}


async def test_connections_killed_by_the_server_are_ridden_out(cluster: Cluster) -> None:
    a = await cluster.node("a")
    await a.leases.acquire("user1@10.0.0.1:7778")
    for _ in range(3):
        renewals = a.membership.renewals
        await cluster.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await cluster.events.until(lambda renewals=renewals: a.membership.renewals > renewals + 1)
    assert cluster.events.of("fenced") == []
    assert a.leases.owns("user1@10.0.0.1:7778")
