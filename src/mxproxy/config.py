"""The TOML configuration file: loading, validation and typed settings.

The format is MX Proxy 2.3's (`provisioning`, `logName`, `[apps]`, `[voip]`, `[jwt]`), so an
existing 2.3 file loads unchanged; `[mx]`, `[store]` and `[http]` are new optional tables. Every
problem is a `ConfigError` whose message names the offending key (never its value: the file
holds secrets). A key nobody declared is an error too: a misspelt `timout` would otherwise run
the service on defaults. Each section's parser declares the keys it reads with `declare_keys`
(several parsers may share a section); the check derives the allowed names from those
declarations, so a new section needs no central list. The `[voip]` table is checked for its
keys and durations here, and handed on raw; the push module parses the credentials in it.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mxproxy.durations import parse_duration
from mxproxy.push.settings import VOIP_KEYS
from mxproxy.store.secretbox import KEY_SIZE, decode_key
from mxproxy.store.urls import is_postgres_url, redact_url

if TYPE_CHECKING:
    from mxproxy.webhooks.settings import WebhookEndpoint

__all__ = [
    "DEFAULT_PROVISIONING",
    "AdminConfig",
    "Config",
    "ConfigError",
    "HttpConfig",
    "HttpLimits",
    "JwtConfig",
    "MXConfig",
    "ProxyTrust",
    "StoreConfig",
    "declare_keys",
    "load_config",
]

DEFAULT_PROVISIONING = "https://config.connector73.net/config"
DEFAULT_DATABASE = "mxproxy.db"
DEFAULT_POOL_SIZE = 10
_MAX_POOL_SIZE = 1000


class ConfigError(Exception):
    """The configuration file cannot be used; the message names the key (never a secret)."""


# section ("" for the top level) -> keys its parsers read; a section is itself a top-level key.
_DECLARED: dict[str, set[str]] = {}
# Sections whose own keys are free-form names (client ids, file names): not checked.
_OPEN_SECTIONS = {"apps"}


def declare_keys(section: str, keys: set[str] | frozenset[str]) -> frozenset[str]:
    """Declare the keys a parser reads in `[section]` (`""`: top-level keys); returns them."""
    _DECLARED.setdefault(section, set()).update(keys)
    return frozenset(keys)


def _check_keys(document: Mapping[str, Any]) -> None:
    top = _DECLARED.get("", set()) | set(_DECLARED) | _OPEN_SECTIONS
    top.discard("")
    _refuse_unknown(document, top, "")
    for section, value in document.items():
        known = _DECLARED.get(section)
        if known is None or section in _OPEN_SECTIONS:
            continue
        # `[[section]]` (an array of tables) is checked table by table.
        for table in value if isinstance(value, list) else [value]:
            if isinstance(table, dict):
                _refuse_unknown(table, known, f"{section}.")


def _refuse_unknown(table: Mapping[str, Any], known: set[str], prefix: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.7)  # a typo, not any word
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            raise ConfigError(f"{prefix}{key}: unknown key{hint}")


declare_keys("", {"provisioning", "logName"})


@dataclass(frozen=True, slots=True)
class JwtConfig:
    """`[jwt]`: access token lifetime and signing key rotation period, in seconds."""

    token_ttl: float = 3600.0
    sign_key_ttl: float = 6 * 3600.0
    refresh_ttl: float = 30 * 86400.0


@dataclass(frozen=True, slots=True)
class MXConfig:
    """`[mx]`: how the proxy talks to MX servers (durations in seconds)."""

    timeout: float = 7.0
    connect_timeout: float = 7.0
    call_log_idle: float = 0.5
    verify_tls: bool = False
    ca_file: Path | None = None
    reconnect_max: float = 60.0


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """`[http]` limits on clients, so slow or idle ones cannot hold the listeners (seconds)."""

    header_timeout: float = 10.0  # the request line and headers must arrive within this
    body_timeout: float = 30.0  # the whole body must arrive within this after the headers
    keep_alive_timeout: float = 15.0  # an idle keep-alive connection is closed after this
    max_connections: int = 4000  # open connections on the API listener
    admin_max_connections: int = 64  # open connections on the admin listener
    streams_per_user: int = 8  # open `/events` streams of one user


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """`[store]`: the database (a file, or a PostgreSQL `url`) and the key sealing its secrets.

    `key` (from the config's base64 `key`) wins; otherwise the key lives in `key_file`, which
    defaults to `<database>.key` and is created on first use. A PostgreSQL database is shared by
    instances on other machines, so its key cannot live beside it: `key` or `key_file` is then
    required (`ConfigError` otherwise). The URL holds a password: it is kept out of `repr`.
    """

    path: Path = Path(DEFAULT_DATABASE)
    key: bytes | None = field(default=None, repr=False)
    key_file: Path | None = None
    url: str | None = field(default=None, repr=False)
    # PostgreSQL connections this instance may hold at most (`poolSize`).
    pool_size: int = DEFAULT_POOL_SIZE

    def __post_init__(self) -> None:
        if self.url is not None and self.key is None and self.key_file is None:
            raise ConfigError(
                "store: a PostgreSQL database needs key or keyFile"
                " (the same key on every instance; it cannot live beside the database)"
            )

    def with_database(self, database: str) -> StoreConfig:
        """This configuration on another database: a PostgreSQL URL, or else a file path."""
        if is_postgres_url(database):
            return dataclasses.replace(self, url=database)
        return dataclasses.replace(self, path=Path(database), url=None)

    @property
    def database(self) -> str:
        """The database for messages: the file, or the URL without its password."""
        return str(self.path) if self.url is None else redact_url(self.url)

    @property
    def key_path(self) -> Path:
        """The file holding the store key when it is not given inline."""
        if self.key_file is not None:
            return self.key_file
        return self.path.with_name(self.path.name + ".key")


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class AdminConfig:
    """`[admin]`: the admin web's users (name -> bcrypt hash), the `Host` names it answers to
    besides loopback, and whether apps' Basic credentials may still read `GET /debug/log`."""

    users: dict[str, str] = field(default_factory=dict, repr=False)
    hosts: tuple[str, ...] = ()
    debug_log_for_apps: bool = False


@dataclass(frozen=True, slots=True)
class ProxyTrust:
    """`[http] trustedProxies`: the networks whose `X-Forwarded-For` names the real client."""

    networks: tuple[IPNetwork, ...] = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))
