"""The client address behind trusted proxies: X-Forwarded-For counts only from trusted
networks, and then its rightmost untrusted hop is the client."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from mxproxy.auth.client_address import resolve_client
from mxproxy.config import ProxyTrust

TEN = ProxyTrust(networks=(ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")))


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert resolve_client("203.0.113.5", ["198.51.100.1"], TEN) == "203.0.113.5"


def test_a_trusted_peer_names_the_rightmost_untrusted_hop() -> None:
    # The client wrote the leftmost value itself; our proxies appended the rest.
    assert resolve_client("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.1.1.1"], TEN) == "198.51.100.1"
    assert resolve_client("10.0.0.2", ["6.6.6.6", "198.51.100.1"], TEN) == "198.51.100.1"


def test_only_trusted_hops_leave_the_leftmost() -> None:
    assert resolve_client("10.0.0.2", ["10.0.0.3, 10.0.0.4"], TEN) == "10.0.0.3"


def test_no_header_or_an_empty_one_keeps_the_peer() -> None:
    assert resolve_client("10.0.0.2", [], TEN) == "10.0.0.2"
    assert resolve_client("10.0.0.2", [" , "], TEN) == "10.0.0.2"


def test_ipv6_peers_match_their_networks() -> None:
    assert resolve_client("::1", ["2001:db8::7"], TEN) == "2001:db8::7"


def test_nothing_trusted_means_the_header_never_counts() -> None:
    assert resolve_client("127.0.0.1", ["198.51.100.1"], ProxyTrust(networks=())) == "127.0.0.1"


@given(st.ip_addresses(v=4).map(str), st.lists(st.text(max_size=30), max_size=5))
def test_an_untrusted_peer_never_takes_a_header_value(peer: str, values: list[str]) -> None:
    if ipaddress.ip_address(peer) in ipaddress.ip_network("10.0.0.0/8"):
        return
    assert resolve_client(peer, values, TEN) == peer


@given(st.lists(st.text(max_size=40), max_size=5))
def test_a_trusted_peer_yields_a_hop_or_itself(values: list[str]) -> None:
    resolved = resolve_client("10.0.0.1", values, TEN)
    hops = [hop.strip() for value in values for hop in value.split(",") if hop.strip()]
    assert resolved in [*hops, "10.0.0.1"]
