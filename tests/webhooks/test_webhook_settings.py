"""`[[webhooks]]` tables: accepted forms and one line naming the key for each bad one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mxproxy.config import ConfigError, parse_config

BASE: dict[str, Any] = {"apps": {"client": "secret"}}


def table(**options: Any) -> dict[str, Any]:
    return {"url": "http://x/h", "secret": "s", **options}


def parse(*tables: dict[str, Any]) -> Any:
    return parse_config({**BASE, "webhooks": list(tables)}, config_dir=Path("/tmp")).webhooks


def test_defaults_and_options() -> None:
    plain, filtered = parse(
        {"url": "https://crm.example.com/hook", "secret": "s1"},
        {
            "url": "http://127.0.0.1:8080/h",
            "secret": "s2",
            "events": ["Delivered", "MailIncoming"],
            "users": ["alice"],
            "concurrency": 2,
            "timeout": "3s",
            "maxRetryTime": "10m",
            "queueSize": 50,
        },
    )
    assert (plain.events, plain.users, plain.max_retry_time, plain.concurrency) == (None, None, 3600.0, 4)
    assert plain.wants("Failed", "anyone")
    assert filtered.events == {"Delivered", "MailIncoming"}
    assert (filtered.timeout, filtered.max_retry_time, filtered.queue_size) == (3.0, 600.0, 50)
    assert filtered.wants("Delivered", "alice")
    assert not filtered.wants("Delivered", "bob")
    assert not filtered.wants("Established", "alice")


def test_no_webhooks_is_fine() -> None:
    assert parse_config(BASE, config_dir=Path("/tmp")).webhooks == ()


def test_the_secret_is_not_in_the_repr() -> None:
    (hook,) = parse({"url": "https://x.example/h", "secret": "hunter2-secret"})
    assert "hunter2-secret" not in repr(hook)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"secret": "s"}, "webhooks[0].url: must be an http:// or https:// URL"),
        ({"url": "ftp://x/h", "secret": "s"}, "webhooks[0].url: must be an http:// or https:// URL"),
        ({"url": "https:///h", "secret": "s"}, "webhooks[0].url: must be an http:// or https:// URL"),
        ({"url": "http://x:99999/h", "secret": "s"}, "webhooks[0].url: bad port"),
        ({"url": "http://x/h"}, "webhooks[0].secret: must be a non-empty string"),
        ({"url": "http://x/h", "secret": ""}, "webhooks[0].secret: must be a non-empty string"),
        (table(events=[]), "webhooks[0].events: must be a non-empty list"),
        (table(events=["Ringing"]), 'webhooks[0].events: unknown event type "Ringing"'),
        (table(users="alice"), "webhooks[0].users: must be a non-empty list"),
        (table(timeout=5), "webhooks[0].timeout: must be a positive duration"),
        (table(maxRetryTime="-1h"), "webhooks[0].maxRetryTime: must be a positive"),
        (table(concurrency=0), "webhooks[0].concurrency: must be a whole number"),
        (table(queueSize=True), "webhooks[0].queueSize: must be a whole number"),
        (table(retries=3), "webhooks.retries: unknown key"),
    ],
)
def test_bad_tables_name_the_key(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(bad)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_two_endpoints_with_one_url_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^webhooks\[1\]\.url: the same URL"):
        parse({"url": "http://x/h", "secret": "a"}, {"url": "http://x/h", "secret": "b"})


def test_not_an_array_of_tables() -> None:
    with pytest.raises(ConfigError, match=r"^webhooks: must be an array of tables"):
        parse_config({**BASE, "webhooks": {"url": "http://x/h"}}, config_dir=Path("/tmp"))


def test_check_config_exits_2_with_one_line_without_the_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mxproxy import checkconfig

    path = tmp_path / "config.toml"
    path.write_text(
        '[apps]\nclient = "x"\n\n[[webhooks]]\nurl = "https://crm.example.com/h"\n'
        'secret = "hunter2-secret"\nevents = ["Ringing"]\n'
    )
    assert checkconfig.main(["--config", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith('mxproxy: configuration error: webhooks[0].events: unknown event type "Ringing"')
    assert error.count("\n") == 1
    assert "hunter2-secret" not in error
