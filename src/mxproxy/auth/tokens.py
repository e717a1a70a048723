"""Access tokens: ES256 JWTs whose signing keys rotate, persist in the store and retire.

The current key signs for `sign_key_ttl` seconds, then a fresh P-256 key replaces it. A key
keeps verifying until `retire_at = created_at + sign_key_ttl + token_ttl`, the moment the last
token it could have signed expires; then it is dropped from memory and from the store. Keys are
persisted before first use, so a restarted proxy verifies the tokens it issued before.

`verify` is on every request's path: it runs without awaiting, and remembers recently verified
tokens (bounded LRU) so a repeat costs a dictionary lookup, still checking expiry and the key.
Only ES256 is ever accepted: the algorithm comes from our configuration, never from the token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mxproxy.store import SigningKey, Store

__all__ = ["Claims", "InvalidToken", "IssuedToken", "TokenIssuer"]

logger = logging.getLogger(__name__)

ALGORITHM: Final = "ES256"


class InvalidToken(Exception):
    """The token is not one we issued and that is still valid; `reason` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A fresh access token and its lifetime (`expires_in` seconds, `expires_at` unix time)."""

    token: str
    expires_in: int
    jti: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says: subject, issue and expiry times, token id, signing key id,
    and the device login (`sid`) it belongs to ("" for a token issued without one)."""

    sub: str
    iat: float
    exp: float
    jti: str
    kid: str
    sid: str = ""


@dataclass(frozen=True, slots=True)
class _ActiveKey:
    kid: str
    private: ec.EllipticCurvePrivateKey
    public: ec.EllipticCurvePublicKey
    created_at: float
    retire_at: float


