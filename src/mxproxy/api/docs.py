"""The interactive API documentation at `/docs`, served entirely by the proxy (no CDN: the
page must work on networks without Internet access).

With the `swagger-ui-bundle-v2` package installed, `/docs` is Swagger UI on `/openapi.json`,
its script and style sheet served from `/docs/assets/`. Without it, `/docs` is a plain page
listing the operations, rendered here from the same OpenAPI document. Either way a strict
Content-Security-Policy keeps the browser from loading anything from elsewhere.
"""

from __future__ import annotations

import functools
import hashlib
import html
import importlib.resources
from collections.abc import Callable
from importlib.resources.abc import Traversable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mxproxy.api.responses import error_response

ASSETS_PREFIX = "/docs/assets/"

# Swagger UI styles elements inline; scripts and everything else come from this origin only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)

_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
# Only what the page loads, so the package's demo pages are not served.
_BUNDLE_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
_OWN_FILES = ("swagger-init.js",)


def docs_routes(title: str, spec_url: str, spec: Callable[[], dict[str, Any]]) -> list[Route]:
    """`/docs` and its assets, for the document at `spec_url` (built by `spec`)."""

    async def docs_page(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        if _swagger_ui() is not None:
            page = _swagger_page(title, root + spec_url, root)
        else:
            page = _plain_page(title, root + spec_url, spec())
        return Response(page, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": CSP})

    return [
        Route("/docs", docs_page, methods=["GET"]),
        Route(ASSETS_PREFIX + "{name}", docs_asset, methods=["GET"]),
    ]


@functools.cache
def _swagger_ui() -> Traversable | None:
    try:
        from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]
    except ImportError:
        return None
    path: Traversable = swagger_ui_path
    return path if path.joinpath("swagger-ui-bundle.js").is_file() else None


@functools.cache
def _asset(name: str) -> tuple[bytes, str] | None:
    """The bytes of an allowed asset and their ETag (read once, kept in memory)."""
    if name in _OWN_FILES:
        source: Traversable = importlib.resources.files("mxproxy.api").joinpath("static", name)
    elif name in _BUNDLE_FILES and (bundle := _swagger_ui()) is not None:
        source = bundle.joinpath(name)
    else:
        return None
    data = source.read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


async def docs_asset(request: Request) -> Response:
    name: str = request.path_params["name"]
    found = _asset(name)
    if found is None:
        return error_response(404, "not found")
    data, etag = found
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    suffix = name[name.rfind(".") :]
    return Response(data, headers=headers, media_type=_MEDIA_TYPES.get(suffix, "application/octet-stream"))


def _swagger_page(title: str, spec_url: str, root: str) -> str:
    assets = root + ASSETS_PREFIX
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} API</title>
<link rel="icon" type="image/png" href="{assets}favicon-32x32.png">
<link rel="stylesheet" href="{assets}swagger-ui.css">
</head>
<body data-openapi-url="{html.escape(spec_url)}">
<div id="swagger-ui"></div>
<script src="{assets}swagger-ui-bundle.js"></script>
<script src="{assets}swagger-init.js"></script>
</body>
</html>
"""


def _plain_page(title: str, spec_url: str, spec: dict[str, Any]) -> str:
    rows = []
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            summary = operation.get("summary", "") if isinstance(operation, dict) else ""
            rows.append(
                f"<tr><td><code>{html.escape(method.upper())}</code></td>"
                f"<td><code>{html.escape(path)}</code></td><td>{html.escape(summary)}</td></tr>"
            )
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)} API</title></head>
<body>
<h1>{html.escape(title)} API</h1>
<p>The machine-readable description is <a href="{html.escape(spec_url)}">{html.escape(spec_url)}</a>.</p>
<table>
<thead><tr><th>method</th><th>path</th><th>summary</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
