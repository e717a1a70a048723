"""The embedded database: users, device tokens and JWT signing keys, secrets sealed at rest."""

from mxproxy.store.db import Store, StoreError, UnknownUser, WrongStoreKey, open_store
from mxproxy.store.models import DeviceToken, PushKind, SigningKey, StoredUser
from mxproxy.store.secretbox import KeyFileError, SecretBox, SecretError, load_or_create_key

__all__ = [
    "DeviceToken",
    "KeyFileError",
    "PushKind",
    "SecretBox",
    "SecretError",
    "SigningKey",
    "Store",
    "StoreError",
    "StoredUser",
    "UnknownUser",
    "WrongStoreKey",
    "load_or_create_key",
    "open_store",
]
