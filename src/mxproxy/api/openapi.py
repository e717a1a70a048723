"""The OpenAPI document's security: which calls take the bearer token and which the app's
Basic credentials, so that generated clients and the docs page's "Authorize" button work.
FastAPI cannot see this itself: our auth dependencies read the header directly (cheaper than
FastAPI's security classes on every request)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "appBasic": {"type": "http", "scheme": "basic", "description": "The app's client id and secret"},
    "adminBasic": {"type": "http", "scheme": "basic", "description": "An [admin] user and password"},
}
# (method, path) → the security of that operation; every other operation takes the bearer token.
_EXCEPTIONS: dict[tuple[str, str], list[dict[str, list[str]]]] = {
    ("post", "/auth"): [{"appBasic": []}, {"bearer": []}],  # password grant, or an Azure AD token
    ("get", "/debug/log"): [{"adminBasic": []}, {"appBasic": []}],  # apps: debugLogForApps only
    ("post", "/auth/revoke"): [{"appBasic": []}],
    ("get", "/healthz"): [],
    ("get", "/readyz"): [],
}


def install_security(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        document.setdefault("components", {})["securitySchemes"] = SCHEMES
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                operation["security"] = _EXCEPTIONS.get((method, path), [{"bearer": []}])
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