class TokenIssuer:
    """Issues and verifies access tokens; call `start` once before use."""

    MAX_TOKEN_LENGTH: Final = 4096
    # Tolerated clock difference for `iat` (several proxies may share one store).
    CLOCK_SKEW: Final = 60.0

    def __init__(
        self,
        store: Store,
        *,
        token_ttl: float,
        sign_key_ttl: float,
        issuer: str = "mxproxy",
        clock: Callable[[], float] = time.time,
        cache_size: int = 4096,
    ) -> None:
        if token_ttl < 1 or sign_key_ttl <= 0:
            raise ValueError("token_ttl must be at least 1 second and sign_key_ttl positive")
        self._cache_size = max(0, cache_size)
        self._store = store
        self._token_ttl = token_ttl
        self._sign_key_ttl = sign_key_ttl
        self._issuer = issuer
        self._clock = clock
        self._jws = jwt.PyJWS(algorithms=[ALGORITHM])
        self._keys: dict[str, _ActiveKey] = {}
        self._current: _ActiveKey | None = None
        self._lock = asyncio.Lock()
        self._verified: OrderedDict[str, Claims] = OrderedDict()
        self._started = False

    @property
    def current_kid(self) -> str | None:
        """The id of the key that signs new tokens (None before `start`)."""
        return None if self._current is None else self._current.kid

    @property
    def kids(self) -> list[str]:
        """Ids of every key that still verifies tokens, oldest first."""
        return [key.kid for key in sorted(self._keys.values(), key=lambda key: key.created_at)]

    @property
    def remembered(self) -> int:
        """How many verified tokens are cached (at most `cache_size`)."""
        return len(self._verified)

    async def start(self) -> None:
        """Load the stored keys, drop retired ones, and make a current key if there is none."""
        async with self._lock:
            now = self._clock()
            stored = await self._store.signing_keys()
            for record in stored:
                if record.retire_at <= now:
                    await self._store.delete_signing_key(record.kid)
            live = [record for record in stored if record.retire_at > now]
            for key in await asyncio.to_thread(_load_keys, live):
                self._keys[key.kid] = key
            self._current = self._newest_signing_key(now)
            if self._current is not None:
                await self._cover_token_lifetime(self._current)
            self._started = True
            if self._current is None:
                await self._rotate(now)

    async def maintain(self) -> None:
        """Rotate the current key if it is due and forget retired keys.

        `issue` does this as needed; calling it periodically also clears keys out of the
        store when no tokens are being issued.
        """
        if not self._started:
            raise RuntimeError("TokenIssuer.start() has not been awaited")
        now = self._clock()
        if not self._rotation_due(now) and not self._retired_kids(now):
            return
        async with self._lock:
            now = self._clock()
            for kid in self._retired_kids(now):
                del self._keys[kid]
                await self._store.delete_signing_key(kid)
                logger.info("JWT signing key %s retired", kid)
            if self._rotation_due(now):
                await self._rotate(now)

    async def issue(self, subject: str, sid: str | None = None) -> IssuedToken:
        """A new access token for `subject` (the user's login), of device login `sid`."""
        if not subject:
            raise ValueError("a token needs a subject")
        if not self._started:
            raise RuntimeError("TokenIssuer.start() has not been awaited")
        if self._rotation_due(self._clock()):
            await self.maintain()
        key = self._current
        assert key is not None  # set by start(), replaced only by _rotate()
        issued_at = int(self._clock())
        expires_in = round(self._token_ttl)
        jti = secrets.token_urlsafe(12)
        claims: dict[str, object] = {
            "exp": issued_at + expires_in,
            "iat": issued_at,
            "iss": self._issuer,
            "jti": jti,
            "sub": subject,
        }
        if sid is not None:
            claims["sid"] = sid
        token = self._jws.encode(
            json.dumps(claims, separators=(",", ":"), sort_keys=True).encode(),
            key.private,
            algorithm=ALGORITHM,
            headers={"kid": key.kid, "typ": "JWT"},
        )
        return IssuedToken(token=token, expires_in=expires_in, jti=jti,
                           expires_at=float(issued_at + expires_in))

    def verify(self, token: str) -> Claims:
        """The claims of a valid token we issued; raises `InvalidToken` otherwise."""
        if not isinstance(token, str) or not token or len(token) > self.MAX_TOKEN_LENGTH:
            raise InvalidToken("malformed token")
        now = self._clock()
        remembered = self._verified.get(token)
        if remembered is not None:
            if remembered.exp > now and self._is_live(remembered.kid, now):
                self._verified.move_to_end(token)
                return remembered
            # Fall through, so the rejection gives the precise reason.
            del self._verified[token]
        claims = self._verify_signed(token, now)
        self._remember(token, claims)
        return claims

    def _verify_signed(self, token: str, now: float) -> Claims:
        try:
            header = self._jws.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidToken("malformed token") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("unsupported algorithm")
        kid = header.get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None or not self._is_live(key.kid, now):
            raise InvalidToken("unknown signing key")
        try:
            decoded = self._jws.decode_complete(token, key.public, algorithms=[ALGORITHM])
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad signature") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidToken("malformed token") from None
        return self._claims(decoded["payload"], key.kid, now)

    def _claims(self, payload: bytes, kid: str, now: float) -> Claims:
        try:
            body: Any = json.loads(payload)
        except ValueError:
            raise InvalidToken("malformed claims") from None
        if not isinstance(body, dict):
            raise InvalidToken("malformed claims")
        exp, iat = body.get("exp"), body.get("iat")
        if not _is_number(exp) or not _is_number(iat):
            raise InvalidToken("malformed claims")
        if exp <= now:
            raise InvalidToken("token expired")
        if iat > now + self.CLOCK_SKEW:
            raise InvalidToken("token issued in the future")
        if body.get("iss") != self._issuer:
            raise InvalidToken("wrong issuer")
        sub, jti, sid = body.get("sub"), body.get("jti"), body.get("sid", "")
        if not isinstance(sub, str) or not sub or not isinstance(jti, str) or not isinstance(sid, str):
            raise InvalidToken("malformed claims")
        return Claims(sub=sub, iat=float(iat), exp=float(exp), jti=jti, kid=kid, sid=sid)

    def _remember(self, token: str, claims: Claims) -> None:
        self._verified[token] = claims
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)

    def _is_live(self, kid: str, now: float) -> bool:
        key = self._keys.get(kid)
        return key is not None and key.retire_at > now

    def _rotation_due(self, now: float) -> bool:
        current = self._current
        return current is None or now >= current.created_at + self._sign_key_ttl

    def _retired_kids(self, now: float) -> list[str]:
        return [kid for kid, key in self._keys.items() if key.retire_at <= now]

    def _newest_signing_key(self, now: float) -> _ActiveKey | None:
        signing = [key for key in self._keys.values() if now < key.created_at + self._sign_key_ttl]
        return max(signing, key=lambda key: key.created_at, default=None)

    async def _cover_token_lifetime(self, key: _ActiveKey) -> None:
        """Push `retire_at` out if the TTLs grew since the key was made (config changed)."""
        needed = key.created_at + self._sign_key_ttl + self._token_ttl
        if needed <= key.retire_at:
            return
        longer = _ActiveKey(key.kid, key.private, key.public, key.created_at, needed)
        await self._store.save_signing_key(_record(longer))
        self._keys[key.kid] = longer
        self._current = longer

    async def _rotate(self, now: float) -> None:
        """Make, persist, then start using a new key (persisted first: survives a restart)."""
        private = await asyncio.to_thread(ec.generate_private_key, ec.SECP256R1())
        kid = _new_kid(self._keys)
        key = _ActiveKey(kid, private, private.public_key(), now,
                         now + self._sign_key_ttl + self._token_ttl)
        await self._store.save_signing_key(await asyncio.to_thread(_record, key))
        self._keys[kid] = key
        self._current = key
        logger.info("JWT signing key %s created", kid)


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _new_kid(taken: Iterable[str]) -> str:
    used = set(taken)
    while True:
        kid = secrets.token_urlsafe(6)
        if kid not in used:
            return kid


def _record(key: _ActiveKey) -> SigningKey:
    pem = key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningKey(kid=key.kid, private_pem=pem, created_at=key.created_at,
                      retire_at=key.retire_at)


def _load_keys(records: Iterable[SigningKey]) -> list[_ActiveKey]:
    """Parse stored keys (blocking; run in a thread). Unusable ones are skipped with a warning."""
    keys = []
    for record in records:
        try:
            private = serialization.load_pem_private_key(record.private_pem, password=None)
        except (ValueError, TypeError):
            private = None
        if not isinstance(private, ec.EllipticCurvePrivateKey) or not isinstance(
            private.curve, ec.SECP256R1
        ):
            logger.warning("stored JWT signing key %s is not a P-256 key; ignored", record.kid)
            continue
        keys.append(_ActiveKey(record.kid, private, private.public_key(), record.created_at,
                               record.retire_at))
    return keys
