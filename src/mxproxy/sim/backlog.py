"""Frames held back by the simulator's delay fault, handed on in arrival order once due."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from mxproxy.mx.frames import Frame


class Backlog:
    """Delayed frames of one connection; `handle` gets each one when it is due."""

    __slots__ = ("_frames", "_handle", "_is_open", "_timer")

    def __init__(self, handle: Callable[[Frame], None], is_open: Callable[[], bool]) -> None:
        self._handle = handle
        self._is_open = is_open
        self._frames: deque[tuple[float, Frame]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def __bool__(self) -> bool:
        return bool(self._frames)

    def add(self, delay: float, frame: Frame) -> None:
        # Frames keep their order: one that arrives during a delay waits behind the earlier ones.
        self._frames.append((asyncio.get_running_loop().time() + delay, frame))
        if self._timer is None:
            self._schedule()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self) -> None:
        due = self._frames[0][0]
        self._timer = asyncio.get_running_loop().call_at(due, self._drain)

    def _drain(self) -> None:
        self._timer = None
        frames = self._frames
        now = asyncio.get_running_loop().time()
        while frames and frames[0][0] <= now and self._is_open():
            self._handle(frames.popleft()[1])
        if frames and self._is_open():
            self._schedule()
