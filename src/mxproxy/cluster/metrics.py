"""The cluster's Prometheus metrics, registered in prometheus-client's default registry.

| metric | labels | fed by |
|---|---|---|
| `mxproxy_cluster_renewals_total` | result (ok, failed) | membership, once per renewal attempt |
| `mxproxy_cluster_fencings_total` | | membership, when it fences itself |
| `mxproxy_cluster_takeovers_total` | | leases: accounts taken from dead or departed owners |
| `mxproxy_cluster_owned_sessions` (gauge) | | leases: accounts this process owns |
| `mxproxy_cluster_forwarded_total` | outcome | the forwarder (ok, unreachable, broken, loop) |
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

# Imported first for its process-wide settings (no `_created` series).
import mxproxy.metrics  # noqa: F401

__all__ = ["FENCINGS", "FORWARDED", "OWNED", "RENEWALS", "TAKEOVERS"]

RENEWALS = Counter(
    "mxproxy_cluster_renewals", "Membership lease renewals by result (ok, failed).", ["result"]
)
FENCINGS = Counter(
    "mxproxy_cluster_fencings", "Times this instance gave up everything it owned for lack of renewal."
)
TAKEOVERS = Counter(
    "mxproxy_cluster_takeovers", "Accounts taken over from instances that died or stopped."
)
OWNED = Gauge("mxproxy_cluster_owned_sessions", "MX accounts whose PBX session this instance owns.")
FORWARDED = Counter(
    "mxproxy_cluster_forwarded",
    "Requests forwarded to the owning instance by outcome (ok, unreachable, broken, loop).",
    ["outcome"],
)
for _result in ("ok", "failed"):
    RENEWALS.labels(result=_result)
for _outcome in ("ok", "unreachable", "broken", "loop"):
    FORWARDED.labels(outcome=_outcome)
