"""The Zultys MX client protocol without I/O: frames, hardened XML, typed commands, the
connection state machine and its results, typed answers and events. The asyncio client
that moves the bytes is `mxproxy.pbx`."""
