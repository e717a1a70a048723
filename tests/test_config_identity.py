"""`[admin]`, `[http] trustedProxies` and `[jwt] refreshTTL`: parsed, defaulted, and refused
with one message naming the key."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from mxproxy.config import ConfigError, parse_config

HASH = "$2b$12$eImiTXuWVxfM37uY4JANjQ==eImiTXuWVxfM37uY4JANjQeImiTXu"


def _parse(**tables: Any) -> Any:
    return parse_config({"apps": {"a": "b"}, **tables}, config_dir=Path("/etc/mxproxy"))


def test_defaults() -> None:
    config = _parse()
    assert config.admin.users == {}
    assert config.admin.hosts == ()
    assert config.admin.debug_log_for_apps is False
    assert config.proxy_trust.networks == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    )
    assert config.jwt.refresh_ttl == 30 * 86400


def test_everything_set() -> None:
    config = _parse(
        admin={"users": {"ops": HASH}, "hosts": ["Admin.Example.net"], "debugLogForApps": True},
        http={"trustedProxies": ["10.0.0.0/8", "2001:db8::/32", "192.168.1.1"]},
        jwt={"refreshTTL": "24h"},
    )
    assert config.admin.users == {"ops": HASH}
    assert config.admin.hosts == ("admin.example.net",)
    assert config.admin.debug_log_for_apps is True
    assert [str(n) for n in config.proxy_trust.networks] == ["10.0.0.0/8", "2001:db8::/32", "192.168.1.1/32"]
    assert config.jwt.refresh_ttl == 86400
    assert HASH not in repr(config)


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({"admin": {"users": {"ops": "plain-password"}}}, "admin.users.ops: must be a bcrypt hash"),
        ({"admin": {"users": "ops"}}, "admin.users: must be a table"),
        ({"admin": {"hosts": "a.example"}}, "admin.hosts: must be a list"),
        ({"admin": {"debugLogForApps": "yes"}}, "admin.debugLogForApps: must be true or false"),
        ({"http": {"trustedProxies": "10.0.0.0/8"}}, "http.trustedProxies: must be a list"),
        ({"http": {"trustedProxies": ["10.0.0.0/33"]}}, "http.trustedProxies[0]: not a CIDR"),
        ({"jwt": {"refreshTTL": "0s"}}, "jwt.refreshTTL: must be positive"),
    ],
)
def test_bad_values_name_the_key(tables: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", "\\[").replace("]", "\\]")):
        _parse(**tables)


def test_a_plain_password_never_appears_in_the_message() -> None:
    with pytest.raises(ConfigError) as error:
        _parse(admin={"users": {"ops": "hunter2"}})
    assert "hunter2" not in str(error.value)
