"""The `[voip]` table of the configuration file: push credentials, service URLs and policy.

A 2.3 file loads unchanged; the keys marked *new* are additions::

    [voip]
    apnTTL = "10m"                    # idle lifetime of an APNs connection (Go duration)
    apnHost = "https://api.push.apple.com"                  # new
    apnSandboxHost = "https://api.sandbox.push.apple.com"   # new
    fcmURL = "https://fcm.googleapis.com/fcm/send"          # new: FCM legacy endpoint
    fcmV1URL = "https://fcm.googleapis.com/v1"              # new: FCM HTTP v1 base
    voipAllEvents = false             # new: true = every event as a VoIP push (as 2.3 did)
    caFile = "push-ca.pem"            # new: extra CA certificates (PEM) trusted for push hosts

    [voip.apn]                        # APNs certificate auth: file = password
    "certificate.p12" = "password"

    [voip.apnKeys."AuthKey_ABC123DEFG.p8"]   # new: APNs token auth, one table per .p8 key
    keyId = "ABC123DEFG"              # optional when the file is named AuthKey_<keyId>.p8
    teamId = "TEAM123456"
    topics = ["com.example.app"]      # bundle ids; each also covers ".voip" and ".complication"

    [voip.fcm]                        # FCM: app = legacy server key, or the path of a
    "app" = "server key"              # service-account .json file (FCM HTTP v1)
    "other" = "other-app-service-account.json"

Paths are relative to the configuration file's directory. A credential that cannot be used is
left out and reported in the problem list (naming the key and file, never a secret); the rest
of the push configuration still loads.

Which credential pushes to a topic depends on what each credential covers (see
`mxproxy.push.credentials`), never on the order of the file: among the credentials that cover
a topic in an environment, a .p8 key comes first (it never expires and needs no certificate
of its own per topic), then a certificate whose UID is the topic (its dedicated certificate),
then the certificate valid longest, then the file name. Two credentials for one topic are
reported by `apn_overlaps()` (a start-up warning naming both).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mxproxy.durations import parse_duration
from mxproxy.push.credentials import (
    ApnCertificate,
    ApnKey,
    CredentialError,
    FcmServiceAccount,
    key_topics,
    read_apn_key,
    read_p12,
    read_service_account,
)

__all__ = [
    "DEFAULT_APN_HOST",
    "DEFAULT_APN_SANDBOX_HOST",
    "DEFAULT_APN_TTL",
    "DEFAULT_FCM_URL",
    "DEFAULT_FCM_V1_URL",
    "ApnCredential",
    "FcmApp",
    "FcmLegacyApp",
    "PushSettings",
    "load_push_settings",
]

DEFAULT_APN_TTL = 600.0
DEFAULT_APN_HOST = "https://api.push.apple.com"
DEFAULT_APN_SANDBOX_HOST = "https://api.sandbox.push.apple.com"
DEFAULT_FCM_URL = "https://fcm.googleapis.com/fcm/send"
DEFAULT_FCM_V1_URL = "https://fcm.googleapis.com/v1"

# config key -> (PushSettings field, default)
_URL_KEYS = {
    "apnHost": ("apn_host", DEFAULT_APN_HOST),
    "apnSandboxHost": ("apn_sandbox_host", DEFAULT_APN_SANDBOX_HOST),
    "fcmURL": ("fcm_url", DEFAULT_FCM_URL),
    "fcmV1URL": ("fcm_v1_url", DEFAULT_FCM_V1_URL),
}
# Every key of `[voip]`; the configuration refuses any other (config.py declares these).
VOIP_KEYS = frozenset({"apnTTL", "apn", "apnKeys", "fcm", "voipAllEvents", "caFile", *_URL_KEYS})
_KEY_FILE_NAME = re.compile(r"AuthKey_([A-Za-z0-9]+)\.p8$")


@dataclass(frozen=True)
class FcmLegacyApp:
    """An FCM app sent through the legacy HTTP API with a server key."""

    server_key: str = field(repr=False)


FcmApp = FcmLegacyApp | FcmServiceAccount
ApnCredential = ApnCertificate | ApnKey


@dataclass(frozen=True)
class PushSettings:
    """Everything the push code needs from the configuration."""

    apn_ttl: float = DEFAULT_APN_TTL
    apn_host: str = DEFAULT_APN_HOST
    apn_sandbox_host: str = DEFAULT_APN_SANDBOX_HOST
    fcm_url: str = DEFAULT_FCM_URL
    fcm_v1_url: str = DEFAULT_FCM_V1_URL
    voip_all_events: bool = False
    ca_file: Path | None = None
    apn_certificates: tuple[ApnCertificate, ...] = ()
    apn_keys: tuple[ApnKey, ...] = ()
    fcm_apps: Mapping[str, FcmApp] = field(default_factory=dict)

    _routes: dict[tuple[str, bool], ApnCredential | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def apn_credential(self, topic: str, sandbox: bool) -> ApnCredential | None:
        """The credential that pushes to `topic` in the environment (see the module docstring)."""
        route = (topic, sandbox)
        if route not in self._routes:
            # Filled once per topic and environment; the credentials never change.
            candidates = self.apn_candidates(topic, sandbox)
            self._routes[route] = candidates[0] if candidates else None
        return self._routes[route]

    def apn_candidates(self, topic: str, sandbox: bool) -> list[ApnCredential]:
        """Every credential that covers `topic` in the environment, the preferred one first."""
        candidates = [cred for cred in self.apn_credentials() if cred.allows(topic, sandbox)]
        return sorted(candidates, key=lambda credential: _preference(topic, credential))

    def covers(self, kind: str, topic: str, sandbox: bool) -> bool:
        """Whether a token of `kind` ("apn" or "fcm") for `topic` can ever be pushed to."""
        if kind == "apn":
            return self.apn_credential(topic, sandbox) is not None
        return kind == "fcm" and topic in self.fcm_apps

    def knows_apn_topic(self, topic: str) -> bool:
        """Whether any credential (in any environment) covers `topic`."""
        return any(topic in credential.topics for credential in self.apn_credentials())

    def apn_credentials(self) -> list[ApnCredential]:
        """Every APNs credential, as configured."""
        return [*self.apn_keys, *self.apn_certificates]

    def apn_overlaps(self) -> list[str]:
        """One line per topic that more than one credential covers, naming them and the one used."""
        lines = []
        for topic in sorted({topic for credential in self.apn_credentials() for topic in credential.topics}):
            by_candidates: dict[tuple[str, ...], list[str]] = {}
            for sandbox, environment in _ENVIRONMENTS:
                candidates = self.apn_candidates(topic, sandbox)
                if len(candidates) > 1:
                    labels = tuple(credential.label for credential in candidates)
                    by_candidates.setdefault(labels, []).append(environment)
            for labels, environments in by_candidates.items():
                lines.append(
                    f'APNs topic "{topic}" ({" and ".join(environments)}) is covered by '
                    f"{' and '.join(labels)}; {labels[0]} is used"
                )
        return lines

    def apn_routes(self) -> list[str]:
        """One line per credential: the topics it serves, by environment (for the start-up log)."""
        lines = []
        for credential in sorted(self.apn_credentials(), key=lambda credential: credential.label):
            served = []
            for sandbox, environment in _ENVIRONMENTS:
                topics = sorted(t for t in credential.topics if self.apn_credential(t, sandbox) is credential)
                if topics:
                    served.append(f"{environment}: {', '.join(topics)}")
            what = "; ".join(served) if served else "nothing (every topic it covers is served by another)"
            lines.append(f"APNs credential {credential.label} serves {what}")
        return lines

    def apn_base_url(self, sandbox: bool) -> str:
        """The APNs host for a token registered for the given environment."""
        return (self.apn_sandbox_host if sandbox else self.apn_host).rstrip("/")


def load_push_settings(
    voip: dict[str, Any], config_dir: Path, *, now: datetime | None = None
) -> tuple[PushSettings, list[str]]:
    """Parse the raw `[voip]` table; returns the settings and the problems found."""
    problems: list[str] = [f"voip.{key}: unknown key, ignored" for key in voip if key not in VOIP_KEYS]
    urls = _urls(voip, problems)
    settings = PushSettings(
        apn_ttl=_apn_ttl(voip, problems),
        apn_host=urls["apn_host"],
        apn_sandbox_host=urls["apn_sandbox_host"],
        fcm_url=urls["fcm_url"],
        fcm_v1_url=urls["fcm_v1_url"],
        voip_all_events=_voip_all_events(voip, problems),
        ca_file=_ca_file(voip, config_dir, problems),
        apn_certificates=_certificates(_table(voip, "apn", problems), config_dir, problems, now),
        apn_keys=_apn_keys(_table(voip, "apnKeys", problems), config_dir, problems),
        fcm_apps=_fcm_apps(_table(voip, "fcm", problems), config_dir, problems),
    )
    return settings, problems


def _apn_ttl(voip: Mapping[str, Any], problems: list[str]) -> float:
    value = voip.get("apnTTL")
    if value is None:
        return DEFAULT_APN_TTL
    try:
        seconds = parse_duration(value) if isinstance(value, str) else -1.0
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        problems.append(f"voip.apnTTL: {json.dumps(value)} is not a positive duration; using 10m")
        return DEFAULT_APN_TTL
    return seconds


def _voip_all_events(voip: Mapping[str, Any], problems: list[str]) -> bool:
    value = voip.get("voipAllEvents", False)
    if not isinstance(value, bool):
        problems.append("voip.voipAllEvents: must be true or false; using false")
        return False
    return value


def _ca_file(voip: Mapping[str, Any], config_dir: Path, problems: list[str]) -> Path | None:
    value = voip.get("caFile")
    if value is None:
        return None
    path = config_dir / str(value)
    if not isinstance(value, str) or not path.is_file():
        problems.append(f"voip.caFile: {path} is not a file; ignored")
        return None
    return path


def _urls(voip: Mapping[str, Any], problems: list[str]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for key, (field_name, default) in _URL_KEYS.items():
        value = voip.get(key, default)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            problems.append(f"voip.{key}: must be an http(s) URL; using {default}")
            value = default
        urls[field_name] = value.rstrip("/")
    return urls


def _table(voip: Mapping[str, Any], key: str, problems: list[str]) -> dict[str, Any]:
    value = voip.get(key, {})
    if not isinstance(value, dict):
        problems.append(f"voip.{key}: must be a table ([voip.{key}]); ignored")
        return {}
    return value


def _certificates(
    table: Mapping[str, Any], config_dir: Path, problems: list[str], now: datetime | None
) -> tuple[ApnCertificate, ...]:
    certificates = []
    for name, password in table.items():
        if not isinstance(password, str):
            problems.append(f'voip.apn."{name}": the password must be a string; ignored')
            continue
        try:
            certificates.append(read_p12(config_dir / name, password, now=now))
        except CredentialError as exc:
            problems.append(f"voip.apn: {exc}")
    return tuple(certificates)


def _apn_keys(table: Mapping[str, Any], config_dir: Path, problems: list[str]) -> tuple[ApnKey, ...]:
    keys = []
    for name, entry in table.items():
        try:
            keys.append(_apn_key(name, entry, config_dir))
        except CredentialError as exc:
            problems.append(f"voip.apnKeys: {exc}")
    return tuple(keys)


def _apn_key(name: str, entry: object, config_dir: Path) -> ApnKey:
    label = f'"{name}"'
    if not isinstance(entry, dict):
        raise CredentialError(f"{label}: must be a table with keyId, teamId and topics")
    file_name_match = _KEY_FILE_NAME.search(name)
    key_id = entry.get("keyId", file_name_match.group(1) if file_name_match else None)
    team_id = entry.get("teamId")
    topics = entry.get("topics")
    if not isinstance(key_id, str) or not key_id:
        raise CredentialError(f"{label}: keyId is missing (or name the file AuthKey_<keyId>.p8)")
    if not isinstance(team_id, str) or not team_id:
        raise CredentialError(f"{label}: teamId is missing")
    if not isinstance(topics, list) or not topics or not all(isinstance(t, str) and t for t in topics):
        raise CredentialError(f"{label}: topics must be a non-empty list of bundle ids")
    return read_apn_key(config_dir / name, key_id=key_id, team_id=team_id, topics=key_topics(topics))


_ENVIRONMENTS = ((False, "production"), (True, "sandbox"))


def _preference(topic: str, credential: ApnCredential) -> tuple[int, int, float, str]:
    if isinstance(credential, ApnKey):
        return (0, 0, 0.0, credential.label)
    dedicated = 0 if credential.uid == topic else 1
    return (1, dedicated, -credential.not_after.timestamp(), str(credential.source))


def _fcm_apps(table: Mapping[str, Any], config_dir: Path, problems: list[str]) -> dict[str, FcmApp]:
    apps: dict[str, FcmApp] = {}
    for app, value in table.items():
        if not isinstance(value, str) or not value:
            problems.append(f'voip.fcm."{app}": must be a server key or a service-account file')
            continue
        if not value.endswith(".json"):
            apps[app] = FcmLegacyApp(server_key=value)
            continue
        try:
            apps[app] = read_service_account(config_dir / value)
        except CredentialError as exc:
            problems.append(f'voip.fcm."{app}": {exc}')
    return apps
