"""Where the push code gets device tokens from, and how it reports tokens the services reject.

The dispatcher does not own the token store; it talks to anything that implements
`TokenRegistry`. `DeviceToken` mirrors `mxproxy.store.DeviceToken` field for field, so the
store's own dataclass satisfies every annotation here once it is imported in its place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["DeviceToken", "PushKind", "TokenRegistry"]

PushKind = Literal["apn", "fcm"]


@dataclass(frozen=True)
class DeviceToken:
    """One registered device: `topic` is the APNs topic or the FCM app name."""

    kind: PushKind
    topic: str
    token: str
    login: str
    sandbox: bool = False


class TokenRegistry(Protocol):
    """The token store as the push dispatcher sees it."""

    async def tokens(self, login: str | None = None) -> list[DeviceToken]:
        """Every token registered by `login` (every token at all when `login` is None)."""
        ...

    async def remove_token(self, kind: str, topic: str, token: str) -> bool:
        """Forget a token the push service rejected; False if it was not registered."""
        ...

    async def replace_token(self, kind: str, topic: str, old: str, new: str) -> None:
        """Swap a token for the canonical one the push service named."""
        ...
