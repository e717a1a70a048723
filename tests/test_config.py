"""The configuration file: 2.3 files load unchanged, new tables, and errors that name the key."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from mxproxy.config import (
    DEFAULT_PROVISIONING,
    Config,
    ConfigError,
    HttpLimits,
    JwtConfig,
    MXConfig,
    StoreConfig,
    load_config,
)

API_EXAMPLE = """\
provisioning = "https://config.connector73.net/config"   # default
logName = "/var/log/mxproxy.log"                          # optional; enables GET /debug/log
[apps]                                                    # required, non-empty
client1 = "client-secret"
[voip]
apnTTL = "3m50s"                                           # APNs client idle lifetime, default 10m
[voip.apn]
"certificate.p12" = "password"                             # path relative to the config file
[voip.fcm]
"app" = "server key"
[jwt]
tokenTTL = "1h"
signKeyTTL = "6h"
"""

SEED_EXAMPLE = """\
[apps]
client1 = "client-secret"
[voip]
apnTTL = "3m50s"
[voip.apn]
"certificate.p12" = "password"
[voip.fcm]
"app" = "AAAA0bHpCVQ:APA9...p7Yge"
"""

SECRET = "s3cr3t-value-never-shown"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mxproxy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> Config:
    return load_config(write(tmp_path, text))


def config_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text)
    return str(caught.value)


def test_api_example_loads_unchanged(tmp_path: Path) -> None:
    config = load_text(tmp_path, API_EXAMPLE)
    assert config.provisioning == "https://config.connector73.net/config"
    assert config.log_name == Path("/var/log/mxproxy.log")
    assert config.apps == {"client1": "client-secret"}
    assert config.voip == {
        "apnTTL": "3m50s",
        "apn": {"certificate.p12": "password"},
        "fcm": {"app": "server key"},
    }
    assert config.jwt == JwtConfig(token_ttl=3600.0, sign_key_ttl=21600.0)
    assert config.config_dir == tmp_path.resolve()


def test_seed_example_loads_with_defaults(tmp_path: Path) -> None:
    config = load_text(tmp_path, SEED_EXAMPLE)
    assert config.provisioning == DEFAULT_PROVISIONING
    assert config.log_name is None
    assert config.voip["fcm"] == {"app": "AAAA0bHpCVQ:APA9...p7Yge"}
    assert config.jwt == JwtConfig()
    assert config.mx == MXConfig()
    assert config.store.path == tmp_path.resolve() / "mxproxy.db"
    assert config.store.key is None
    assert config.store.key_path == tmp_path.resolve() / "mxproxy.db.key"


def test_defaults_are_the_documented_ones() -> None:
    assert JwtConfig() == JwtConfig(token_ttl=3600, sign_key_ttl=6 * 3600)
    mx = MXConfig()
    assert (mx.timeout, mx.connect_timeout, mx.call_log_idle) == (7.0, 7.0, 0.5)
    assert (mx.verify_tls, mx.ca_file, mx.reconnect_max) == (False, None, 60.0)


def test_jwt_durations_use_go_syntax(tmp_path: Path) -> None:
    config = load_text(tmp_path, '[apps]\na = "b"\n[jwt]\ntokenTTL = "1h30m"\nsignKeyTTL = "90s"\n')
    assert config.jwt == JwtConfig(token_ttl=5400.0, sign_key_ttl=90.0)


def test_mx_table(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        '[apps]\na = "b"\n[mx]\ntimeout = "2s"\nconnectTimeout = "3s"\ncallLogIdle = "250ms"\n'
        'verifyTLS = true\ncaFile = "certs/mx.pem"\nreconnectMax = "2m"\n',
    )
    assert config.mx == MXConfig(
        timeout=2.0,
        connect_timeout=3.0,
        call_log_idle=0.25,
        verify_tls=True,
        ca_file=tmp_path.resolve() / "certs" / "mx.pem",
        reconnect_max=120.0,
    )


def test_store_inline_key(tmp_path: Path) -> None:
    key = bytes(range(32))
    encoded = base64.b64encode(key).decode()
    config = load_text(
        tmp_path, f'[apps]\na = "b"\n[store]\npath = "/data/x.db"\nkey = "{encoded}"\n'
    )
    assert config.store.path == Path("/data/x.db")
    assert config.store.key == key
    assert encoded not in repr(config)


def test_store_key_file_is_relative_to_the_config(tmp_path: Path) -> None:
    config = load_text(tmp_path, '[apps]\na = "b"\n[store]\nkeyFile = "secret/store.key"\n')
    assert config.store.key is None
    assert config.store.key_path == tmp_path.resolve() / "secret" / "store.key"


def test_store_key_and_key_file_together_are_refused(tmp_path: Path) -> None:
    encoded = base64.b64encode(bytes(32)).decode()
    message = config_error(
        tmp_path, f'[apps]\na = "b"\n[store]\nkey = "{encoded}"\nkeyFile = "k"\n'
    )
    assert message.startswith("store:")
    assert encoded not in message


@pytest.mark.parametrize("key", [SECRET, base64.b64encode(b"short").decode(), ""])
def test_bad_store_key_is_named_but_not_shown(tmp_path: Path, key: str) -> None:
    message = config_error(tmp_path, f'[apps]\na = "b"\n[store]\nkey = "{key}"\n')
    assert message == "store.key: must be the base64 encoding of 32 bytes"


def test_invalid_duration_names_the_key(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[apps]\na = "b"\n[jwt]\ntokenTTL = "abc"\n')
    assert message == 'jwt.tokenTTL: invalid duration "abc"'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[jwt]\nsignKeyTTL = "-1h"\n', "jwt.signKeyTTL: must be positive"),
        ('[jwt]\ntokenTTL = "0"\n', "jwt.tokenTTL: must be positive"),
        ("[jwt]\ntokenTTL = 3600\n", "jwt.tokenTTL: must be a duration string"),
        ('[mx]\ntimeout = "7 seconds"\n', 'mx.timeout: invalid duration "7 seconds"'),
        ('[mx]\nverifyTLS = "yes"\n', "mx.verifyTLS: must be true or false"),
        ("[mx]\ncaFile = 1\n", "mx.caFile: must be a string"),
        ('jwt = "1h"\n', "jwt: must be a table"),
        ("voip = 3\n", "voip: must be a table"),
        ("mx = []\n", "mx: must be a table"),
        ("logName = 5\n", "logName: must be a string"),
        ('provisioning = "ftp://x"\n', "provisioning: must be an http:// or https:// URL"),
        ('[store]\npath = ""\n', "store.path: must not be empty"),
    ],
)
def test_wrong_values_name_the_key(tmp_path: Path, body: str, expected: str) -> None:
    message = config_error(tmp_path, body + '[apps]\na = "b"\n')
    assert message.startswith(expected)


@pytest.mark.parametrize("text", ["", 'logName = "/x"\n', "[apps]\n"])
def test_apps_are_required(tmp_path: Path, text: str) -> None:
    assert config_error(tmp_path, text) == "apps: required and must not be empty"


@pytest.mark.parametrize("value", ["1", "true", "[]", '""', "{ x = 1 }"])
def test_app_secret_must_be_a_non_empty_string(tmp_path: Path, value: str) -> None:
    message = config_error(tmp_path, f'[apps]\nok = "{SECRET}"\nclient7 = {value}\n')
    assert message == "apps.client7: secret must be a non-empty string"


def test_apps_not_a_table(tmp_path: Path) -> None:
    assert config_error(tmp_path, f'apps = "{SECRET}"\n') == "apps: must be a table ([apps])"


def test_toml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, f'[apps]\nclient1 = "{SECRET}"\nbroken line\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 3" in message
    assert SECRET not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[apps]\na = "\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            f'provisionning = "{SECRET}"\n[apps]\na = "b"\n',
            "provisionning: unknown key (did you mean provisioning?)",
        ),
        ('[apps]\na = "b"\n[mx]\ntimout = "7s"\n', "mx.timout: unknown key (did you mean mx.timeout?)"),
        (f'[apps]\na = "b"\n[jwt]\nissuer = "{SECRET}"\n', "jwt.issuer: unknown key"),
        ('[apps]\na = "b"\n[store]\ncompress = true\n', "store.compress: unknown key"),
        ('[apps]\na = "b"\n[voip]\nunknownToUs = "x"\n', "voip.unknownToUs: unknown key"),
        (
            '[apps]\na = "b"\n[http]\nmaxConnection = 5\n',
            "http.maxConnection: unknown key (did you mean http.maxConnections?)",
        ),
        ('listen = ":8080"\n[apps]\na = "b"\n', "listen: unknown key"),
    ],
)
def test_unknown_keys_are_errors_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text)
    assert str(caught.value) == named
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('[voip]\napnTTL = "10x"\n', "voip.apnTTL: invalid duration"),
        ("[voip]\napnTTL = 10\n", "voip.apnTTL: must be a duration"),
        ('[voip]\nvoipAllEvents = "yes"\n', "voip.voipAllEvents: must be true or false"),
        ('[voip]\napn = "cert.p12"\n', "voip.apn: must be a table"),
        ("[http]\nmaxConnections = 0\n", "http.maxConnections: must be a whole number"),
        ('[http]\nheaderTimeout = "soon"\n', "http.headerTimeout: invalid duration"),
    ],
)
def test_bad_values_are_errors_naming_the_key(tmp_path: Path, body: str, named: str) -> None:
    with pytest.raises(ConfigError, match=f"^{named}"):
        load_text(tmp_path, '[apps]\na = "b"\n' + body)


def test_a_section_declares_its_own_keys(tmp_path: Path) -> None:
    from mxproxy.config import declare_keys, parse_config

    text = '[apps]\na = "b"\n[[hooks_for_test]]\nurl = "x"\n[[hooks_for_test]]\nurll = "y"\n'
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"^hooks_for_test: unknown key"):
        load_config(path)
    declare_keys("hooks_for_test", {"url"})
    with pytest.raises(ConfigError, match=r"^hooks_for_test\.urll: unknown key"):
        load_config(path)
    assert parse_config({"apps": {"a": "b"}, "hooks_for_test": [{"url": "x"}]}, config_dir=tmp_path)


def test_http_limits(tmp_path: Path) -> None:
    text = '[apps]\na = "b"\n[http]\nheaderTimeout = "2s"\nkeepAliveTimeout = "500ms"\nmaxConnections = 10\n'
    limits = load_text(tmp_path, text).http_limits
    assert (limits.header_timeout, limits.keep_alive_timeout, limits.max_connections) == (2.0, 0.5, 10)
    assert limits.body_timeout == HttpLimits().body_timeout


def test_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    config = load_text(tmp_path, f'[apps]\nclient1 = "{SECRET}"\n[voip.fcm]\napp = "{SECRET}"\n')
    assert SECRET not in repr(config)
    assert "client1" not in repr(config)


def test_relative_log_name_resolves_against_the_config(tmp_path: Path) -> None:
    config = load_text(tmp_path, 'logName = "logs/proxy.log"\n[apps]\na = "b"\n')
    assert config.log_name == tmp_path.resolve() / "logs" / "proxy.log"
    assert config.resolve("certificate.p12") == tmp_path.resolve() / "certificate.p12"
    assert config.resolve("/abs/cert.p12") == Path("/abs/cert.p12")


def test_default_config_made_in_code(tmp_path: Path) -> None:
    config = Config.default(apps={"client1": "secret"}, config_dir=tmp_path)
    assert config.apps == {"client1": "secret"}
    assert config.provisioning == DEFAULT_PROVISIONING
    assert config.jwt == JwtConfig()
    assert config.mx == MXConfig()
    assert config.store == StoreConfig(path=tmp_path.resolve() / "mxproxy.db")
    assert config.voip == {}
    custom = Config.default(jwt=JwtConfig(token_ttl=60), store=StoreConfig(path=tmp_path / "a.db"))
    assert custom.jwt.token_ttl == 60
    assert custom.store.key_path == tmp_path / "a.db.key"
    assert custom.apps == {}


def test_config_is_frozen(tmp_path: Path) -> None:
    config = Config.default(config_dir=tmp_path)
    with pytest.raises(AttributeError):
        config.provisioning = "https://elsewhere"  # type: ignore[misc]
