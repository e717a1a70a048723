"""Authentication building blocks: access tokens, app credentials, failed-login throttling."""

from mxproxy.auth.apps import AppRegistry, parse_basic
from mxproxy.auth.throttle import LoginThrottle
from mxproxy.auth.tokens import Claims, InvalidToken, IssuedToken, TokenIssuer

__all__ = [
    "AppRegistry",
    "Claims",
    "InvalidToken",
    "IssuedToken",
    "LoginThrottle",
    "TokenIssuer",
    "parse_basic",
]
