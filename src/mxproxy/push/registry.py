"""Where the push code gets device tokens from, and how it reports tokens the services reject.

The dispatcher does not own the token store; it talks to anything that implements
`TokenRegistry` (`mxproxy.store.Store` does). `DeviceToken` is the store's record.
"""

from __future__ import annotations

from typing import Protocol

from mxproxy.store.models import DeviceToken, PushKind

__all__ = ["DeviceToken", "PushKind", "TokenRegistry"]


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
