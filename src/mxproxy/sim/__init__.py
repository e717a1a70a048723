"""An MX simulator: a real TLS server speaking the MX protocol, plus a provisioning stub.

`Simulator` (in `server`) is the entry point; `Dataset` (in `dataset`) is what it serves.
"""

from mxproxy.sim.dataset import Contact, Dataset, User
from mxproxy.sim.server import Simulator

__all__ = ["Contact", "Dataset", "Simulator", "User"]