@dataclass(frozen=True, slots=True)
class HttpConfig:
    """`[http]`: the origins whose browser apps may call the API (CORS); none by default,
    `["*"]` for any origin (without credentials)."""

    allow_origins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """`[cluster]`: used only with a PostgreSQL store (cluster mode). `advertise`: the base URL
    the other instances reach this one's API at (default: the API's listen address unless it
    is a wildcard); `lease_ttl`: how long an instance's leases outlive its last renewal."""

    advertise: str | None = None
    lease_ttl: float = 3.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The whole configuration. Secrets (`apps`, `voip`) are kept out of `repr`."""

    provisioning: str = DEFAULT_PROVISIONING
    log_name: Path | None = None
    apps: dict[str, str] = field(repr=False)
    voip: dict[str, Any] = field(default_factory=dict, repr=False)
    config_dir: Path
    jwt: JwtConfig = field(default_factory=JwtConfig)
    mx: MXConfig = field(default_factory=MXConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    proxy_trust: ProxyTrust = field(default_factory=ProxyTrust)
    http: HttpConfig = field(default_factory=HttpConfig)
    http_limits: HttpLimits = field(default_factory=HttpLimits)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    webhooks: tuple[WebhookEndpoint, ...] = field(default=(), repr=False)

    @classmethod
    def default(
        cls,
        *,
        apps: Mapping[str, str] | None = None,
        config_dir: Path | None = None,
        provisioning: str = DEFAULT_PROVISIONING,
        log_name: Path | None = None,
        voip: Mapping[str, Any] | None = None,
        jwt: JwtConfig | None = None,
        mx: MXConfig | None = None,
        store: StoreConfig | None = None,
        admin: AdminConfig | None = None,
        proxy_trust: ProxyTrust | None = None,
        http: HttpConfig | None = None,
        http_limits: HttpLimits | None = None,
    ) -> Config:
        """A configuration made in code; relative paths resolve against `config_dir` (cwd)."""
        base = (config_dir or Path.cwd()).resolve()
        return cls(
            provisioning=provisioning,
            log_name=log_name,
            apps=dict(apps or {}),
            voip=dict(voip or {}),
            config_dir=base,
            jwt=jwt or JwtConfig(),
            mx=mx or MXConfig(),
            store=store or StoreConfig(path=base / DEFAULT_DATABASE),
            admin=admin or AdminConfig(),
            proxy_trust=proxy_trust or ProxyTrust(),
            http=http or HttpConfig(),
            http_limits=http_limits or HttpLimits(),
        )

    def resolve(self, path: str | Path) -> Path:
        """`path` relative to the configuration file's directory (absolute paths unchanged)."""
        return self.config_dir / Path(path).expanduser()


