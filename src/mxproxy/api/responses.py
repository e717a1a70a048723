"""JSON responses as 2.3 clients expect them: orjson-encoded (or a pydantic model's own JSON),
`application/json; charset=utf-8`, and errors as `{"error": "…"}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response

JSON_TYPE = "application/json; charset=utf-8"


def json_response(content: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status, headers, media_type=JSON_TYPE)


def model_response(model: BaseModel, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """The model's JSON as the document describes it (by alias, unset optional fields out)."""
    body = model.__pydantic_serializer__.to_json(model, by_alias=True, exclude_none=True)
    return Response(body, status, headers, media_type=JSON_TYPE)


def raw_json(body: bytes) -> Response:
    return Response(body, media_type=JSON_TYPE)


def no_content() -> Response:
    return Response(status_code=204)


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"error": message}, status, headers)
