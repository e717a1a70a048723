"""`AccountKey`: one value per MX account whatever login reached it, with a stable text form."""

from __future__ import annotations

from mxproxy.provisioning import MXAccount
from mxproxy.sessions.account_key import AccountKey
from mxproxy.store import StoredUser


def test_an_account_and_its_stored_user_have_one_key() -> None:
    account = MXAccount(login="dmitrys", password="pw", host="MX.example.net", port=7778, sn="1")
    user = StoredUser(login="dmitrys@xyzrd.com", mx_login="dmitrys", mx_host="mx.example.net",
                      mx_port=7778, mx_password="other", created_at=0.0)  # fmt: skip
    assert AccountKey.of_account(account) == AccountKey.of_user(user)
    assert hash(AccountKey.of_account(account)) == hash(AccountKey.of_user(user))


def test_the_text_form_is_stable() -> None:
    assert str(AccountKey("mx.example.net", 7778, "dmitrys")) == "dmitrys@mx.example.net:7778"
    assert str(AccountKey("2001:db8::1", 7778, "dmitrys")) == "dmitrys@[2001:db8::1]:7778"


def test_server_port_and_account_name_all_count() -> None:
    base = AccountKey("mx", 7778, "a")
    assert base != AccountKey("mx", 7779, "a")
    assert base != AccountKey("mx2", 7778, "a")
    assert base != AccountKey("mx", 7778, "b")