def load_config(path: Path) -> Config:
    """Read and validate the TOML file at `path`; raises `ConfigError`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    return parse_config(document, config_dir=path.resolve().parent)


def parse_config(document: Mapping[str, Any], *, config_dir: Path) -> Config:
    """Validate an already parsed TOML document (relative paths resolve against `config_dir`)."""
    # Imported here: the webhook settings use this module's ConfigError and declare_keys.
    from mxproxy.webhooks.settings import parse_webhooks

    _check_keys(document)
    return Config(
        provisioning=_provisioning(document.get("provisioning", DEFAULT_PROVISIONING)),
        log_name=_optional_path(document.get("logName", ""), "logName", config_dir),
        apps=_apps(document.get("apps")),
        voip=_voip(_table(document.get("voip", {}), "voip")),
        config_dir=config_dir,
        jwt=_jwt(_table(document.get("jwt", {}), "jwt")),
        mx=_mx(_table(document.get("mx", {}), "mx"), config_dir),
        store=_store(_table(document.get("store", {}), "store"), config_dir),
        admin=_admin(_table(document.get("admin", {}), "admin")),
        proxy_trust=_proxy_trust(_table(document.get("http", {}), "http")),
        http=parse_http(_table(document.get("http", {}), "http")),
        http_limits=_http_limits(_table(document.get("http", {}), "http")),
        webhooks=parse_webhooks(document.get("webhooks")),
        cluster=_cluster(_table(document.get("cluster", {}), "cluster")),
    )


def _provisioning(value: object) -> str:
    text = _string(value, "provisioning")
    if not text.startswith(("https://", "http://")):
        raise ConfigError("provisioning: must be an http:// or https:// URL")
    return text


def _apps(value: object) -> dict[str, str]:
    if value is None:
        raise ConfigError("apps: required and must not be empty")
    table = _table(value, "apps")
    if not table:
        raise ConfigError("apps: required and must not be empty")
    apps: dict[str, str] = {}
    for client_id, secret in table.items():
        # An empty secret would let anyone who knows the (public) client id in.
        if not isinstance(secret, str) or not secret:
            raise ConfigError(f"apps.{client_id}: secret must be a non-empty string")
        apps[client_id] = secret
    return apps


declare_keys("voip", VOIP_KEYS)


def _voip(table: dict[str, Any]) -> dict[str, Any]:
    """Check the values a typo there would silently change; the push module reads the rest."""
    _duration(table, "apnTTL", "voip", 600.0)
    if not isinstance(table.get("voipAllEvents", False), bool):
        raise ConfigError("voip.voipAllEvents: must be true or false")
    for key in ("apn", "apnKeys", "fcm"):
        if key in table:
            _table(table[key], f"voip.{key}")
    return table


declare_keys("jwt", {"tokenTTL", "signKeyTTL", "refreshTTL"})


def _jwt(table: dict[str, Any]) -> JwtConfig:
    defaults = JwtConfig()
    return JwtConfig(
        token_ttl=_duration(table, "tokenTTL", "jwt", defaults.token_ttl),
        sign_key_ttl=_duration(table, "signKeyTTL", "jwt", defaults.sign_key_ttl),
        refresh_ttl=_duration(table, "refreshTTL", "jwt", defaults.refresh_ttl),
    )


declare_keys("mx", {"timeout", "connectTimeout", "callLogIdle", "verifyTLS", "caFile", "reconnectMax"})


def _mx(table: dict[str, Any], config_dir: Path) -> MXConfig:
    defaults = MXConfig()
    verify_tls = table.get("verifyTLS", defaults.verify_tls)
    if not isinstance(verify_tls, bool):
        raise ConfigError("mx.verifyTLS: must be true or false")
    return MXConfig(
        timeout=_duration(table, "timeout", "mx", defaults.timeout),
        connect_timeout=_duration(table, "connectTimeout", "mx", defaults.connect_timeout),
        call_log_idle=_duration(table, "callLogIdle", "mx", defaults.call_log_idle),
        verify_tls=verify_tls,
        ca_file=_optional_path(table.get("caFile", ""), "mx.caFile", config_dir),
        reconnect_max=_duration(table, "reconnectMax", "mx", defaults.reconnect_max),
    )


declare_keys("cluster", {"advertise", "leaseTTL"})


def _cluster(table: dict[str, Any]) -> ClusterConfig:
    advertise = _advertise(table["advertise"], "cluster.advertise") if "advertise" in table else None
    ttl = table.get("leaseTTL", 3.0)
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 1 <= ttl <= 60:
        raise ConfigError("cluster.leaseTTL: must be a number of seconds from 1 to 60")
    return ClusterConfig(advertise=advertise, lease_ttl=float(ttl))


def _advertise(value: object, name: str) -> str:
    text = value if isinstance(value, str) else ""
    if not text.startswith(("http://", "https://")) or len(text) < 10:
        raise ConfigError(f"{name}: must be the http:// URL the other instances reach this one at")
    return text.rstrip("/")


def advertise_url(value: str) -> str:
    """`--advertise`'s value checked like `[cluster] advertise`."""
    return _advertise(value, "--advertise")


