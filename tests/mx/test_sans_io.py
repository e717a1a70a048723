"""`mxproxy.mx` is the protocol without I/O: none of its modules may import asyncio, ssl or
socket (the asyncio shell is `mxproxy.pbx`)."""

from __future__ import annotations

import ast
from pathlib import Path

import mxproxy.mx

FORBIDDEN = {"asyncio", "ssl", "socket", "selectors", "mxproxy.pbx"}
MX = Path(mxproxy.mx.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _forbidden(name: str) -> bool:
    return any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)


def test_no_module_under_mx_does_io() -> None:
    modules = sorted(MX.rglob("*.py"))
    assert len(modules) > 10  # the walk found the package
    offenders = {str(path.relative_to(MX)): sorted(filter(_forbidden, _imports(path))) for path in modules}
    assert {path: names for path, names in offenders.items() if names} == {}
