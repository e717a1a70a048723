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
