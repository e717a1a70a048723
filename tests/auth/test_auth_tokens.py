"""ES256 access tokens: issue/verify, rotation, retirement, restarts and every kind of forgery."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mxproxy.auth.tokens import Claims, InvalidToken, TokenIssuer
from mxproxy.store import SigningKey, Store

KEY = bytes(range(32))
TOKEN_TTL = 3600.0
SIGN_KEY_TTL = 6 * 3600.0
START = 1_504_628_928.0
SUBJECT = "dmitrys@xyzrd.com"


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "tokens.db", KEY)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def started(store: Store, clock: FakeClock, **overrides: Any) -> TokenIssuer:
    settings: dict[str, Any] = {"token_ttl": TOKEN_TTL, "sign_key_ttl": SIGN_KEY_TTL}
    settings.update(overrides)
    issuer = TokenIssuer(store, clock=clock, **settings)
    await issuer.start()
    return issuer


@pytest.fixture
async def issuer(store: Store, clock: FakeClock) -> TokenIssuer:
    return await started(store, clock)


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def stored_private_key(store: Store, kid: str) -> ec.EllipticCurvePrivateKey:
    record = next(key for key in await store.signing_keys() if key.kid == kid)
    private = serialization.load_pem_private_key(record.private_pem, password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return private


def reasons_for(issuer: TokenIssuer, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        issuer.verify(token)
    return caught.value.reason


async def test_issue_then_verify(issuer: TokenIssuer) -> None:
    issued = await issuer.issue(SUBJECT)
    assert issued.expires_in == 3600
    assert issued.expires_at == START + 3600
    header, claims = segments(issued.token)
    assert header == {"alg": "ES256", "typ": "JWT", "kid": issuer.current_kid}
    assert claims == {
        "exp": int(START) + 3600,
        "iat": int(START),
        "iss": "mxproxy",
        "jti": issued.jti,
        "sub": SUBJECT,
    }
    assert issuer.verify(issued.token) == Claims(
        sub=SUBJECT, iat=START, exp=START + 3600, jti=issued.jti, kid=header["kid"]
    )


async def test_token_ids_are_unique(issuer: TokenIssuer) -> None:
    issued = [await issuer.issue(SUBJECT) for _ in range(20)]
    assert len({token.jti for token in issued}) == 20
    assert len({token.token for token in issued}) == 20


async def test_custom_issuer_claim(store: Store, clock: FakeClock) -> None:
    issuer = await started(store, clock, issuer="https://localhost:8000")
    token = (await issuer.issue(SUBJECT)).token
    assert segments(token)[1]["iss"] == "https://localhost:8000"
    other = TokenIssuer(store, token_ttl=TOKEN_TTL, sign_key_ttl=SIGN_KEY_TTL, clock=clock)
    await other.start()
    assert reasons_for(other, token) == "wrong issuer"


async def test_expired_token_is_refused_even_when_remembered(
    issuer: TokenIssuer, clock: FakeClock
) -> None:
    token = (await issuer.issue(SUBJECT)).token
    clock.now += TOKEN_TTL - 1
    assert issuer.verify(token).sub == SUBJECT
    clock.now += 1
    assert reasons_for(issuer, token) == "token expired"
    assert reasons_for(issuer, token) == "token expired"


async def test_the_key_is_persisted_before_use(issuer: TokenIssuer, store: Store) -> None:
    token = (await issuer.issue(SUBJECT)).token
    kid = segments(token)[0]["kid"]
    [record] = await store.signing_keys()
    assert record.kid == kid
    assert record.created_at == START
    assert record.retire_at == START + SIGN_KEY_TTL + TOKEN_TTL


async def test_keys_rotate_and_old_tokens_keep_verifying(
    issuer: TokenIssuer, store: Store, clock: FakeClock
) -> None:
    first = await issuer.issue(SUBJECT)
    first_kid = issuer.current_kid
    clock.now += SIGN_KEY_TTL - 1
    late = await issuer.issue(SUBJECT)
    assert issuer.current_kid == first_kid
    clock.now += 1
    second = await issuer.issue(SUBJECT)
    second_kid = issuer.current_kid
    assert second_kid != first_kid
    assert segments(second.token)[0]["kid"] == second_kid
    assert issuer.kids == [first_kid, second_kid]
    assert [key.kid for key in await store.signing_keys()] == [first_kid, second_kid]
    assert issuer.verify(late.token).kid == first_kid
    assert issuer.verify(second.token).kid == second_kid
    assert reasons_for(issuer, first.token) == "token expired"


async def test_old_keys_retire_from_memory_and_store(
    issuer: TokenIssuer, store: Store, clock: FakeClock
) -> None:
    first_kid = issuer.current_kid
    clock.now += SIGN_KEY_TTL - 10
    late = await issuer.issue(SUBJECT)
    clock.now += 10
    await issuer.maintain()
    second_kid = issuer.current_kid
    clock.now = START + SIGN_KEY_TTL + TOKEN_TTL - 11
    assert issuer.verify(late.token).kid == first_kid
    clock.now = START + SIGN_KEY_TTL + TOKEN_TTL
    await issuer.maintain()
    assert issuer.kids == [second_kid]
    assert [key.kid for key in await store.signing_keys()] == [second_kid]
    assert reasons_for(issuer, late.token) == "unknown signing key"


async def test_concurrent_issues_at_rotation_make_one_key(
    issuer: TokenIssuer, store: Store, clock: FakeClock
) -> None:
    clock.now += SIGN_KEY_TTL
    issued = await asyncio.gather(*(issuer.issue(f"user{n}") for n in range(10)))
    kids = {segments(token.token)[0]["kid"] for token in issued}
    assert kids == {issuer.current_kid}
    assert len(await store.signing_keys()) == 2


async def test_restart_verifies_old_tokens_and_keeps_the_current_key(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "restart.db"
    async with await Store.open(path, KEY) as store:
        before = await started(store, clock)
        token = (await before.issue(SUBJECT)).token
        kid = before.current_kid
    clock.now += 60
    async with await Store.open(path, KEY) as store:
        after = await started(store, clock)
        assert after.current_kid == kid
        assert after.verify(token).sub == SUBJECT
        assert segments((await after.issue(SUBJECT)).token)[0]["kid"] == kid


async def test_restart_after_rotation_is_due_makes_a_new_key(
    store: Store, clock: FakeClock
) -> None:
    before = await started(store, clock)
    clock.now += SIGN_KEY_TTL - 10
    token = (await before.issue(SUBJECT)).token
    clock.now += 11
    after = await started(store, clock)
    assert after.current_kid != before.current_kid
    assert after.verify(token).kid == before.current_kid


async def test_start_drops_retired_keys(store: Store, clock: FakeClock) -> None:
    await store.save_signing_key(SigningKey("gone", b"not even a key", 1.0, START))
    await started(store, clock)
    assert "gone" not in [key.kid for key in await store.signing_keys()]


async def test_a_longer_token_ttl_after_restart_extends_the_key(
    store: Store, clock: FakeClock
) -> None:
    before = await started(store, clock)
    kid = before.current_kid
    after = await started(store, clock, token_ttl=4 * TOKEN_TTL)
    assert after.current_kid == kid
    [record] = await store.signing_keys()
    assert record.retire_at == START + SIGN_KEY_TTL + 4 * TOKEN_TTL
    clock.now += SIGN_KEY_TTL - 1
    token = (await after.issue(SUBJECT)).token
    clock.now += 4 * TOKEN_TTL - 1
    assert after.verify(token).kid == kid


async def test_unusable_stored_key_is_ignored(store: Store, clock: FakeClock) -> None:
    await store.save_signing_key(SigningKey("junk", b"garbage", START, START + 100))
    issuer = await started(store, clock)
    assert "junk" not in issuer.kids
    assert issuer.current_kid is not None


async def test_issue_before_start_is_a_programming_error(store: Store) -> None:
    issuer = TokenIssuer(store, token_ttl=TOKEN_TTL, sign_key_ttl=SIGN_KEY_TTL)
    with pytest.raises(RuntimeError):
        await issuer.issue(SUBJECT)


async def test_bad_settings(store: Store) -> None:
    with pytest.raises(ValueError):
        TokenIssuer(store, token_ttl=0, sign_key_ttl=SIGN_KEY_TTL)
    with pytest.raises(ValueError):
        TokenIssuer(store, token_ttl=TOKEN_TTL, sign_key_ttl=0)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not a jwt",
        "a.b.c",
        "a.b",
        "....",
        "eyJhbGciOiJFUzI1NiJ9",
        "eyJhbGciOiJFUzI1NiJ9.e30.",
        "ъъъ.ъъъ.ъъъ",
        "x" * 5000,
    ],
)
async def test_not_a_jwt(issuer: TokenIssuer, token: str) -> None:
    with pytest.raises(InvalidToken):
        issuer.verify(token)


async def test_alg_none_is_refused(issuer: TokenIssuer) -> None:
    good = (await issuer.issue(SUBJECT)).token
    _, payload, _ = good.split(".")
    header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": issuer.current_kid}).encode())
    assert reasons_for(issuer, f"{header}.{payload}.") == "unsupported algorithm"
    for variant in ("None", "NONE"):
        header = b64url(json.dumps({"alg": variant, "kid": issuer.current_kid}).encode())
        assert reasons_for(issuer, f"{header}.{payload}.") == "unsupported algorithm"


async def test_hs256_signed_with_the_public_key_is_refused(
    issuer: TokenIssuer, store: Store
) -> None:
    kid = issuer.current_kid
    assert kid is not None
    public_pem = (await stored_private_key(store, kid)).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = segments((await issuer.issue(SUBJECT)).token)[1]
    signing = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    signing += "." + b64url(json.dumps(claims).encode())
    mac = hmac.new(public_pem, signing.encode(), hashlib.sha256).digest()
    assert reasons_for(issuer, f"{signing}.{b64url(mac)}") == "unsupported algorithm"


@pytest.mark.parametrize("alg", ["ES384", "ES512", "RS256", "PS256", "EdDSA", "es256", None])
async def test_any_other_alg_header_is_refused(issuer: TokenIssuer, alg: str | None) -> None:
    _, payload, signature = (await issuer.issue(SUBJECT)).token.split(".")
    fields = {"typ": "JWT", "kid": issuer.current_kid}
    if alg is not None:
        fields["alg"] = alg
    header = b64url(json.dumps(fields).encode())
    assert reasons_for(issuer, f"{header}.{payload}.{signature}") == "unsupported algorithm"


async def test_unknown_kid(issuer: TokenIssuer) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    claims = {"exp": int(START) + 60, "iat": int(START), "iss": "mxproxy", "jti": "x",
              "sub": SUBJECT}
    for headers in ({"kid": "nope"}, {}):
        token = jwt.encode(claims, stranger, algorithm="ES256", headers=headers)
        assert reasons_for(issuer, token) == "unknown signing key"
    _, payload, signature = (await issuer.issue(SUBJECT)).token.split(".")
    for kid in (7, None, [issuer.current_kid]):
        header = b64url(json.dumps({"alg": "ES256", "kid": kid}).encode())
        reason = reasons_for(issuer, f"{header}.{payload}.{signature}")
        assert reason in {"unknown signing key", "malformed token"}


async def test_a_stranger_key_under_our_kid_is_a_bad_signature(issuer: TokenIssuer) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    claims = {"exp": int(START) + 60, "iat": int(START), "iss": "mxproxy", "jti": "x",
              "sub": SUBJECT}
    token = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": issuer.current_kid})
    assert reasons_for(issuer, token) == "bad signature"


async def test_tampered_claims_are_a_bad_signature(issuer: TokenIssuer) -> None:
    token = (await issuer.issue(SUBJECT)).token
    assert issuer.verify(token).sub == SUBJECT  # now remembered; the forgery must not hit it
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["sub"] = "admin@xyzrd.com"
    forged = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    assert reasons_for(issuer, forged) == "bad signature"
    raw = bytearray(b64url_decode(signature))
    raw[0] ^= 1
    assert reasons_for(issuer, f"{header}.{payload}.{b64url(bytes(raw))}") == "bad signature"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": None}, "malformed claims"),
        ({"exp": "9999999999"}, "malformed claims"),
        ({"exp": True}, "malformed claims"),
        ({"iat": None}, "malformed claims"),
        ({"sub": None}, "malformed claims"),
        ({"sub": ""}, "malformed claims"),
        ({"sub": 42}, "malformed claims"),
        ({"jti": None}, "malformed claims"),
        ({"iss": None}, "wrong issuer"),
        ({"iss": "someone-else"}, "wrong issuer"),
        ({"exp": START}, "token expired"),
        ({"iat": START + 3600}, "token issued in the future"),
    ],
)
async def test_validly_signed_but_wrong_claims(
    issuer: TokenIssuer, store: Store, changes: dict[str, Any], reason: str
) -> None:
    kid = issuer.current_kid
    assert kid is not None
    private = await stored_private_key(store, kid)
    claims: dict[str, Any] = {"exp": int(START) + 60, "iat": int(START), "iss": "mxproxy",
                              "jti": "abc", "sub": SUBJECT}
    for name, value in changes.items():
        if value is None:
            del claims[name]
        else:
            claims[name] = value
    payload = json.dumps(claims).encode()
    token = jwt.PyJWS().encode(payload, private, algorithm="ES256", headers={"kid": kid})
    assert reasons_for(issuer, token) == reason


async def test_signed_payload_that_is_not_an_object(issuer: TokenIssuer, store: Store) -> None:
    kid = issuer.current_kid
    assert kid is not None
    private = await stored_private_key(store, kid)
    for payload in (b"[1, 2]", b"not json", b'"text"'):
        token = jwt.PyJWS().encode(payload, private, algorithm="ES256", headers={"kid": kid})
        assert reasons_for(issuer, token) == "malformed claims"


async def test_verification_cache_is_bounded(store: Store, clock: FakeClock) -> None:
    issuer = await started(store, clock, cache_size=8)
    tokens = [(await issuer.issue(f"u{n}")).token for n in range(20)]
    for token in tokens:
        issuer.verify(token)
    assert issuer.remembered == 8
    assert issuer.verify(tokens[0]).sub == "u0"  # evicted, verified again from scratch
    assert issuer.remembered == 8
