"""The README's receiver example accepts a signed delivery once and refuses changes and replays."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mxproxy.webhooks.signing import sign

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verify() -> Callable[..., bool]:
    text = README.read_text()
    code = re.search(r"<!-- webhook-verify -->\n```python\n(.*?)```", text, re.S)
    assert code is not None, "the README lost its webhook-verify example"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    verify: Callable[..., bool] = namespace["verify"]
    return verify


def headers(secret: str, body: bytes, timestamp: int, delivery: str = "d1") -> dict[str, str]:
    return {
        "X-MXProxy-Timestamp": str(timestamp),
        "X-MXProxy-Signature": sign(secret, timestamp, body),
        "X-MXProxy-Delivery": delivery,
    }


def test_the_example_accepts_once_and_refuses_the_rest() -> None:
    verify = readme_verify()
    body = b'{"id":"d1","type":"Delivered"}'
    now = int(time.time())
    seen: set[str] = set()
    assert verify(b"s3cret", headers("s3cret", body, now), body, seen)
    assert not verify(b"s3cret", headers("s3cret", body, now), body, seen)  # the same id again
    assert not verify(b"s3cret", headers("s3cret", body, now, "d2"), body + b" ", seen)
    assert not verify(b"other", headers("s3cret", body, now, "d3"), body, seen)
    assert not verify(b"s3cret", headers("s3cret", body, now - 301, "d4"), body, seen)
    assert not verify(b"s3cret", {}, body, seen)
