"""PBX traffic at trace level (below debug), with secrets redacted.

`mxproxy --log-level trace` shows every payload sent to and received from every PBX, for
debugging an MX's behaviour. Passwords (`<pwd>`), soft-phone passwords and account passwords
never appear, and long payloads (voicemail chunks) are cut short. Nothing is formatted unless
the `mxproxy.mx.wire` logger is enabled at trace level.
"""

from __future__ import annotations

import logging
import re
from xml.etree.ElementTree import tostring

from mxproxy.mx.xml import Message

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

log = logging.getLogger("mxproxy.mx.wire")

_MAX_SHOWN = 2000
_SECRETS = re.compile(
    rb"(<pwd>)[^<]*(</pwd>)|((?:softPhonePwd|account_pwd|password)=\")[^\"]*(\")", re.IGNORECASE
)


def redact(payload: bytes) -> str:
    """The payload with every secret replaced by `***`, cut to a readable length."""
    cleaned = _SECRETS.sub(_mask, payload)
    text = cleaned.decode("utf-8", "replace")
    return text if len(text) <= _MAX_SHOWN else f"{text[:_MAX_SHOWN]}… ({len(text)} chars)"


def _mask(match: re.Match[bytes]) -> bytes:
    opening = match.group(1) or match.group(3)
    closing = match.group(2) or match.group(4)
    return bytes(opening + b"***" + closing)


def enabled() -> bool:
    return log.isEnabledFor(TRACE)


def sent(peer: str, invoke_id: int, payload: bytes) -> None:
    log.log(TRACE, "→ %s %04d %s", peer, invoke_id, redact(payload))


def received(peer: str, message: Message) -> None:
    try:
        text = redact(tostring(message.element))
    except RecursionError:
        # Serialising recurses once per level: a hostile 9,000-deep document must not break
        # the connection it arrived on just because someone is tracing.
        text = f"<{message.name}> (nested too deeply to show)"
    log.log(TRACE, "← %s %04d %s", peer, message.invoke_id, text)
