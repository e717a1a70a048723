"""The failed-login throttle, driven by a fake clock."""

from __future__ import annotations

import pytest

from mxproxy.auth.throttle import LoginThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttle(clock: FakeClock) -> LoginThrottle:
    return LoginThrottle(max_failures=3, window=60.0, base_delay=1.0, max_delay=8.0, clock=clock)


def fail(throttle: LoginThrottle, times: int, username: str = "bob", client: str = "10.0.0.1") -> None:
    for _ in range(times):
        throttle.failed(username, client)


def test_allowed_until_max_failures(throttle: LoginThrottle) -> None:
    assert throttle.retry_after("bob", "10.0.0.1") == 0
    fail(throttle, 2)
    assert throttle.retry_after("bob", "10.0.0.1") == 0
    fail(throttle, 1)
    assert throttle.retry_after("bob", "10.0.0.1") == 1.0


def test_delay_doubles_per_extra_failure_and_is_capped(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    delays = []
    for _ in range(7):
        throttle.failed("bob", "10.0.0.1")
        delays.append(throttle.retry_after("bob", "10.0.0.1"))
    assert delays == [0, 0, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_block_ends_after_the_delay(throttle: LoginThrottle, clock: FakeClock) -> None:
    fail(throttle, 4)
    assert throttle.retry_after("bob", "10.0.0.1") == 2.0
    clock.now += 1.5
    assert throttle.retry_after("bob", "10.0.0.1") == pytest.approx(0.5)
    clock.now += 0.5
    assert throttle.retry_after("bob", "10.0.0.1") == 0
    throttle.failed("bob", "10.0.0.1")  # still within the window: escalates
    assert throttle.retry_after("bob", "10.0.0.1") == 4.0


def test_quiet_window_forgets_failures(throttle: LoginThrottle, clock: FakeClock) -> None:
    fail(throttle, 2)
    clock.now += 60.0
    fail(throttle, 2)
    assert throttle.retry_after("bob", "10.0.0.1") == 0
    fail(throttle, 1)
    assert throttle.retry_after("bob", "10.0.0.1") == 1.0


def test_window_counts_from_the_end_of_the_block(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    fail(throttle, 6)  # blocked for 8 s
    clock.now += 8.0 + 59.0
    throttle.failed("bob", "10.0.0.1")
    assert throttle.retry_after("bob", "10.0.0.1") == 8.0


def test_username_is_throttled_from_any_client(throttle: LoginThrottle) -> None:
    for n in range(3):
        throttle.failed("bob", f"10.0.0.{n}")
    assert throttle.retry_after("bob", "192.168.1.1") == 1.0
    assert throttle.retry_after("alice", "192.168.1.1") == 0


def test_client_is_throttled_for_any_username_only_at_its_higher_limit(clock: FakeClock) -> None:
    throttle = LoginThrottle(max_failures=3, address_max_failures=6, window=60.0, clock=clock)
    for name in ("alice", "bob", "carol", "erin", "frank"):
        throttle.failed(name, "10.0.0.9")
    assert throttle.retry_after("dave", "10.0.0.9") == 0
    throttle.failed("grace", "10.0.0.9")
    assert throttle.retry_after("dave", "10.0.0.9") == 1.0
    assert throttle.retry_after("dave", "10.0.0.10") == 0


def test_one_users_failures_spare_the_others_behind_the_same_address(
    throttle: LoginThrottle,
) -> None:
    fail(throttle, 6, username="bob", client="10.0.0.9")
    assert throttle.retry_after("bob", "10.0.0.9") > 0
    assert throttle.retry_after("alice", "10.0.0.9") == 0


def test_the_pair_blocks_even_when_the_username_was_cleared(throttle: LoginThrottle) -> None:
    fail(throttle, 3, client="10.0.0.9")
    throttle.succeeded("bob", "10.0.0.1")  # the right password from elsewhere
    assert throttle.retry_after("bob", "10.0.0.9") == 1.0
    assert throttle.retry_after("bob", "10.0.0.1") == 0


def test_usernames_are_case_insensitive(throttle: LoginThrottle) -> None:
    for name in ("Bob@X.com", "bob@x.com", " BOB@x.COM "):
        throttle.failed(name, name)  # distinct clients, so only the username key adds up
    assert throttle.retry_after("bob@x.com", "elsewhere") == 1.0


def test_success_clears_the_username_but_not_the_client(clock: FakeClock) -> None:
    throttle = LoginThrottle(max_failures=3, address_max_failures=3, window=60.0, clock=clock)
    fail(throttle, 3, client="10.0.0.1")
    throttle.succeeded("bob", "10.0.0.1")
    assert throttle.retry_after("bob", "10.0.0.2") == 0
    assert throttle.retry_after("alice", "10.0.0.1") == 1.0


def test_memory_is_bounded(clock: FakeClock) -> None:
    throttle = LoginThrottle(max_failures=3, address_max_failures=3, window=60.0, max_tracked=10,
                             clock=clock)
    for n in range(100):
        throttle.failed(f"user{n}", "10.0.0.1")
    assert len(throttle) <= 10
    assert throttle.retry_after("anyone", "10.0.0.1") > 0  # the busy client is still tracked


def test_expired_records_are_pruned(clock: FakeClock) -> None:
    throttle = LoginThrottle(window=60.0, clock=clock)
    for n in range(50):
        throttle.failed(f"user{n}", f"10.0.1.{n}")
    assert len(throttle) == 150
    clock.now += 61.0
    throttle.failed("late", "10.0.2.1")
    assert len(throttle) == 3


@pytest.mark.parametrize(
    "settings",
    [
        {"max_failures": 0},
        {"window": 0},
        {"base_delay": 0},
        {"base_delay": 10, "max_delay": 5},
        {"max_tracked": 1},
        {"max_failures": 5, "address_max_failures": 4},
    ],
)
def test_bad_settings(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LoginThrottle(**settings)  # type: ignore[arg-type]
