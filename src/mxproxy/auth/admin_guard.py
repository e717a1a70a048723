"""Who may use the admin web: HTTP Basic against `[admin] users` (bcrypt hashes), the `Host`
header (configured names plus loopback: no DNS rebinding), and no cross-site form posts (Origin
and Sec-Fetch-Site). `AdminGuard` is a pure ASGI middleware, so it wraps whatever admin app
exists; `AdminPasswords` also serves `GET /debug/log` on the API.

bcrypt is deliberately slow (tens of milliseconds): checks run in a worker thread, at most a
few at once, and a successful check is remembered briefly (by a digest of the credentials, never
the password itself), so a dashboard polling `/metrics` costs one hash per minute. Without users
the admin web must listen on loopback only (`check_admin_listen`), and then asks nothing.
"""

from __future__ import annotations

import asyncio
import getpass
import hmac
import ipaddress
import logging
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, TextIO

import bcrypt
import orjson

from mxproxy.auth.apps import parse_basic
from mxproxy.config import AdminConfig, ConfigError

__all__ = ["AdminGuard", "AdminPasswords", "check_admin_listen", "hash_password_command", "is_loopback"]

log = logging.getLogger("mxproxy.admin")

REALM: Final = 'Basic realm="MXProxy admin"'
_REMEMBER_SECONDS: Final = 60.0
_MAX_REMEMBERED: Final = 1024
# One hash at a time, and a short queue: a flood of wrong passwords then costs one core at
# most and is refused at once, while remembered admins pass without hashing.
_CONCURRENT_CHECKS: Final = 1
_MAX_WAITING: Final = 8
_LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_admin_listen(config: AdminConfig, host: str) -> str:
    """Refuse (`ConfigError`) an admin web reachable beyond loopback without users; otherwise
    the line to log at start about how it is protected."""
    if config.users:
        return f"admin web: HTTP Basic for {len(config.users)} [admin] user(s)"
    if not is_loopback(host):
        raise ConfigError(
            f"admin web on {host} needs [admin] users (mxproxy hash-password); "
            "without them it may listen on loopback only"
        )
    return "admin web: no [admin] users configured, so it listens on loopback only, without authentication"


class AdminPasswords:
    """Checks admin credentials against bcrypt hashes, off the event loop, remembering successes."""

    def __init__(self, users: Mapping[str, str], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._hashes = {name: hashed.encode() for name, hashed in users.items()}
        self._clock = clock
        self._remembered: dict[bytes, float] = {}
        # Remembered credentials are keyed by an HMAC under a key of this process only, so
        # not even memory holds a fast hash of an admin password.
        self._pepper = secrets.token_bytes(32)
        self._slots = asyncio.Semaphore(_CONCURRENT_CHECKS)
        self._waiting = 0
        # Unknown users cost a real check too, so timing does not tell which names exist.
        self._decoy = next(iter(self._hashes.values()), b"")

    def __bool__(self) -> bool:
        return bool(self._hashes)

    async def check(self, name: str, password: str) -> bool:
        if not self._hashes:
            return False
        key = hmac.digest(self._pepper, f"{name}\0{password}".encode("utf-8", "surrogatepass"), "sha256")
        now = self._clock()
        until = self._remembered.get(key)
        if until is not None and until > now:
            return True
        expected = self._hashes.get(name)
        if self._waiting >= _MAX_WAITING:
            return False
        self._waiting += 1
        try:
            async with self._slots:
                valid = await asyncio.to_thread(_verify, password, expected or self._decoy)
        finally:
            self._waiting -= 1
        if not (valid and expected is not None):
            return False
        if len(self._remembered) >= _MAX_REMEMBERED:
            self._remembered = {k: t for k, t in self._remembered.items() if t > now}
            if len(self._remembered) >= _MAX_REMEMBERED:
                self._remembered.clear()
        self._remembered[key] = now + _REMEMBER_SECONDS
        return True

    async def check_header(self, header: str) -> bool:
        credentials = parse_basic(header) if header else None
        return credentials is not None and await self.check(*credentials)


def _verify(password: str, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8", "surrogatepass"), hashed)
    except ValueError:
        return False


class AdminGuard:
    """ASGI middleware for the admin web: Host, then cross-site posts, then Basic credentials."""

    def __init__(self, app: Any, config: AdminConfig, passwords: AdminPasswords | None = None) -> None:
        self.app = app
        self._hosts = frozenset(config.hosts)
        self._passwords = passwords if passwords is not None else AdminPasswords(config.users)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if not self._host_allowed(host):
            await _refuse(send, 403, "host not allowed")
            return
        if scope["method"] not in _SAFE_METHODS and _cross_site(headers, host):
            await _refuse(send, 403, "cross-site request refused")
            return
        if self._passwords and not await self._passwords.check_header(headers.get("authorization", "")):
            if "authorization" in headers:
                client = scope.get("client") or ("unknown", 0)
                log.warning("admin login failed from %s", client[0])
            await _refuse(send, 401, "admin authorization required", ((b"www-authenticate", REALM.encode()),))
            return
        await self.app(scope, receive, send)

    def _host_allowed(self, host: str) -> bool:
        name = _host_name(host)
        return bool(name) and (is_loopback(name) or name in self._hosts)


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else ""
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _cross_site(headers: Mapping[str, str], host: str) -> bool:
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    _, sep, rest = origin.partition("://")
    return not sep or rest.rstrip("/").lower() != host.strip().lower()


async def _refuse(send: Any, status: int, message: str, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = orjson.dumps({"error": message})
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ],
    })
    await send({"type": "http.response.body", "body": body})


def hash_password_command(argv: list[str], stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """`mxproxy hash-password`: a bcrypt hash for `[admin] users`, the password read from the
    terminal (asked twice) or one line of standard input; never from the command line."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if argv:
        print("usage: mxproxy hash-password   (the password is read from the terminal or stdin)",
              file=sys.stderr)
        return 2
    if stdin.isatty():
        password = getpass.getpass("admin password: ")
        if not hmac.compare_digest(password, getpass.getpass("again: ")):
            print("mxproxy: the passwords differ", file=sys.stderr)
            return 1
    else:
        password = stdin.readline().rstrip("\r\n")
    if not password:
        print("mxproxy: empty password", file=sys.stderr)
        return 1
    if len(password.encode()) > 72:
        print("mxproxy: bcrypt uses at most 72 bytes of a password", file=sys.stderr)
        return 1
    print(bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode(), file=stdout)
    return 0
