"""Request bodies as JSON or `application/x-www-form-urlencoded` (2.3 accepted both), read
into a pydantic model; anything else is a 400 that names the problem."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from mxproxy.api.errors import describe_validation
from mxproxy.api.responses import ApiError

Model = TypeVar("Model", bound=BaseModel)


async def read_fields(request: Request) -> dict[str, Any]:
    """The body's fields: a JSON object or a form; an empty body is no fields."""
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "form body is not UTF-8") from None
        return dict(parse_qsl(text, keep_blank_values=True))
    if not body.strip():
        return {}
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "malformed JSON body") from None
    if not isinstance(document, dict):
        raise ApiError(400, "request body must be a JSON object")
    return document


async def read_model(request: Request, model: type[Model]) -> Model:
    """The body validated as `model` (400 naming the field on a wrong type)."""
    fields = await read_fields(request)
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise ApiError(400, describe_validation(exc.errors())) from None
