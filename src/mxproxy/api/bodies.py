"""Request bodies as JSON or `application/x-www-form-urlencoded` (2.3 accepted both), read
into a pydantic model; anything else is a 400 that names the problem.

Every text field is bounded here, at the edge: the PBX takes frames of at most 65,527 bytes,
so an oversized field must be the client's 400, decided before anything is sent to the PBX.
The models' own `max_length`s (documented in OpenAPI) are tighter; `MAX_FIELD` is the bound
for bodies read without a model."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from mxproxy.api.errors import describe_validation
from mxproxy.services.errors import BadRequest

Model = TypeVar("Model", bound=BaseModel)

# Escaped as XML (up to 6 bytes a character) and UTF-8 encoded, 8,000 characters stay
# inside one PBX frame together with the rest of a command.
MAX_FIELD = 8_000


async def read_fields(request: Request) -> dict[str, Any]:
    """The body's fields: a JSON object or a form; an empty body is no fields."""
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("form body is not UTF-8") from None
        fields: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True))
    elif not body.strip():
        return {}
    else:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadRequest("malformed JSON body") from None
        if not isinstance(document, dict):
            raise BadRequest("request body must be a JSON object")
        fields = document
    for name, value in fields.items():
        if isinstance(value, str) and len(value) > MAX_FIELD:
            raise BadRequest(f"{name}: too long (at most {MAX_FIELD} characters)")
    return fields


async def read_model(request: Request, model: type[Model]) -> Model:
    """The body validated as `model` (400 naming the field on a wrong type)."""
    fields = await read_fields(request)
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise BadRequest(describe_validation(exc.errors())) from None
