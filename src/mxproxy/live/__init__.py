"""Live PBX events for Server-Sent Events streams: the per-user hub (`EventHub`), the streams
it feeds (`Subscription`) and the SSE wire format (`mxproxy.live.sse`)."""

from mxproxy.live.hub import EventHub, LiveEvent, StreamEnded, Subscription

__all__ = ["EventHub", "LiveEvent", "StreamEnded", "Subscription"]
