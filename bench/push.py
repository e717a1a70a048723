"""The push side of the events scenario: the project's FakeApns (HTTP/2, provider-JWT auth) in
the harness's process, with every arrival time-stamped, and the proxy's `[voip]` table that
points at it with a freshly generated .p8 key."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mxproxy.fakes.apns import FakeApns
from mxproxy.fakes.common import RecordedRequest, Recorder

KEY_ID = "BENCHKEY01"
TEAM_ID = "BENCHTEAM1"
TOPIC = "com.example.bench"
VOIP_TOPIC = TOPIC + ".voip"


class TimedRecorder(Recorder):
    """A Recorder that also notes when each request arrived (perf_counter seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, RecordedRequest]] = []
        self.on_arrival: Callable[[], None] | None = None

    def add(self, request: RecordedRequest) -> None:
        self.arrivals.append((time.perf_counter(), request))
        # Nobody awaits `next()` here: keep only the list, not an ever-growing queue.
        self.requests.append(request)
        if self.on_arrival is not None:
            self.on_arrival()


@dataclass
class ApnsRig:
    """A running FakeApns that accepts our key, and the TOML that makes the proxy use it."""

    apns: FakeApns
    recorder: TimedRecorder
    voip_toml: str


def voip_token(index: int) -> str:
    """A distinct 64-hex-digit VoIP device token per user."""
    return f"{index:064X}"


async def start_apns(directory: Path) -> ApnsRig:
    """Start FakeApns and write the .p8 key and its CA next to the proxy's config."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    apns = FakeApns(provider_keys={KEY_ID: key.public_key()}, team_id=TEAM_ID)
    recorder = TimedRecorder()
    apns.recorder = recorder
    await apns.start()
    key_path, ca_path = _write_credentials(directory, pem, apns.ca_pem)
    voip = "\n".join(
        [
            "[voip]",
            f"apnHost = {json.dumps(apns.url)}",
            f"apnSandboxHost = {json.dumps(apns.url)}",
            f"caFile = {json.dumps(str(ca_path))}",
            "",
            f"[voip.apnKeys.{json.dumps(str(key_path))}]",
            f"teamId = {json.dumps(TEAM_ID)}",
            f"topics = [{json.dumps(TOPIC)}]",
        ]
    )
    return ApnsRig(apns, recorder, voip)


def _write_credentials(directory: Path, key_pem: bytes, ca_pem: bytes) -> tuple[Path, Path]:
    """The .p8 key (mode 0600) and the fake's CA, where the proxy's config can name them."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / f"AuthKey_{KEY_ID}.p8"
    key_path.write_bytes(key_pem)
    key_path.chmod(0o600)
    ca_path = directory / "push-ca.pem"
    ca_path.write_bytes(ca_pem)
    return key_path, ca_path
