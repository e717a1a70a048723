"""API.md § Authentication end to end: the real proxy, the simulator behind it."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mxproxy.service import Tuning

from .harness import APP_BASIC, APP_ID, Proxy

LOGIN_FORM = {"username": "dmitrys@xyzrd.com", "password": "78561", "grant_type": "password"}
BASIC_CHALLENGE = 'Basic realm="MXProxy client application"'


def _segments(token: str) -> tuple[dict[str, object], dict[str, object]]:
    header, claims, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(claims)


async def test_password_grant_returns_an_es256_bearer_token(proxy: Proxy) -> None:
    response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=LOGIN_FORM)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["server"].startswith("MXProxy/")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    header, claims = _segments(body["access_token"])
    assert header["alg"] == "ES256"
    assert header["kid"]
    assert claims["sub"] == "dmitrys@xyzrd.com"
    assert claims["exp"] == claims["iat"] + 3600  # type: ignore[operator]
    assert claims["jti"]


async def test_a_json_body_works_as_well_as_a_form(proxy: Proxy) -> None:
    response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, json=LOGIN_FORM)
    assert response.status_code == 200


async def test_get_auth_describes_the_mx_user(proxy: Proxy) -> None:
    token = await proxy.login("peterh@xyzrd.com", "981211")
    response = await proxy.api.get("/auth", headers=proxy.bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "mx": "63022",
        "ext": "3044",
        "jid": "43884851428118509",
        "softPhonePwd": "EqNe45DYvZH2va1gesL7AA1ldtP04j4a",
    }


async def test_azure_ad_bearer_logs_in_through_provisioning(proxy: Proxy) -> None:
    response = await proxy.api.post("/auth", headers={"Authorization": "Bearer azure-peterh"})
    assert response.status_code == 200
    token = response.json()["access_token"]
    info = await proxy.api.get("/auth", headers=proxy.bearer(token))
    assert info.json()["ext"] == "3044"


@pytest.mark.parametrize("header", [None, "Digest abc", "Basic", "Bearer"])
async def test_login_without_usable_authorization_is_challenged(proxy: Proxy, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await proxy.api.post("/auth", headers=headers, data=LOGIN_FORM)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == BASIC_CHALLENGE
    assert "error" in response.json()


async def test_wrong_app_secret_is_refused(proxy: Proxy) -> None:
    basic = "Basic " + base64.b64encode(f"{APP_ID}:wrong".encode()).decode()
    response = await proxy.api.post("/auth", headers={"Authorization": basic}, data=LOGIN_FORM)
    assert response.status_code == 403
    assert response.json() == {"error": "bad client-id or app secret"}


async def test_grant_type_must_be_password(proxy: Proxy) -> None:
    form = {**LOGIN_FORM, "grant_type": "client_credentials"}
    response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=form)
    assert response.status_code == 403
    assert response.json() == {"error": "bad grant_type"}


async def test_provisioning_refusal_passes_its_status_through(proxy: Proxy) -> None:
    form = {**LOGIN_FORM, "password": "wrong"}
    response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=form)
    assert response.status_code == 401
    assert "error" in response.json()


async def test_malformed_json_body_is_a_400(proxy: Proxy) -> None:
    response = await proxy.api.post(
        "/auth",
        headers={"Authorization": APP_BASIC, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert response.status_code == 400
    assert response.json() == {"error": "malformed JSON body"}


async def test_huge_body_is_a_413(proxy: Proxy) -> None:
    response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, content=b"x" * (2 << 20))
    assert response.status_code == 413
    assert response.json() == {"error": "request body too large"}


@pytest.mark.parametrize(
    ("fault", "status"),
    [("garbage", 502), ("missing", 403), ("insecure", 403), ("status", 500)],
)
async def test_provisioning_faults_map_to_documented_statuses(proxy: Proxy, fault: str, status: int) -> None:
    proxy.simulator.set_provisioning_fault(fault)
    response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=LOGIN_FORM)
    assert response.status_code == status
    assert "error" in response.json()


async def test_provisioning_that_hangs_is_a_504(tuned_proxy: Callable[[Tuning], Awaitable[Proxy]]) -> None:
    proxy = await tuned_proxy(Tuning(provisioning_timeout=0.3))
    proxy.simulator.set_provisioning_fault("hang")
    response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=LOGIN_FORM)
    assert response.status_code == 504


async def test_mx_that_never_answers_the_login_is_a_504(proxy: Proxy) -> None:
    proxy.simulator.set_stall(True)
    proxy.service.sessions.options = _fast(proxy)
    response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=LOGIN_FORM)
    assert response.status_code == 504
    assert response.json() == {"error": "mx server timeout"}


def _fast(proxy: Proxy):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(proxy.service.sessions.options, timeout=0.3)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c"])
async def test_requests_without_a_valid_token_are_challenged(proxy: Proxy, token: str) -> None:
    response = await proxy.api.get("/auth", headers=proxy.bearer(token) if token else {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="MXProxy"')
    assert "error" in response.json()


async def test_a_tampered_token_is_refused(proxy: Proxy) -> None:
    token = await proxy.login()
    header, claims, signature = token.split(".")
    forged = (
        base64.urlsafe_b64encode(json.dumps({**_segments(token)[1], "sub": "peterh@xyzrd.com"}).encode())
        .rstrip(b"=")
        .decode()
    )
    response = await proxy.api.get("/auth", headers=proxy.bearer(f"{header}.{forged}.{signature}"))
    assert response.status_code == 401
    assert claims != forged


async def test_a_token_signed_by_an_unknown_key_is_refused(proxy: Proxy) -> None:
    await proxy.login()
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(time.time())
    forged = jwt.encode(
        {"sub": "dmitrys@xyzrd.com", "iat": now, "exp": now + 3600, "jti": "x", "iss": "mxproxy"},
        pem,
        algorithm="ES256",
        headers={"kid": "forged"},
    )
    response = await proxy.api.get("/auth", headers=proxy.bearer(forged))
    assert response.status_code == 401


async def test_logout_ends_the_pbx_session_and_voids_the_token(proxy: Proxy) -> None:
    token = await proxy.login()
    assert proxy.simulator.logged_in_users() == ["dmitrys"]
    response = await proxy.api.delete("/auth/logout", headers=proxy.bearer(token))
    assert response.status_code == 200
    assert response.json() == {"userLogout": "dmitrys@xyzrd.com"}
    assert (await proxy.api.get("/auth", headers=proxy.bearer(token))).status_code == 401
    assert (await proxy.admin.get("/connections")).json() == {"connections": []}
    assert (await proxy.admin.get("/users")).json() == {"users": {}}


async def test_delete_auth_is_logout_too(proxy: Proxy) -> None:
    token = await proxy.login()
    response = await proxy.api.delete("/auth", headers=proxy.bearer(token))
    assert response.json() == {"userLogout": "dmitrys@xyzrd.com"}


async def test_two_logins_share_one_pbx_connection(proxy: Proxy) -> None:
    first = await proxy.login()
    second = await proxy.login()
    assert first != second
    assert proxy.simulator.session_count == 1
    for token in (first, second):
        assert (await proxy.api.get("/auth", headers=proxy.bearer(token))).status_code == 200


async def test_repeated_failed_logins_are_slowed_down(proxy: Proxy) -> None:
    form = {**LOGIN_FORM, "password": "guess"}
    statuses = [
        (await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=form)).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    blocked = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=LOGIN_FORM)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
