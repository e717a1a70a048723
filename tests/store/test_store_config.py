"""`[store]` and `--db`: choosing SQLite or PostgreSQL, and the key PostgreSQL requires."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from mxproxy.config import ConfigError, StoreConfig, load_config

URL = "postgresql://mxproxy:S3cret-Pw@db.example:5432/mxproxy"
KEY_TEXT = base64.b64encode(bytes(range(32))).decode()


def load(tmp_path: Path, store: str) -> StoreConfig:
    path = tmp_path / "config.toml"
    path.write_text(f'[apps]\na = "b"\n[store]\n{store}\n', encoding="utf-8")
    return load_config(path).store


def error(tmp_path: Path, store: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, store)
    return str(caught.value)


def test_url_with_a_key_selects_postgresql(tmp_path: Path) -> None:
    store = load(tmp_path, f'url = "{URL}"\nkey = "{KEY_TEXT}"')
    assert store.url == URL
    assert store.database == "postgresql://mxproxy:***@db.example:5432/mxproxy"
    assert "S3cret-Pw" not in repr(store)


def test_url_with_a_key_file_and_a_pool_size(tmp_path: Path) -> None:
    store = load(tmp_path, f'url = "{URL}"\nkeyFile = "/etc/mxproxy/store.key"\npoolSize = 4')
    assert store.key_path == Path("/etc/mxproxy/store.key")
    assert store.pool_size == 4
    assert load(tmp_path, "").pool_size == 10


def test_url_without_a_key_is_refused_without_showing_the_url(tmp_path: Path) -> None:
    message = error(tmp_path, f'url = "{URL}"')
    assert message.startswith("store: a PostgreSQL database needs key or keyFile")
    assert "S3cret-Pw" not in message


@pytest.mark.parametrize(
    ("store", "expected"),
    [
        (f'path = "x.db"\nurl = "{URL}"\nkey = "{KEY_TEXT}"', "store: give either path or url, not both"),
        ('url = "mysql://u:p@h/db"', "store.url: must be a postgresql:// URL"),
        ("url = 5", "store.url: must be a string"),
        ("poolSize = 0", "store.poolSize: must be a whole number from 1 to 1000"),
        ("poolSize = true", "store.poolSize: must be a whole number from 1 to 1000"),
        ('poolSize = "10"', "store.poolSize: must be a whole number from 1 to 1000"),
    ],
)
def test_bad_urls(tmp_path: Path, store: str, expected: str) -> None:
    message = error(tmp_path, store)
    assert message == expected
    assert "p@h" not in message


def test_without_a_url_the_file_stays(tmp_path: Path) -> None:
    store = load(tmp_path, 'path = "data/x.db"')
    assert store.url is None
    assert store.path == tmp_path.resolve() / "data" / "x.db"
    assert store.database == str(store.path)
    assert store.key_path == store.path.with_name("x.db.key")


def test_db_flag_picks_the_engine_by_its_form(tmp_path: Path) -> None:
    base = StoreConfig(path=tmp_path / "a.db", key=bytes(32))
    assert base.with_database("postgres://u:p@h/db").url == "postgres://u:p@h/db"
    on_file = base.with_database("postgres://u:p@h/db").with_database("/srv/b.db")
    assert (on_file.url, on_file.path) == (None, Path("/srv/b.db"))
    with pytest.raises(ConfigError, match="needs key or keyFile"):
        StoreConfig(path=tmp_path / "a.db").with_database(URL)