declare_keys("store", {"path", "url", "key", "keyFile", "poolSize"})


def _store(table: dict[str, Any], config_dir: Path) -> StoreConfig:
    database = _optional_path(table.get("path", DEFAULT_DATABASE), "store.path", config_dir)
    if database is None:
        raise ConfigError("store.path: must not be empty")
    if "path" in table and "url" in table:
        raise ConfigError("store: give either path or url, not both")
    url = _store_url(table["url"]) if "url" in table else None
    if "key" in table and "keyFile" in table:
        raise ConfigError("store: give either key or keyFile, not both")
    key = _store_key(table["key"]) if "key" in table else None
    key_file = _optional_path(table.get("keyFile", ""), "store.keyFile", config_dir)
    pool_size = table.get("poolSize", DEFAULT_POOL_SIZE)
    # bool is an int in Python; `poolSize = true` is a mistake, not 1.
    if not isinstance(pool_size, int) or isinstance(pool_size, bool) or not 1 <= pool_size <= _MAX_POOL_SIZE:
        raise ConfigError(f"store.poolSize: must be a whole number from 1 to {_MAX_POOL_SIZE}")
    return StoreConfig(path=database, key=key, key_file=key_file, url=url, pool_size=pool_size)


def _store_url(value: object) -> str:
    url = _string(value, "store.url")
    if not is_postgres_url(url):
        raise ConfigError("store.url: must be a postgresql:// URL")
    return url


