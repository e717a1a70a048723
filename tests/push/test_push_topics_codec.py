"""Property tests of the topics-extension parser: what Apple's DER lists comes back exactly,
and arbitrary bytes give a topic list or ValueError, never anything else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from push_testkit import topics_extension

from mxproxy.push.credentials import parse_topics_extension

topic = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=200)
kind = st.sampled_from(["app", "voip", "complication", "watchkit"])


@given(st.dictionaries(topic, kind, max_size=40))
def test_every_listed_topic_is_read_back(topics: dict[str, str]) -> None:
    assert parse_topics_extension(topics_extension(topics)) == list(topics)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_topics_or_value_error(blob: bytes) -> None:
    try:
        parsed = parse_topics_extension(blob)
    except ValueError:
        return
    assert all(isinstance(name, str) for name in parsed)

