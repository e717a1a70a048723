"""mxproxy: a REST API, live events and mobile push in front of a Zultys MX phone system."""

__version__ = "3.0.0"
