"""Rendezvous hashing and the timing knobs: pure rules, no database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxproxy.cluster import Timings
from mxproxy.cluster.rendezvous import assign, winner

ids = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6, unique=True)


@given(account=st.text(max_size=40), instance_ids=ids)
def test_the_winner_is_one_of_the_instances_whatever_their_order(
    account: str, instance_ids: list[str]
) -> None:
    chosen = winner(account, instance_ids)
    assert chosen in instance_ids
    assert winner(account, list(reversed(instance_ids))) == chosen


@given(account=st.text(max_size=40), instance_ids=ids.filter(lambda found: len(found) > 1))
def test_removing_a_loser_does_not_move_the_account(account: str, instance_ids: list[str]) -> None:
    chosen = winner(account, instance_ids)
    loser = next(instance_id for instance_id in instance_ids if instance_id != chosen)
    assert winner(account, [i for i in instance_ids if i != loser]) == chosen


def test_accounts_are_spread_evenly() -> None:
    shares = assign((f"user{n}@10.0.0.1:7778" for n in range(3000)), ["a1", "b2", "c3"])
    assert sorted(shares) == ["a1", "b2", "c3"]
    assert all(850 < len(share) < 1150 for share in shares.values()), {k: len(v) for k, v in shares.items()}


def test_default_timings_fence_well_before_expiry() -> None:
    timings = Timings()
    assert timings.lease_ttl == 3.0
    assert timings.renew_every * 2 <= timings.lease_ttl - timings.fence_margin
    scaled = Timings.for_ttl(1.5)
    assert (scaled.renew_every, scaled.fence_margin) == (0.5, 0.25)


@pytest.mark.parametrize(
    "knobs",
    [
        {"lease_ttl": 0},
        {"fence_margin": 0},
        {"fence_margin": 2.0},
        {"renew_every": 1.5},
        {"retry_every": 2.0},
        {"scan_every": 0},
    ],
)
def test_timings_that_cannot_keep_the_promise_are_refused(knobs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="cluster"):
        Timings(**knobs)  # type: ignore[arg-type]
