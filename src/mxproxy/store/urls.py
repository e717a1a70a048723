"""Database URLs: telling a PostgreSQL URL from a file path, and keeping its password unsaid.

Kept apart from the PostgreSQL engine so that configuration parsing and the SQLite default
never import the driver.
"""

from __future__ import annotations

import urllib.parse
from typing import Final

__all__ = ["is_postgres_url", "redact_url", "url_secrets"]

_SCHEMES: Final = ("postgresql://", "postgres://")


def is_postgres_url(text: str) -> bool:
    """Whether `--db`/`DB`/`[store] url` names a PostgreSQL database rather than a file."""
    return text.startswith(_SCHEMES)


def redact_url(url: str) -> str:
    """The URL with its password (in the user part or a `password=` parameter) replaced by ***."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{hosts}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query_text = parts.query
    if any(name == "password" for name, _ in query):
        masked = [(name, "***" if name == "password" else value) for name, value in query]
        query_text = urllib.parse.urlencode(masked, safe="*")
    if (netloc, query_text) == (parts.netloc, parts.query):
        return url
    # Not urlunsplit: it would turn an empty host ("postgresql:///db", the unix socket) into "postgresql:/db".
    text = f"{parts.scheme}://{netloc}{parts.path}"
    if query_text:
        text += f"?{query_text}"
    if parts.fragment:
        text += f"#{parts.fragment}"
    return text


def url_secrets(url: str) -> tuple[str, ...]:
    """The URL's password in every spelling a message could quote it in."""
    parts = urllib.parse.urlsplit(url)
    found: list[str] = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        found.append(userinfo.partition(":")[2])
    found += [value for name, value in urllib.parse.parse_qsl(parts.query) if name == "password"]
    spellings = {spelling for secret in found for spelling in (secret, urllib.parse.unquote(secret))}
    # Longest first, so a password containing another is masked whole.
    return tuple(sorted((s for s in spellings if s), key=len, reverse=True))
