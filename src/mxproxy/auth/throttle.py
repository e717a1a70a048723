"""Slowing down repeated failed logins, so the proxy is no brute-force amplifier for the MX.

Failures are counted per username (one account attacked from many addresses), per (address,
username) pair, and per client address (one address trying many accounts). The username and
the pair block after `max_failures`; the address only after the much higher
`address_max_failures` (default 100, or 20 times `max_failures` if more), so the other users
behind one NAT or reverse proxy are not locked out by one user's typos. Once a key has its
limit of failures with no quiet gap of `window` seconds between them, every further failure
blocks it for a delay that doubles each time, up to `max_delay`. A record is forgotten
`window` seconds after its last failure or block ends; at most `max_tracked` records are kept
(oldest dropped first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LoginThrottle"]

_Key = tuple[str, ...]


@dataclass(slots=True)
class _Record:
    failures: int
    last_failure: float
    blocked_until: float

    def expires_at(self, window: float) -> float:
        return max(self.last_failure, self.blocked_until) + window


class LoginThrottle:
    """Decides whether a login attempt may go ahead, and records how attempts ended."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        address_max_failures: int | None = None,
        window: float = 300.0,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        max_tracked: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if address_max_failures is None:
            address_max_failures = max(100, 20 * max_failures)
        if max_failures < 1 or address_max_failures < max_failures:
            raise ValueError("invalid throttle settings")
        if window <= 0 or base_delay <= 0 or max_delay < base_delay:
            raise ValueError("invalid throttle settings")
        if max_tracked < 2:
            raise ValueError("max_tracked must be at least 2")
        self._max_failures = max_failures
        self._address_max_failures = address_max_failures
        self._window = window
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._max_tracked = max_tracked
        self._clock = clock
        # Least recently failed first, so pruning looks at the front only.
        self._records: OrderedDict[_Key, _Record] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def retry_after(self, username: str, client: str) -> float:
        """Seconds until an attempt for `username` from `client` may proceed (0: now)."""
        now = self._clock()
        wait = 0.0
        for key in _keys(username, client):
            record = self._records.get(key)
            if record is not None:
                wait = max(wait, record.blocked_until - now)
        return wait

    def failed(self, username: str, client: str) -> None:
        """Record a failed login (wrong credentials) for `username` from `client`."""
        now = self._clock()
        for key in _keys(username, client):
            self._record_failure(key, now)
        self._prune(now)

    def succeeded(self, username: str, client: str) -> None:
        """Forget `username`'s failures. The client's stay: it may be cycling through accounts."""
        self._records.pop(_username_key(username), None)
        self._records.pop(_pair_key(username, client), None)

    def _record_failure(self, key: _Key, now: float) -> None:
        record = self._records.pop(key, None)
        if record is None or record.expires_at(self._window) <= now:
            record = _Record(failures=0, last_failure=now, blocked_until=now)
        record.failures += 1
        record.last_failure = now
        limit = self._address_max_failures if key[0] == "client" else self._max_failures
        excess = record.failures - limit
        if excess >= 0:
            delay = self._max_delay if excess >= 64 else self._base_delay * 2.0**excess
            record.blocked_until = now + min(delay, self._max_delay)
        self._records[key] = record

    def _prune(self, now: float) -> None:
        records = self._records
        while records:
            key, record = next(iter(records.items()))
            if record.expires_at(self._window) > now and len(records) <= self._max_tracked:
                break
            del records[key]


def _keys(username: str, client: str) -> tuple[_Key, _Key, _Key]:
    return _username_key(username), _pair_key(username, client), ("client", client)


def _pair_key(username: str, client: str) -> _Key:
    return ("pair", client, username.strip().casefold())


def _username_key(username: str) -> _Key:
    # Logins are e-mail-like and matched case-insensitively upstream; "Bob" must not get a
    # fresh budget of attempts that "bob" has used up.
    return ("user", username.strip().casefold())
