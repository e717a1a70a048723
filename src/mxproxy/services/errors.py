"""The domain errors of the services: each carries the HTTP status and the `{"error": …}`
message the API answers with, so the HTTP layer maps every failure in one place
(`mxproxy.api.errors.error_for`) without knowing the services' rules."""

from __future__ import annotations

from collections.abc import Mapping

BEARER_REALM = 'Bearer realm="MXProxy"'
BASIC_REALM = 'Basic realm="MXProxy client application"'


class DomainError(Exception):
    """A request the service refuses; `status` and `message` are what the client sees."""

    status = 400
    message = "bad request"

    def __init__(self, message: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        if message is not None:
            self.message = message
        self.headers = dict(headers or {})
        super().__init__(f"{self.status} {self.message}")


class BadRequest(DomainError):
    status = 400


class TooLarge(DomainError):
    status = 413
    message = "request body too large"


class Unauthorized(DomainError):
    """No, invalid or outdated bearer token (with the challenge 2.3 sent)."""

    status = 401

    def __init__(self, message: str = "authorization required", error: str | None = None) -> None:
        challenge = BEARER_REALM if error is None else f'{BEARER_REALM}, error="{error}"'
        super().__init__(message, {"WWW-Authenticate": challenge})


class AppUnauthorized(DomainError):
    """The app's Basic credentials are missing."""

    status = 401
    message = "application authorization required"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, {"WWW-Authenticate": BASIC_REALM})


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404
    message = "not found"


class CallNotFound(NotFound):
    message = "call not found"


class MailNotFound(NotFound):
    message = "voicemail not found"


class ConferenceNotFound(NotFound):
    message = "conference not found"


class ShuttingDown(DomainError):
    status = 503
    message = "shutting down"


class Status(DomainError):
    """A status decided elsewhere (provisioning, the login flow), passed through as is."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        super().__init__(message, headers)
