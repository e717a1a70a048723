"""At most `streams_per_user` live streams per user: a new one ends that user's oldest."""

from __future__ import annotations

import pytest

from mxproxy.live import EventHub, StreamEnded
from mxproxy.live.hub import TOO_MANY_STREAMS


async def test_a_new_stream_over_the_limit_closes_the_oldest() -> None:
    hub = EventHub(streams_per_user=2)
    first = hub.subscribe("a")
    second = hub.subscribe("a")
    other = hub.subscribe("b")
    third = hub.subscribe("a")
    assert first.closed_reason == TOO_MANY_STREAMS
    assert not second.is_closed
    assert not third.is_closed
    assert not other.is_closed
    assert hub.streams_open == 3
    with pytest.raises(StreamEnded):
        await first.next(1)
    hub.publish("a", {"type": "x"})
    assert (await third.next(1)) is not None
