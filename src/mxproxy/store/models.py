"""The records the store keeps: users, device tokens, JWT signing keys, pending webhook deliveries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DeviceToken", "PendingDelivery", "PushKind", "SigningKey", "StoredUser"]

PushKind = Literal["apn", "fcm"]


@dataclass(frozen=True, slots=True)
class StoredUser:
    """A logged-in user and the MX account the proxy signs into for them.

    `login` is the app login (e.g. dmitrys@xyzrd.com); `mx_login`/`mx_password` are the MX
    credentials the provisioning service named. The password is kept out of `repr`.
    """

    login: str
    mx_login: str
    mx_host: str
    mx_port: int
    mx_password: str = field(repr=False)
    created_at: float


@dataclass(frozen=True, slots=True)
class DeviceToken:
    """A push token registered by a user's device for one app (`topic`)."""

    kind: PushKind
    topic: str
    token: str
    login: str
    sandbox: bool = False


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A JWT signing key; `retire_at` is when no token it signed can still be valid."""

    kid: str
    private_pem: bytes = field(repr=False)
    created_at: float
    retire_at: float


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A webhook delivery not yet delivered nor given up; `body` is the JSON sent."""

    id: str
    endpoint: str
    login: str
    event_type: str
    body: str
    created_at: float
