"""The MX client's exception hierarchy.

Local and remote protocol errors are distinct types (as in h11): a `LocalProtocolError`
means *we* tried to do something the protocol forbids (a bug or bad input on our side);
a `RemoteProtocolError` means the PBX sent something we cannot make sense of.
Everything the client raises derives from `MXError`.
"""

from __future__ import annotations


class MXError(Exception):
    """Base class of every error raised by the MX protocol code."""


class LocalProtocolError(MXError):
    """We were asked to send something the protocol cannot carry."""


class RemoteProtocolError(MXError):
    """The PBX sent bytes that do not follow the protocol (bad frame, bad XML)."""


class CSTAError(MXError):
    """The PBX answered a command with `CSTAErrorCode`; `reason` is its child's text (`invalidCallID`)."""

    def __init__(self, reason: str, command: str = "") -> None:
        self.reason = reason
        self.command = command
        super().__init__(f"{command or 'command'} failed: {reason}")


class LoginFailed(MXError):
    """The PBX refused the login (`loginFailed`): wrong credentials or a locked account.

    `api_version` is the server's `apiversion`, which decides whether a refused hashed
    password is worth one retry in plain text.
    """

    def __init__(self, code: int, message: str, *, api_version: int = 0) -> None:
        self.code = code
        self.message = message
        self.api_version = api_version
        super().__init__(f"MX login failed (code {code}): {message}")


class MXTimeout(MXError, TimeoutError):
    """The PBX did not answer in time."""


class ConnectionClosed(MXError):
    """The connection to the PBX is gone; `reason` says why (server logout, drop, close)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"MX connection closed: {reason}")
