"""The services behind the REST API, one module per resource (directory, call control,
voicemail, conferences, login, push tokens, health), each built with its collaborators
passed in explicitly by the composition root (`mxproxy.service`).

Handlers call exactly one service method per request; services talk to the PBX through the
per-resource PBX operations, keep the caches and the store behind them, and refuse requests
with the typed errors of `errors` (which carry their HTTP status)."""
