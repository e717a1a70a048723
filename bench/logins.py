"""Users of the simulator's datasets and logging them in through the proxy, many at once.

The accounts are the simulator's own (`Dataset.generated` names them `user00001@xyzrd.com` /
`pw00001`, extension 100001, …); a login is the OAuth2 password grant with the harness's app
credentials, and the proxy answers it once the user's PBX session is up (call monitor
running), so the time of a login is "HTTP login → PBX session ready".
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bench.httpclient import HttpConnection
from bench.procs import ProxyProcess
from mxproxy.sim.dataset import Dataset, User


@dataclass(frozen=True, slots=True)
class Account:
    username: str  # the provisioning login, e.g. user00001@xyzrd.com
    password: str = field(repr=False)
    mx_login: str
    ext: str


def _account(user: User) -> Account:
    return Account(user.provisioning_login, user.password, user.login, user.ext)


def generated_accounts(count: int) -> list[Account]:
    """The first `count` generated users of a simulator started with `--users` >= count."""
    users = Dataset.generated(users=count).users
    return [_account(user) for user in users if user.login.startswith("user")]


def reference_account(login: str = "dmitrys") -> Account:
    """A user of the reference dataset (present in every generated one too)."""
    for user in Dataset.reference().users:
        if user.login == login:
            return _account(user)
    raise KeyError(login)


@dataclass
class LoginBatch:
    """Tokens in the order of the accounts ("" where the login failed)."""

    tokens: list[str]
    seconds: float
    failures: int = 0
    first_error: str = ""

    @property
    def rate(self) -> float:
        succeeded = len(self.tokens) - self.failures
        return succeeded / self.seconds if self.seconds > 0 else 0.0


def login_body(account: Account) -> bytes:
    form = {"username": account.username, "password": account.password, "grant_type": "password"}
    return urlencode(form).encode()


async def log_in(connection: HttpConnection, proxy: ProxyProcess, account: Account) -> str:
    """One login; the access token. Raises RuntimeError with the proxy's answer on failure."""
    answer = await connection.request(
        "POST",
        "/auth",
        headers={"Authorization": proxy.basic_auth, "Content-Type": "application/x-www-form-urlencoded"},
        body=login_body(account),
    )
    if answer.status != 200:
        raise RuntimeError(f"login of {account.username}: {answer.status} {answer.body[:200]!r}")
    token: str = json.loads(answer.body)["access_token"]
    return token


async def log_in_all(
    proxy: ProxyProcess, accounts: Sequence[Account], *, concurrency: int = 64, timeout: float = 30.0
) -> LoginBatch:
    """Log every account in, `concurrency` at a time over kept-alive connections."""
    tokens = [""] * len(accounts)
    batch = LoginBatch(tokens, 0.0)
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        connection = proxy.api(timeout)
        try:
            while next_index < len(accounts):
                index = next_index
                next_index += 1
                try:
                    tokens[index] = await log_in(connection, proxy, accounts[index])
                except (OSError, TimeoutError, RuntimeError) as exc:
                    batch.failures += 1
                    batch.first_error = batch.first_error or str(exc)[:300]
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(accounts))))))
    batch.seconds = time.perf_counter() - started
    return batch