def parse_http(table: dict[str, Any]) -> HttpConfig:
    origins = table.get("allowOrigins", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) and o.strip() for o in origins):
        raise ConfigError('http.allowOrigins: must be a list of origins such as ["https://app.example.com"]')
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin.strip()):
            raise ConfigError(f"http.allowOrigins: {json.dumps(origin)} is not an origin (scheme://host[:port])")
    return HttpConfig(allow_origins=tuple(origin.strip() for origin in origins))


declare_keys(
    "http",
    {"allowOrigins", "trustedProxies", "headerTimeout", "bodyTimeout", "keepAliveTimeout", "maxConnections"}
    | {"adminMaxConnections", "streamsPerUser"},
)


def _http_limits(table: dict[str, Any]) -> HttpLimits:
    defaults = HttpLimits()
    return HttpLimits(
        header_timeout=_duration(table, "headerTimeout", "http", defaults.header_timeout),
        body_timeout=_duration(table, "bodyTimeout", "http", defaults.body_timeout),
        keep_alive_timeout=_duration(table, "keepAliveTimeout", "http", defaults.keep_alive_timeout),
        max_connections=_count(table, "maxConnections", "http", defaults.max_connections),
        admin_max_connections=_count(
            table, "adminMaxConnections", "http", defaults.admin_max_connections
        ),
        streams_per_user=_count(table, "streamsPerUser", "http", defaults.streams_per_user),
    )


def _count(table: Mapping[str, Any], key: str, section: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{section}.{key}: must be a whole number of at least 1")
    return value


def _store_key(value: object) -> bytes:
    try:
        return decode_key(_string(value, "store.key"))
    except ValueError:
        raise ConfigError(f"store.key: must be the base64 encoding of {KEY_SIZE} bytes") from None


def _duration(table: Mapping[str, Any], key: str, section: str, default: float) -> float:
    if key not in table:
        return default
    value = table[key]
    name = f"{section}.{key}"
    if not isinstance(value, str):
        raise ConfigError(f'{name}: must be a duration string such as "1h" or "500ms"')
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise ConfigError(f"{name}: invalid duration {json.dumps(value)}") from None
    if seconds <= 0:
        raise ConfigError(f"{name}: must be positive, not {json.dumps(value)}")
    return seconds


def _optional_path(value: object, name: str, config_dir: Path) -> Path | None:
    text = _string(value, name)
    if not text:
        return None
    return config_dir / Path(text).expanduser()


def _string(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name}: must be a string")
    return value


def _table(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: must be a table ([{name}])")
    return value


# -- [admin] and [http] trustedProxies: who may use the admin web, whose X-Forwarded-For counts --

declare_keys("admin", {"users", "hosts", "debugLogForApps"})


def _admin(table: dict[str, Any]) -> AdminConfig:
    users: dict[str, str] = {}
    for name, hashed in _table(table.get("users", {}), "admin.users").items():
        if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise ConfigError(f"admin.users.{name}: must be a bcrypt hash (mxproxy hash-password)")
        if ":" in name or not name:
            raise ConfigError(f"admin.users.{name}: a user name must not be empty or contain ':'")
        users[name] = hashed
    hosts = table.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        raise ConfigError("admin.hosts: must be a list of host names")
    unsafe = table.get("debugLogForApps", False)
    if not isinstance(unsafe, bool):
        raise ConfigError("admin.debugLogForApps: must be true or false")
    return AdminConfig(
        users=users, hosts=tuple(h.lower() for h in hosts), debug_log_for_apps=unsafe
    )


def _proxy_trust(table: dict[str, Any]) -> ProxyTrust:
    if "trustedProxies" not in table:
        return ProxyTrust()
    value = table["trustedProxies"]
    if not isinstance(value, list):
        raise ConfigError("http.trustedProxies: must be a list of CIDRs")
    networks: list[IPNetwork] = []
    for index, cidr in enumerate(value):
        try:
            networks.append(ipaddress.ip_network(_string(cidr, "http.trustedProxies"), strict=False))
        except ValueError:
            raise ConfigError(f"http.trustedProxies[{index}]: not a CIDR such as 10.0.0.0/8") from None
    return ProxyTrust(networks=tuple(networks))
