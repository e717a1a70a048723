"""The webhook signature: known vector, verification, and any change breaks it."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from mxproxy.webhooks.signing import sign, verify


def test_the_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", 1700000000, b"{}") == f"sha256={expected}"


def test_a_wrong_secret_timestamp_body_or_format_fails() -> None:
    good = sign("secret", 1700000000, b'{"a":1}')
    assert verify("secret", 1700000000, b'{"a":1}', good)
    assert not verify("other", 1700000000, b'{"a":1}', good)
    assert not verify("secret", 1700000001, b'{"a":1}', good)
    assert not verify("secret", 1700000000, b'{"a":2}', good)
    assert not verify("secret", 1700000000, b'{"a":1}', good.removeprefix("sha256="))
    assert not verify("secret", 1700000000, b'{"a":1}', good.upper())
    assert not verify("secret", 1700000000, b'{"a":1}', "")


@given(st.text(min_size=1), st.integers(0, 2**40), st.binary())
def test_any_body_verifies(secret: str, timestamp: int, body: bytes) -> None:
    assert verify(secret, timestamp, body, sign(secret, timestamp, body))


@given(st.text(min_size=1), st.integers(0, 2**40), st.binary(min_size=1), st.data())
def test_any_change_to_the_body_fails(secret: str, timestamp: int, body: bytes, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = body[:position] + bytes([body[position] ^ flip]) + body[position + 1 :]
    assert not verify(secret, timestamp, changed, sign(secret, timestamp, body))
    extended = body + data.draw(st.binary(min_size=1))
    assert not verify(secret, timestamp, extended, sign(secret, timestamp, body))


@given(st.text(min_size=1), st.integers(0, 2**40), st.binary(), st.integers(1, 10**6))
def test_any_change_to_the_timestamp_fails(secret: str, timestamp: int, body: bytes, shift: int) -> None:
    assert not verify(secret, timestamp + shift, body, sign(secret, timestamp, body))
