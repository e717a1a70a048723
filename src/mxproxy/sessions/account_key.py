"""`AccountKey`: which MX account a session is (server + account name), the one key sessions
are held by, so every login that provisions to one account shares one PBX connection."""

from __future__ import annotations

from dataclasses import dataclass

from mxproxy.provisioning import MXAccount
from mxproxy.store import StoredUser

__all__ = ["AccountKey"]


@dataclass(frozen=True, slots=True, order=True)
class AccountKey:
    """An MX account; `str()` is its stable text form `mx_login@host:port` (IPv6 in brackets)."""

    host: str
    port: int
    mx_login: str

    @classmethod
    def of_account(cls, account: MXAccount) -> AccountKey:
        return cls(account.host.lower(), account.port, account.login)

    @classmethod
    def of_user(cls, user: StoredUser) -> AccountKey:
        return cls(user.mx_host.lower(), user.mx_port, user.mx_login)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.mx_login}@{host}:{self.port}"
