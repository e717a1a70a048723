"""Device logins end to end (API.md § Authentication, sessions and devices): revocation that
cannot be revived, refresh tokens with rotation and reuse detection, per-device sign-out, one
PBX connection per MX account, and throttling that spares the innocent."""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mxproxy.config import ProxyTrust, StoreConfig
from mxproxy.sim import Simulator

from .harness import APP_BASIC, Proxy, proxy_config

LOGIN = "dmitrys@xyzrd.com"
PASSWORD = "78561"
OTHER_APP_BASIC = "Basic " + base64.b64encode(b"other-app:other-secret").decode()


async def _grant(proxy: Proxy, headers: dict[str, str] | None = None, **form: str) -> httpx.Response:
    return await proxy.api.post("/auth", headers={"Authorization": APP_BASIC, **(headers or {})}, data=form)


async def _password_login(proxy: Proxy, **headers: str) -> dict[str, Any]:
    response = await _grant(proxy, headers, username=LOGIN, password=PASSWORD, grant_type="password")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _refresh(proxy: Proxy, token: str, basic: str = APP_BASIC) -> httpx.Response:
    return await proxy.api.post(
        "/auth",
        headers={"Authorization": basic},
        data={"grant_type": "refresh_token", "refresh_token": token},
    )


async def _status(proxy: Proxy, access_token: str) -> int:
    return (await proxy.api.get("/auth", headers=proxy.bearer(access_token))).status_code


def _iat(token: str) -> int:
    claims = token.split(".")[1]
    value: int = orjson.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["iat"]
    return value


async def test_tokens_from_before_a_logout_stay_void_over_same_second_rounds(proxy: Proxy) -> None:
    # Rounds go on until three logouts were followed by a login within the same second (the
    # case a whole-second comparison revives); no sleeping, so most rounds are such rounds.
    voided: list[str] = []
    same_second = 0
    token = await proxy.login()
    while same_second < 3:
        assert len(voided) < 50
        assert await _status(proxy, token) == 200
        response = await proxy.api.delete("/auth/logout", headers=proxy.bearer(token))
        assert response.json() == {"userLogout": LOGIN}
        voided.append(token)
        token = await proxy.login()
        same_second += _iat(token) == _iat(voided[-1])
        assert [await _status(proxy, old) for old in voided] == [401] * len(voided)
    assert await _status(proxy, token) == 200


async def test_password_and_azure_grants_answer_a_refresh_token(proxy: Proxy) -> None:
    body = await _password_login(proxy)
    assert set(body) == {"token_type", "access_token", "expires_in", "refresh_token"}
    azure = await proxy.api.post("/auth", headers={"Authorization": "Bearer azure-peterh"})
    assert azure.status_code == 200
    assert azure.json()["refresh_token"] != body["refresh_token"]


