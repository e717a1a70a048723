"""Login, logout and the rules before login, over real TLS."""

from __future__ import annotations

import asyncio

import pytest

from mxproxy.sim import Dataset, Simulator

from .conftest import Connect
from .rawclient import RawClient, hashed, login_xml


async def test_hashed_login_answers_the_users_identity(connect: Connect) -> None:
    client = await connect(None)
    answer = await client.login("peterh", "981211")
    assert answer.name == "loginResponce"
    assert dict(answer.element.attrib) == {
        "Code": "0",
        "sn": "63022",
        "apiversion": "11",
        "ext": "3044",
        "userId": "43884851428118509",
        "softPhonePwd": "EqNe45DYvZH2va1gesL7AA1ldtP04j4a",
    }
    assert answer.element.text == "Login OK"


async def test_wrong_password_is_login_failed_code_2_and_the_connection_stays(connect: Connect) -> None:
    client = await connect(None)
    refused = await client.login("dmitrys", "wrong")
    assert refused.name == "loginFailed"
    assert refused.element.get("Code") == "2"
    assert refused.element.get("sn") == "63022"
    assert refused.element.get("apiversion") == "11"
    accepted = await client.login("dmitrys", "78561")
    assert accepted.element.get("userId") == "43884851147406145"


async def test_unknown_user_is_refused(connect: Connect) -> None:
    client = await connect(None)
    assert (await client.login("nobody", "78561")).name == "loginFailed"


async def test_plain_password_is_accepted(connect: Connect) -> None:
    client = await connect(None)
    answer = await client.login("dmitrys", "78561", plain=True)
    assert answer.element.get("ext") == "3095"


async def test_hashed_password_needs_its_trailing_newline(connect: Connect) -> None:
    client = await connect(None)
    answer = await client.request(login_xml("dmitrys", hashed("78561").removesuffix("&#xA;")))
    assert answer.name == "loginFailed"


async def test_plain_only_account_refuses_the_hash_then_accepts_the_retry(connect: Connect) -> None:
    client = await connect(None)
    refused = await client.login("plainonly", "plain-secret")
    assert (refused.name, refused.element.get("Code")) == ("loginFailed", "2")
    accepted = await client.login("plainonly", "plain-secret", plain=True)
    assert accepted.name == "loginResponce"
    assert accepted.element.get("ext") == "3090"


async def test_commands_before_login_are_refused(connect: Connect) -> None:
    client = await connect(None)
    answer = await client.request("<GetServiceList/>")
    assert answer.name == "CSTAErrorCode"
    assert answer.element.findtext("operation") == "notLoggedIn"


async def test_generated_user_logs_in() -> None:
    async with Simulator(Dataset.generated(users=3)) as sim:
        client = await RawClient.connect(sim)
        try:
            answer = await client.login("user00003", "pw00003")
            assert answer.element.get("ext") == "100003"
            assert answer.element.get("userId") == "43884860000000003"
        finally:
            await client.close()


async def test_logout_closes_the_session(simulator: Simulator, connect: Connect) -> None:
    client = await connect()
    assert simulator.logged_in_users() == ["dmitrys"]
    await client.send("<logout/>")
    await client.closed_by_peer()
    assert simulator.logged_in_users() == []
    assert simulator.session_count == 0


async def test_several_sessions_of_one_user_are_counted(simulator: Simulator, connect: Connect) -> None:
    await connect()
    await connect()
    await connect("peterh", "981211")
    assert simulator.session_count == 3
    assert simulator.logged_in_users() == ["dmitrys", "peterh"]


async def test_set_password_applies_to_new_logins_only(simulator: Simulator, connect: Connect) -> None:
    live = await connect()
    simulator.set_password("dmitrys", "changed-elsewhere")
    client = await connect(None)
    assert (await client.login("dmitrys", "78561")).name == "loginFailed"
    assert (await client.login("dmitrys", "changed-elsewhere")).name == "loginResponce"
    assert (await live.request("<GetServiceList/>")).name == "GetServiceListResponse"


async def test_wait_for_sessions_and_users(simulator: Simulator) -> None:
    waiting = asyncio.ensure_future(simulator.wait_for_users(["dmitrys"], timeout=5))
    client = await RawClient.connect(simulator)
    await simulator.wait_for_sessions(1, timeout=5)
    assert not waiting.done()
    await client.login("dmitrys", "78561")
    await waiting
    await client.send("<logout/>")
    await simulator.wait_for_sessions(0, timeout=5)
    assert simulator.logged_in_users() == []
    with pytest.raises(TimeoutError):
        await simulator.wait_for_sessions(3, timeout=0.05)
