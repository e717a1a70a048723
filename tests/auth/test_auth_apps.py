"""App credentials: HTTP Basic parsing and the constant-time secret check."""

from __future__ import annotations

import base64

import pytest

from mxproxy.auth.apps import AppRegistry, parse_basic


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_seed_example_header() -> None:
    header = "Basic Y2xpZW50NzY2NDpNbXgwT2xXRURJRGhQR2dHcExRRnhCd3BDU1BwOUlJWQ=="
    assert parse_basic(header) == ("client7664", "Mmx0OlWEDIDhPGgGpLQFxBwpCSPp9IIY")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic("id:secret"), ("id", "secret")),
        ("basic " + base64.b64encode(b"id:secret").decode(), ("id", "secret")),
        ("BASIC   " + base64.b64encode(b"id:secret").decode() + "  ", ("id", "secret")),
        (basic("id:se:cr:et"), ("id", "se:cr:et")),
        (basic("id:"), ("id", "")),
        (basic("идентификатор:пароль"), ("идентификатор", "пароль")),
        ("Basic " + base64.b64encode(b"ab:c").decode().rstrip("="), ("ab", "c")),
    ],
)
def test_valid_headers(header: str, expected: tuple[str, str]) -> None:
    assert parse_basic(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic",
        "Basic ",
        "Bearer eyJhbGciOiJFUzI1NiJ9",
        basic("no-colon"),
        basic(":secret-without-id"),
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "BasicaWQ6c2VjcmV0",
        "Basic " + "A" * 5000,
    ],
)
def test_malformed_headers(header: str) -> None:
    assert parse_basic(header) is None


def test_check() -> None:
    registry = AppRegistry({"client1": "client-secret", "client2": "other"})
    assert registry.check("client1", "client-secret") is True
    assert registry.check("client2", "other") is True
    assert registry.check("client1", "other") is False
    assert registry.check("client1", "client-secret ") is False
    assert registry.check("client1", "") is False
    assert registry.check("unknown", "client-secret") is False
    assert registry.check("", "") is False


def test_non_ascii_secrets_are_compared_not_rejected() -> None:
    registry = AppRegistry({"app": "пароль"})
    assert registry.check("app", "пароль") is True
    assert registry.check("app", "пароль!") is False
    assert registry.check("app", "\udcff") is False


def test_ids_are_sorted_and_secrets_never_shown() -> None:
    registry = AppRegistry({"zeta": "secret-z", "alpha": "secret-a"})
    assert registry.ids() == ["alpha", "zeta"]
    assert "secret" not in repr(registry)


def test_empty_registry_refuses_everything() -> None:
    registry = AppRegistry({})
    assert registry.ids() == []
    assert registry.check("client1", "client-secret") is False
