"""The OpenAPI 3.1 document, generated from the operations' declarations (`routing.Operation`)
and the pydantic models that shape the answers: every answer's schema, every error status an
operation can answer (with the `{"error": …}` schema), the security of each operation
(bearer JWT, the app's Basic credentials), and the length limits the edge enforces."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from mxproxy import __version__
from mxproxy.api.routing import Operation

SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "appBasic": {"type": "http", "scheme": "basic", "description": "The app's client id and secret"},
    "adminBasic": {"type": "http", "scheme": "basic", "description": "An [admin] user and password"},
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "bearer": [{"bearer": []}],
    "stream": [{"bearer": []}],
    "app": [{"appBasic": []}],
    "login": [{"appBasic": []}, {"bearer": []}],  # password grant, or an Azure AD token
    "admin": [{"adminBasic": []}, {"appBasic": []}],  # apps: only with [admin] debugLogForApps
    "none": [],
}
_DESCRIPTIONS = {
    400: "Bad request: a malformed body or parameter, or the PBX refused the command",
    401: "No, invalid or outdated credentials, or the user's PBX connection is unavailable",
    403: "Forbidden: wrong credentials",
    404: "Not found",
    413: "Request body too large",
    429: "Too many failed logins: try again after Retry-After seconds",
    502: "The PBX or provisioning service answered something unusable",
    503: "Unavailable: the PBX or provisioning service is unreachable, or the proxy is stopping",
    504: "The PBX or provisioning service did not answer in time",
}
_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{([^}]+)}")
_STRING = {"type": "string"}


class Error(BaseModel):
    error: str = Field(examples=["invalid token"])


def document(operations: Sequence[Operation], *, title: str = "mxproxy") -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    schemas["Error"] = _schema(Error, schemas, "serialization")
    for operation in operations:
        entry = _operation(operation, schemas)
        operation_id = operation.operation_id
        if operation_id in used_ids:
            operation_id += "_" + "_".join(re.findall(r"[a-z]+", operation.path.lower()))
        used_ids.add(operation_id)
        entry["operationId"] = operation_id
        paths.setdefault(operation.path, {})[operation.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": __version__,
            "summary": "REST API, live events and mobile push in front of a Zultys MX phone system",
        },
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SCHEMES},
    }


def _schema(model: type[BaseModel], schemas: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
    schemas.update(schema.pop("$defs", {}))
    return schema


def _ref(model: type[BaseModel], schemas: dict[str, Any], mode: str = "serialization") -> dict[str, str]:
    name = model.__name__
    if name not in schemas:
        schemas[name] = _schema(model, schemas, mode)
    return {"$ref": _REF.format(model=name)}


def _operation(operation: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"tags": [operation.tag], "summary": operation.summary}
    if operation.description:
        entry["description"] = operation.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": operation.path_schemas.get(name, _STRING)}
        for name in _PATH_PARAM.findall(operation.path)
    ]
    parameters += [
        {
            "name": p.name,
            "in": p.location,
            "required": False,
            "description": p.description,
            "schema": p.schema,
        }
        for p in operation.params
    ]
    if parameters:
        entry["parameters"] = parameters
    body = _body(operation, schemas)
    if body is not None:
        entry["requestBody"] = body
    entry["responses"] = _responses(operation, schemas)
    entry["security"] = _SECURITY[operation.security]
    return entry


def _body(operation: Operation, schemas: dict[str, Any]) -> dict[str, Any] | None:
    if operation.body is not None:
        schema: dict[str, Any] = _ref(operation.body, schemas, "validation")
    elif operation.body_schema is not None:
        schema = operation.body_schema
    else:
        return None
    return {"content": {media: {"schema": schema} for media in operation.body_media}}


def _responses(operation: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": operation.response_description}
    if operation.response is not None:
        media: dict[str, Any] = {"schema": _ref(operation.response, schemas)}
        if operation.example is not None:
            media["example"] = operation.example
        success["content"] = {"application/json": media}
    elif operation.content is not None:
        success["content"] = {kind: {"schema": schema} for kind, schema in operation.content.items()}
    responses: dict[str, Any] = {str(operation.status): success}
    for status in operation.all_errors():
        model = operation.error_models.get(status, Error)
        responses[str(status)] = {
            "description": _DESCRIPTIONS.get(status, "Error"),
            "content": {"application/json": {"schema": _ref(model, schemas)}},
        }
    return responses
