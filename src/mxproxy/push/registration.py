"""Validation of `PUT /tokens/{apn|fcm}/{topic}/{token}` (API.md § Push tokens).

A pure function: the HTTP layer calls it before storing a token and turns a
`RegistrationError` into `{status}` with `{"error": message}`.
"""

from __future__ import annotations

from mxproxy.push.settings import PushSettings

__all__ = ["MIN_TOKEN_LENGTH", "RegistrationError", "validate_registration"]

MIN_TOKEN_LENGTH = 20


class RegistrationError(Exception):
    """The registration is refused with HTTP `status` and `message`."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status} {message}")


def validate_registration(settings: PushSettings, kind: str, topic: str, token: str, sandbox: bool) -> None:
    """Raise `RegistrationError` unless the token can be pushed to with this configuration."""
    if kind == "apn":
        _check_apn_topic(settings, topic, sandbox)
    elif kind == "fcm":
        if not settings.covers("fcm", topic, sandbox):
            raise RegistrationError(404, f'fcm app "{topic}" is not configured')
    else:
        raise RegistrationError(404, f'unsupported push type "{kind}"')
    if len(token) < MIN_TOKEN_LENGTH:
        raise RegistrationError(400, "bad push token")


def _check_apn_topic(settings: PushSettings, topic: str, sandbox: bool) -> None:
    if settings.covers("apn", topic, sandbox):
        return
    if settings.knows_apn_topic(topic):
        environment = "sandbox" if sandbox else "production"
        raise RegistrationError(404, f'no {environment} APNs credential for topic "{topic}"')
    raise RegistrationError(404, f'no APNs certificate or key for topic "{topic}"')
