"""Why the simulator refuses a command: the reason travels back as a CSTA error."""

from __future__ import annotations


class CommandRefused(Exception):
    """A command cannot be carried out; `reason` becomes `<CSTAErrorCode><operation>reason`."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
