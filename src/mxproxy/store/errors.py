"""The store's own errors, the same whichever database engine is behind it.

Callers (the HTTP layer, the sessions) catch these and never a driver's: `StoreUnavailable`
means "try again later" (the database cannot be reached right now; the API answers 503), any
other `StoreError` is a fault of the data or the configuration.
"""

from __future__ import annotations

__all__ = ["ConstraintViolation", "StoreError", "StoreUnavailable", "UnknownUser", "WrongStoreKey"]


class StoreError(Exception):
    """The database cannot be opened or used."""


class StoreUnavailable(StoreError):
    """The database cannot be reached now (down, restarting, unreachable, too slow)."""


class WrongStoreKey(StoreError):
    """The store key is not the one this database was created with."""


class UnknownUser(StoreError):
    """A device token was added for a login that is not a stored user."""


class ConstraintViolation(StoreError):
    """A write broke a uniqueness, foreign key or check constraint."""
