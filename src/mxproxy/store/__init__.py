"""The store: users, device tokens and JWT signing keys, secrets sealed at rest, on the embedded
SQLite file (the default) or a shared PostgreSQL database."""

from mxproxy.store.db import Store, open_store
from mxproxy.store.errors import StoreError, StoreUnavailable, UnknownUser, WrongStoreKey
from mxproxy.store.models import DeviceToken, PushKind, SigningKey, StoredUser
from mxproxy.store.secretbox import KeyFileError, SecretBox, SecretError, load_or_create_key
from mxproxy.store.urls import is_postgres_url, redact_url

__all__ = [
    "DeviceToken",
    "KeyFileError",
    "PushKind",
    "SecretBox",
    "SecretError",
    "SigningKey",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredUser",
    "UnknownUser",
    "WrongStoreKey",
    "is_postgres_url",
    "load_or_create_key",
    "open_store",
    "redact_url",
]
