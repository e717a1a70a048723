"""Mobile push: APNs (certificates and .p8 tokens over HTTP/2) and Firebase (legacy and HTTP v1).

The rest of the service uses four entry points: `load_push_settings` (the `[voip]` table),
`validate_registration` (for `PUT /tokens/…`), `PushDispatcher` (events in, pushes out) and
the `TokenRegistry` protocol the token store implements.
"""

from mxproxy.push.dispatcher import PushDispatcher, PushOutcome
from mxproxy.push.registration import RegistrationError, validate_registration
from mxproxy.push.registry import DeviceToken, TokenRegistry
from mxproxy.push.settings import PushSettings, load_push_settings

__all__ = [
    "DeviceToken",
    "PushDispatcher",
    "PushOutcome",
    "PushSettings",
    "RegistrationError",
    "TokenRegistry",
    "load_push_settings",
    "validate_registration",
]
