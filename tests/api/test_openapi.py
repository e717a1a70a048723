"""The OpenAPI 3.1 document at `/openapi.json`: valid, and describing what the proxy serves."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from .harness import Proxy


async def _spec(proxy: Proxy) -> dict[str, Any]:
    response = await proxy.api.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


async def test_the_document_is_valid_openapi_3_1(proxy: Proxy) -> None:
    spec = await _spec(proxy)
    assert spec["openapi"].startswith("3.1.")
    try:
        validate(spec)
    except OpenAPIValidationError as error:  # pragma: no cover - the message is the point
        raise AssertionError(f"invalid OpenAPI document: {error}") from None


async def test_the_document_lists_the_operations(proxy: Proxy) -> None:
    paths = (await _spec(proxy))["paths"]
    for path, method in [("/auth", "post"), ("/events", "get"), ("/healthz", "get"), ("/readyz", "get")]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} is not documented"
    # Only the API: neither the docs page nor the admin web.
    assert not any(path.startswith("/docs") for path in paths)
    assert "/metrics" not in paths


async def test_the_event_stream_is_documented_as_such(proxy: Proxy) -> None:
    operation = (await _spec(proxy))["paths"]["/events"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    parameters = {(parameter["in"], parameter["name"]) for parameter in operation["parameters"]}
    assert {("query", "access_token"), ("query", "lastEventId"), ("header", "Last-Event-ID")} <= parameters


async def test_the_document_says_which_credentials_each_call_takes(proxy: Proxy) -> None:
    document = (await proxy.api.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    paths = document["paths"]
    assert paths["/contacts"]["get"]["security"] == [{"bearer": []}]
    assert {"appBasic": []} in paths["/auth"]["post"]["security"]
    assert paths["/debug/log"]["get"]["security"] == [{"adminBasic": []}, {"appBasic": []}]
    assert paths["/auth/revoke"]["post"]["security"] == [{"appBasic": []}]
    assert paths["/healthz"]["get"]["security"] == []


async def test_every_answer_has_its_schema_and_errors_their_shape(proxy: Proxy) -> None:
    document = await _spec(proxy)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            responses = operation["responses"]
            assert "422" not in responses, label
            for status, response in responses.items():
                content = response.get("content", {})
                if status in ("200", "503") and "application/json" in content:
                    assert "$ref" in content["application/json"]["schema"], label
                if status.startswith("4") or (status.startswith("5") and path != "/readyz"):
                    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            if operation["security"] == [{"bearer": []}]:
                assert "401" in responses, label
    contacts = document["components"]["schemas"]["ContactsAnswer"]
    assert contacts["properties"]["contacts"]["items"] == {"$ref": "#/components/schemas/ContactOut"}
    assert set(document["paths"]["/calls/{id}"]["get"]["responses"]) >= {"200", "401", "404", "504"}
