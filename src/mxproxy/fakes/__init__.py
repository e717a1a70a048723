"""Local stand-ins for the push services (APNs, FCM) for tests, benchmarks and the demo.

They speak the real protocols (HTTP/2 over TLS for APNs, HTTP/1.1 for FCM) on 127.0.0.1,
check credentials the way the real services do, record every request and can be told to fail.
"""

from mxproxy.fakes.apns import ApnsFault, FakeApns
from mxproxy.fakes.common import RecordedRequest
from mxproxy.fakes.fcm import FakeFcm, FcmFault

__all__ = ["ApnsFault", "FakeApns", "FakeFcm", "FcmFault", "RecordedRequest"]
