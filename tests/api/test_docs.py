"""`/docs`: the interactive documentation, served with its assets by the proxy itself, and
rendered by a real headless browser without any request leaving loopback."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from tests.tools import require_tool

from mxproxy.api.docs import CSP

from .harness import Proxy

LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


async def test_the_page_and_its_assets_come_from_the_proxy(proxy: Proxy) -> None:
    page = await proxy.api.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CSP
    assert "default-src 'self'" in CSP
    # Nothing is loaded from elsewhere: every src/href is a path on this origin.
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert references
    for reference in references:
        assert reference.startswith("/"), reference
        asset = await proxy.api.get(reference)
        assert asset.status_code == 200, reference
        cached = await proxy.api.get(reference, headers={"If-None-Match": asset.headers["etag"]})
        assert cached.status_code == 304


async def test_only_the_pages_assets_are_served(proxy: Proxy) -> None:
    for name in ("index.html", "swagger-initializer.js", "..%2Fdocs.py", "docs.py"):
        assert (await proxy.api.get(f"/docs/assets/{name}")).status_code == 404


def _page_requests(net_log: Path) -> list[str]:
    """The URLs the page itself requested (its navigation, scripts, styles and fetches), from
    the browser's NetLog. The browser's own background requests name no initiating origin."""
    text = net_log.read_text(encoding="utf-8", errors="replace").rstrip().rstrip(",")
    if not text.endswith("}"):
        text += "]}"  # a log cut short at exit lacks its closing brackets
    log = json.loads(text)
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log.get("events", []):
        params = event.get("params") or {}
        if event.get("type") != start_job or not isinstance(params.get("url"), str):
            continue
        initiator = params.get("initiator", "")
        is_navigation = params["url"].endswith("/docs") and initiator == "not an origin"
        if is_navigation or initiator != "not an origin":
            urls.append(params["url"])
    return urls


async def test_a_browser_renders_the_operations_offline(proxy: Proxy, tmp_path: Path) -> None:
    chromium = require_tool("chromium", "/usr/bin/chromium", install="Debian: apt-get install chromium")
    base = str(proxy.api.base_url).rstrip("/")
    net_log = tmp_path / "netlog.json"
    browser = await asyncio.create_subprocess_exec(
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--log-net-log={net_log}",
        # Whatever the browser would fetch for itself (updates, accounts) fails to resolve
        # instead of leaving the machine; the page's own requests are checked below.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        # Lets the page's scripts fetch /openapi.json and render before the DOM is dumped.
        "--virtual-time-budget=20000",
        "--dump-dom",
        f"{base}/docs",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        dom, errors = await asyncio.wait_for(browser.communicate(), 90)
    finally:
        if browser.returncode is None:
            browser.kill()
            await browser.wait()
    html = dom.decode("utf-8", "replace")
    assert browser.returncode == 0, errors.decode("utf-8", "replace")[-2000:]
    # Swagger UI (or the plain fallback page) shows each operation with its path.
    for path in ("/events", "/healthz", "/auth"):
        assert f">{path}<" in html or f'data-path="{path}"' in html, f"{path} not rendered"
    urls = _page_requests(net_log)
    assert f"{base}/docs" in urls
    assert f"{base}/openapi.json" in urls
    assert f"{base}/docs/assets/swagger-ui-bundle.js" in urls or "swagger-ui" not in html
    outside = {url for url in urls if urlsplit(url).hostname not in LOOPBACK}
    assert not outside, f"requests left loopback: {sorted(outside)}"
