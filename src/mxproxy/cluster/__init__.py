"""Cluster mode: N identical instances sharing one PostgreSQL, one owner per MX account's PBX session.

- `membership`: each instance's row, its renewal (one statement per period) and self-fencing.
- `leases`: one lease per account, acquire/takeover/hand-over, the owner cache.
- `forward`: the ASGI forwarder that sends a request to the owner and streams the answer back.
- `node`: the parts put together for the service (`ClusterNode`: start, stop, route, forward).
- `metrics`: the cluster's Prometheus metrics.

The tables are in the store's shared migrations (`cluster_instances`, `cluster_leases`).
"""

from mxproxy.cluster._db import ClusterUnavailable, connect_pool
from mxproxy.cluster.leases import Leases, NotMember, Owner
from mxproxy.cluster.membership import Instance, Membership, Timings, View
from mxproxy.cluster.node import ClusterNode, ClusterSettings

__all__ = [
    "ClusterNode",
    "ClusterSettings",
    "ClusterUnavailable",
    "Instance",
    "Leases",
    "Membership",
    "NotMember",
    "Owner",
    "Timings",
    "View",
    "connect_pool",
]
