"""External programs some tests need (a browser, a load generator): where to find them, and the
rule for their absence — skip on a machine without them, fail in CI (`CI=true`), whose
`.ci/run` installs them, so a missing part can never pass silently there."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def find_tool(name: str, *fallbacks: str) -> str | None:
    """The program `name` on PATH, or the first of `fallbacks` that exists."""
    found = shutil.which(name)
    if found is not None:
        return found
    return next((path for path in fallbacks if Path(path).exists()), None)


def require_tool(name: str, *fallbacks: str, install: str) -> str:
    """The program's path; without it, skip (fail under CI=true) saying how to install it."""
    found = find_tool(name, *fallbacks)
    if found is None:
        message = f"{name} is not installed ({install})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found