async def test_a_refresh_rotates_and_a_reused_token_revokes_the_device(proxy: Proxy) -> None:
    first = await _password_login(proxy)
    rotated = await _refresh(proxy, first["refresh_token"])
    assert rotated.status_code == 200
    assert rotated.headers["cache-control"] == "no-store"
    second = rotated.json()
    assert second["token_type"] == "Bearer"
    assert second["expires_in"] == 3600
    assert second["refresh_token"] != first["refresh_token"]
    assert await _status(proxy, second["access_token"]) == 200

    reused = await _refresh(proxy, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json() == {"error": "invalid_grant"}
    # The whole device login is gone: its newest refresh and access tokens too.
    assert (await _refresh(proxy, second["refresh_token"])).json() == {"error": "invalid_grant"}
    assert await _status(proxy, second["access_token"]) == 401
    assert await _status(proxy, first["access_token"]) == 401
    # The PBX session stays for the other devices.
    assert proxy.simulator.session_count == 1


@pytest.mark.parametrize("token", ["", "nonsense", "a.b", "x" * 300])
async def test_unknown_refresh_tokens_are_invalid_grants(proxy: Proxy, token: str) -> None:
    other = await _password_login(proxy)
    response = await _refresh(proxy, token)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request" if not token else "invalid_grant"}
    assert await _status(proxy, other["access_token"]) == 200


async def test_a_refresh_token_belongs_to_its_app(tmp_path: Path, simulator: Simulator) -> None:
    config = proxy_config(
        tmp_path,
        simulator,
        apps={"client7664": "Mmx0OlWEDIDhPGgGpLQFxBwpCSPp9IIY", "other-app": "other-secret"},
    )
    proxy = Proxy(config, simulator)
    await proxy.start()
    try:
        body = await _password_login(proxy)
        refused = await _refresh(proxy, body["refresh_token"], OTHER_APP_BASIC)
        assert refused.json() == {"error": "invalid_grant"}
        assert (await _refresh(proxy, body["refresh_token"])).status_code == 200
    finally:
        await proxy.stop()


async def test_a_refresh_works_after_a_restart_without_the_password(proxy: Proxy) -> None:
    body = await _password_login(proxy)
    await proxy.restart()
    assert await _status(proxy, body["access_token"]) == 200
    rotated = await _refresh(proxy, body["refresh_token"])
    assert rotated.status_code == 200
    assert await _status(proxy, rotated.json()["access_token"]) == 200


async def test_refresh_tokens_die_with_the_logout(proxy: Proxy) -> None:
    body = await _password_login(proxy)
    other = await _password_login(proxy)
    await proxy.api.delete("/auth/logout", headers=proxy.bearer(body["access_token"]))
    for device in (body, other):
        assert (await _refresh(proxy, device["refresh_token"])).json() == {"error": "invalid_grant"}
    assert await proxy.service.store.grants(0) == []


async def test_refresh_tokens_die_when_the_pbx_refuses_the_stored_password(proxy: Proxy) -> None:
    body = await _password_login(proxy)
    ended = asyncio.get_running_loop().create_future()
    proxy.service.sessions.end_listeners.append(lambda login, reason: ended.set_result(reason))
    proxy.simulator.set_password("dmitrys", "changed-elsewhere")
    proxy.simulator.drop_all()
    assert "refused" in await asyncio.wait_for(ended, 10)
    assert (await _refresh(proxy, body["refresh_token"])).json() == {"error": "invalid_grant"}


async def test_revoking_one_device_leaves_the_other_and_the_pbx_session(proxy: Proxy) -> None:
    phone = await _password_login(proxy)
    tablet = await _password_login(proxy)
    response = await proxy.api.post(
        "/auth/revoke", headers={"Authorization": APP_BASIC}, data={"token": phone["refresh_token"]}
    )
    assert response.status_code == 200
    assert await _status(proxy, phone["access_token"]) == 401
    assert (await _refresh(proxy, phone["refresh_token"])).json() == {"error": "invalid_grant"}
    assert await _status(proxy, tablet["access_token"]) == 200
    assert proxy.simulator.session_count == 1
    # An access token names its device login as well.
    await proxy.api.post(
        "/auth/revoke", headers={"Authorization": APP_BASIC}, data={"token": tablet["access_token"]}
    )
    assert await _status(proxy, tablet["access_token"]) == 401
    assert proxy.simulator.session_count == 1


@pytest.mark.parametrize("token", ["unknown", "a.b", "eyJ.eyJ.sig"])
async def test_revoking_an_unknown_token_is_fine(proxy: Proxy, token: str) -> None:
    device = await _password_login(proxy)
    response = await proxy.api.post(
        "/auth/revoke", headers={"Authorization": APP_BASIC}, data={"token": token}
    )
    assert response.status_code == 200
    assert await _status(proxy, device["access_token"]) == 200


async def test_revoke_needs_the_apps_credentials(proxy: Proxy) -> None:
    device = await _password_login(proxy)
    response = await proxy.api.post("/auth/revoke", data={"token": device["refresh_token"]})
    assert response.status_code == 401
    assert await _status(proxy, device["access_token"]) == 200


async def test_the_devices_of_an_account_are_listed_and_one_is_signed_out(proxy: Proxy) -> None:
    phone = await _password_login(proxy, **{"X-Forwarded-For": "198.51.100.7"})
    tablet = await _password_login(proxy)
    listing = await proxy.api.get("/auth/sessions", headers=proxy.bearer(tablet["access_token"]))
    assert listing.status_code == 200
    sessions = listing.json()["sessions"]
    assert [s["address"] for s in sessions] == ["198.51.100.7", "127.0.0.1"]
    assert [s["current"] for s in sessions] == [False, True]
    assert {s["client_id"] for s in sessions} == {"client7664"}
    assert all(s["issued"] <= s["last_used"] for s in sessions)
    assert {s["login"] for s in sessions} == {LOGIN}
    gone = await proxy.api.delete(
        f"/auth/sessions/{sessions[0]['id']}", headers=proxy.bearer(tablet["access_token"])
    )
    assert gone.status_code == 204
    assert await _status(proxy, phone["access_token"]) == 401
    assert await _status(proxy, tablet["access_token"]) == 200
    again = await proxy.api.delete(
        f"/auth/sessions/{sessions[0]['id']}", headers=proxy.bearer(tablet["access_token"])
    )
    assert again.status_code == 404
    assert again.json() == {"error": "no such session"}


async def test_another_accounts_device_cannot_be_signed_out(proxy: Proxy) -> None:
    mine = await _password_login(proxy)
    theirs = (await proxy.api.post("/auth", headers={"Authorization": "Bearer azure-peterh"})).json()
    listing = await proxy.api.get("/auth/sessions", headers=proxy.bearer(theirs["access_token"]))
    (their_id,) = [s["id"] for s in listing.json()["sessions"]]
    mine_listed = await proxy.api.get("/auth/sessions", headers=proxy.bearer(mine["access_token"]))
    assert their_id not in [s["id"] for s in mine_listed.json()["sessions"]]
    response = await proxy.api.delete(
        f"/auth/sessions/{their_id}", headers=proxy.bearer(mine["access_token"])
    )
    assert response.status_code == 404
    assert await _status(proxy, theirs["access_token"]) == 200


async def test_password_and_azure_logins_share_one_pbx_connection_and_one_logout(proxy: Proxy) -> None:
    password = await _password_login(proxy)
    azure = await proxy.api.post("/auth", headers={"Authorization": "Bearer azure-dmitrys"})
    assert azure.status_code == 200
    azure_token = azure.json()["access_token"]
    assert proxy.simulator.session_count == 1
    assert proxy.simulator.logged_in_users() == ["dmitrys"]
    assert await _status(proxy, azure_token) == 200
    listing = await proxy.api.get("/auth/sessions", headers=proxy.bearer(azure_token))
    assert [s["login"] for s in listing.json()["sessions"]] == [LOGIN, "dmitrys"]

    response = await proxy.api.delete("/auth/logout", headers=proxy.bearer(azure_token))
    assert response.json() == {"userLogout": "dmitrys"}
    await proxy.simulator.wait_for_sessions(0)
    assert await _status(proxy, password["access_token"]) == 401
    assert await _status(proxy, azure_token) == 401
    assert (await _refresh(proxy, password["refresh_token"])).json() == {"error": "invalid_grant"}


async def test_the_innocent_user_behind_a_throttled_address_logs_in(
    proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    behind_nat = {"X-Forwarded-For": "203.0.113.9"}
    caplog.set_level(logging.WARNING, logger="mxproxy.auth")
    statuses = [
        (await _grant(proxy, behind_nat, username=LOGIN, password="guess", grant_type="password")).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    innocent = await _grant(
        proxy, behind_nat, username="peterh@xyzrd.com", password="981211", grant_type="password"
    )
    assert innocent.status_code == 200
    again = await _grant(proxy, behind_nat, username=LOGIN, password=PASSWORD, grant_type="password")
    assert again.status_code == 429
    failures = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failures) == 5
    assert all(LOGIN in line and "203.0.113.9" in line and "guess" not in line for line in failures)
    throttled = [r.getMessage() for r in caplog.records if "login throttled" in r.getMessage()]
    assert throttled == [f"login throttled for {LOGIN} from 203.0.113.9"] * 2


async def test_forwarded_for_counts_only_from_trusted_proxies(tmp_path: Path, simulator: Simulator) -> None:
    proxy = Proxy(proxy_config(tmp_path, simulator, proxy_trust=ProxyTrust(networks=())), simulator)
    await proxy.start()
    try:
        device = await _password_login(proxy, **{"X-Forwarded-For": "198.51.100.7"})
        listing = await proxy.api.get("/auth/sessions", headers=proxy.bearer(device["access_token"]))
        assert [s["address"] for s in listing.json()["sessions"]] == ["127.0.0.1"]
    finally:
        await proxy.stop()


async def test_the_openapi_document_describes_the_device_calls(proxy: Proxy) -> None:
    document = (await proxy.api.get("/openapi.json")).json()
    paths = document["paths"]
    assert paths["/auth/revoke"]["post"]["security"] == [{"appBasic": []}]
    assert "get" in paths["/auth/sessions"]
    assert "404" in paths["/auth/sessions/{id}"]["delete"]["responses"]
    assert "400" in paths["/auth"]["post"]["responses"]
    form = paths["/auth"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["properties"]["grant_type"]["enum"] == ["password", "refresh_token"]
    assert "refresh_token" in document["components"]["schemas"]["TokenAnswer"]["properties"]
    session = document["components"]["schemas"]["DeviceSession"]["properties"]
    assert {"id", "client_id", "issued", "last_used", "address"} <= set(session)


async def test_the_admin_logout_of_a_joined_login_ends_the_shared_session(proxy: Proxy) -> None:
    password = await _password_login(proxy)
    azure = (await proxy.api.post("/auth", headers={"Authorization": "Bearer azure-dmitrys"})).json()
    response = await proxy.admin.post("/users", data={"login": "dmitrys"})
    assert response.json() == {"userLogout": "dmitrys"}
    await proxy.simulator.wait_for_sessions(0)
    assert await _status(proxy, password["access_token"]) == 401
    assert await _status(proxy, azure["access_token"]) == 401


async def test_two_stored_users_of_one_account_restore_one_pbx_connection(proxy: Proxy) -> None:
    # A store written before sessions were shared may name one MX account twice.
    await _password_login(proxy)
    (owner,) = await proxy.service.store.users()
    await proxy.service.store.save_user(replace(owner, login="dmitrys"))
    await proxy.restart()
    await proxy.simulator.wait_for_sessions(1)
    assert len(list(proxy.service.sessions.sessions())) == 1
    assert proxy.service.sessions.get("dmitrys") is proxy.service.sessions.get(LOGIN)


async def test_refresh_and_revocation_survive_a_restart_on_postgresql(
    tmp_path: Path, simulator: Simulator, postgres_url: str
) -> None:
    store = StoreConfig(url=postgres_url, key=bytes(range(32)))
    proxy = Proxy(proxy_config(tmp_path, simulator, store=store), simulator)
    await proxy.start()
    try:
        kept = await _password_login(proxy)
        revoked = await _password_login(proxy)
        await proxy.api.post(
            "/auth/revoke", headers={"Authorization": APP_BASIC}, data={"token": revoked["refresh_token"]}
        )
        await proxy.restart()
        assert await _status(proxy, revoked["access_token"]) == 401
        assert (await _refresh(proxy, revoked["refresh_token"])).json() == {"error": "invalid_grant"}
        rotated = await _refresh(proxy, kept["refresh_token"])
        assert rotated.status_code == 200
        assert await _status(proxy, rotated.json()["access_token"]) == 200
    finally:
        await proxy.stop()
