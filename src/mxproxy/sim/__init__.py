"""An MX simulator: a real TLS server speaking the MX protocol, plus a provisioning stub."""
