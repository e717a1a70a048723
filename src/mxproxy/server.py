"""Running the proxy: `mxproxy serve` (against real MX servers) and `mxproxy demo` (the
simulator, its provisioning stub and the proxy in one process), until SIGTERM/SIGINT, then a
graceful stop: no new connections, in-flight requests finish, PBX sessions log out. SIGHUP
reopens the log file. A configuration that cannot be used, a database that cannot be opened
or a port already in use ends the start with one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import logging
import os
import resource
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from mxproxy.api.admin import create_admin_app
from mxproxy.api.app import create_api_app
from mxproxy.auth.admin_guard import check_admin_listen
from mxproxy.cluster import ClusterUnavailable
from mxproxy.config import Config, ConfigError, StoreConfig, advertise_url, load_config
from mxproxy.httpguard import ClientLimits
from mxproxy.httpserver import HttpListener, parse_listen
from mxproxy.live.hub import DEFAULT_HEARTBEAT
from mxproxy.logs import reopen_log_file, setup_logging
from mxproxy.service import Runtime, Tuning
from mxproxy.store import KeyFileError, StoreError

log = logging.getLogger("mxproxy")

DEMO_APP_ID = "demo"
DEMO_APP_SECRET = "demo-secret"  # noqa: S105 - the demo's published credentials


class StartupError(Exception):
    """The proxy cannot start (database, listening port); the message is the line to print."""


def main(command: str, argv: list[str]) -> int:
    parser = _serve_parser() if command == "serve" else _demo_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    try:
        api_listen = parse_listen(args.port, "0.0.0.0")  # noqa: S104 - the API is meant to be reachable
        admin_listen = parse_listen(args.admin, "127.0.0.1")
    except ValueError as exc:
        parser.error(str(exc))
    runner = (
        _serve(args, api_listen, admin_listen)
        if command == "serve"
        else _demo(args, api_listen, admin_listen)
    )
    try:
        return _run(runner)
    except ConfigError as exc:
        print(f"mxproxy: configuration error: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"mxproxy: cannot start: {exc}", file=sys.stderr)
        return 2


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit to the hard one (each client and PBX is a file); returns
    the limit now in force. systemd's default soft limit (1,024) is reached by idle clients."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:  # pragma: no cover - a sandbox may forbid it
            log.warning("open-files limit stays at %d: %s", soft, exc)
            return soft
        return hard
    return soft


def _run(coroutine: Awaitable[int]) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency, but not on every platform
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    return uvloop.run(coroutine)  # type: ignore[arg-type]


def _common(parser: argparse.ArgumentParser, port: str, admin: str) -> None:
    parser.add_argument("--port", default=os.environ.get("PORT", port), help="API [HOST:]PORT (env PORT)")
    parser.add_argument(
        "--admin", default=os.environ.get("ADMIN", admin), help="admin web [HOST:]PORT (env ADMIN)"
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("DB"),
        help="SQLite database file, or postgresql://USER:PASS@HOST:PORT/DB (env DB)",
    )
    parser.add_argument(
        "--advertise",
        default=os.environ.get("ADVERTISE"),
        help="cluster mode: the URL the other instances reach this one's API at (env ADVERTISE)",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info"))
    parser.add_argument(
        "--sse-heartbeat",
        type=_positive_seconds,
        default=os.environ.get("SSE_HEARTBEAT", "15"),
        help="seconds between heartbeat comments on idle /events streams (env SSE_HEARTBEAT)",
    )
    parser.add_argument(
        "--log-format", choices=["console", "json"], default=os.environ.get("LOG_FORMAT", "console")
    )


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return seconds


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mxproxy serve", description="Run the proxy.")
    parser.add_argument("--config", default=os.environ.get("CONFIG", "config.toml"), help="TOML config file")
    _common(parser, ":8000", "localhost:8043")
    return parser


def _demo_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mxproxy demo", description="Run the MX simulator, its provisioning stub and the proxy together."
    )
    _common(parser, "127.0.0.1:8000", "localhost:8043")
    parser.add_argument("--mx-port", type=int, default=0, help="simulator MX port (default: any free)")
    parser.add_argument("--prov-port", type=int, default=0, help="provisioning stub port (default: any free)")
    return parser


async def _serve(args: argparse.Namespace, api: tuple[str, int], admin: tuple[str, int]) -> int:
    config = load_config(Path(args.config))
    if args.db:
        config = dataclasses.replace(config, store=config.store.with_database(args.db))
    if args.advertise:
        cluster = dataclasses.replace(config.cluster, advertise=advertise_url(args.advertise))
        config = dataclasses.replace(config, cluster=cluster)
    if config.store.url is not None and config.cluster.advertise is None and _wildcard(api[0]):
        raise ConfigError(
            "cluster.advertise: needed with a PostgreSQL store when the API listens on a wildcard "
            "address (the URL the other instances reach this one at; or --advertise, ADVERTISE)"
        )
    setup_logging(args.log_level, args.log_format, config.log_name)
    return await run_proxy(config, api, admin, sse_heartbeat=args.sse_heartbeat)


def _wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::", "*")  # noqa: S104 - comparing, not binding


async def _demo(args: argparse.Namespace, api: tuple[str, int], admin: tuple[str, int]) -> int:
    from mxproxy.sim import Simulator

    workdir = Path(tempfile.mkdtemp(prefix="mxproxy-demo-"))
    store = StoreConfig(path=workdir / "demo.db")
    if args.db:
        store = store.with_database(args.db)
    simulator = Simulator()
    await simulator.start(port=args.mx_port, prov_port=args.prov_port)
    config = Config.default(
        apps={DEMO_APP_ID: DEMO_APP_SECRET},
        config_dir=workdir,
        provisioning=simulator.provisioning_url,
        log_name=workdir / "mxproxy.log",
        store=store,
    )
    setup_logging(args.log_level, args.log_format, config.log_name)

    def announce(api_url: str, admin_url: str) -> None:
        print(_demo_banner(api_url, admin_url, simulator.port, simulator.provisioning_url), flush=True)

    try:
        return await run_proxy(config, api, admin, on_ready=announce, sse_heartbeat=args.sse_heartbeat)
    finally:
        await simulator.stop()


async def run_proxy(
    config: Config,
    api: tuple[str, int],
    admin: tuple[str, int],
    *,
    on_ready: Callable[[str, str], None] | None = None,
    sse_heartbeat: float = DEFAULT_HEARTBEAT,
) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status."""
    admin_protection = check_admin_listen(config.admin, admin[0])
    open_files = raise_open_files_limit()
    limits = config.http_limits
    try:
        service = await Runtime.open(config, Tuning(sse_heartbeat=sse_heartbeat))
    except (StoreError, KeyFileError, OSError) as exc:
        raise StartupError(f"database: {_one_line(exc)}") from None
    listeners: list[HttpListener] = []
    try:
        listeners.append(_listener(create_api_app(service), api, "API", limits.max_connections, config))
        listeners.append(
            _listener(create_admin_app(service), admin, "admin", limits.admin_max_connections, config)
        )
    except StartupError:
        for unused in listeners:
            await unused.stop()
        await service.close()
        raise
    api_listener, admin_listener = listeners
    advertise = config.cluster.advertise or api_listener.url
    try:
        await service.start(advertise=advertise)
    except ClusterUnavailable as exc:
        for listener in listeners:
            await listener.stop()
        await service.close()
        raise StartupError(f"cluster database: {_one_line(exc)}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reopen_log_file)
    if limits.max_connections + limits.admin_max_connections > open_files:
        log.warning(
            "the open-files limit (%d) is below [http] maxConnections + adminMaxConnections (%d): "
            "raise LimitNOFILE",
            open_files,
            limits.max_connections + limits.admin_max_connections,
        )
    try:
        await api_listener.start()
        await admin_listener.start()
        log.info(
            "listening: API %s, admin web %s",
            api_listener.url,
            admin_listener.url,
            extra={"fields": {"api": api_listener.url, "admin": admin_listener.url}},
        )
        log.info(admin_protection)
        if on_ready is not None:
            on_ready(api_listener.url, admin_listener.url)
        await stop.wait()
        log.info(
            "stopping: draining requests, %s",
            "handing PBX sessions over" if service.cluster is not None else "logging PBX sessions out",
        )
    finally:
        # Live event streams never finish by themselves: end them so the listeners can drain.
        service.live.close()
        await api_listener.stop()
        await admin_listener.stop()
        await service.close()
    return 0


def _listener(
    app: object, where: tuple[str, int], name: str, connections: int, config: Config
) -> HttpListener:
    limits = config.http_limits
    client_limits = ClientLimits(
        header_timeout=limits.header_timeout, body_timeout=limits.body_timeout, max_connections=connections
    )
    try:
        return HttpListener(
            app, *where, limits=client_limits, keep_alive_timeout=limits.keep_alive_timeout, name=name
        )
    except OSError as exc:
        host, port = where
        raise StartupError(f"{name} address {host}:{port}: {exc.strerror or exc}") from None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return " ".join(str(exc).split()) or type(exc).__name__


def _demo_banner(api: str, admin: str, mx_port: int, provisioning: str) -> str:
    basic = base64.b64encode(f"{DEMO_APP_ID}:{DEMO_APP_SECRET}".encode()).decode()
    return f"""
mxproxy demo is up.
  API            {api}
  admin web      {admin}
  MX simulator   127.0.0.1:{mx_port} (TLS)
  provisioning   {provisioning}

Log in (app "{DEMO_APP_ID}", user dmitrys@xyzrd.com / 78561) and keep the token:
  TOKEN=$(curl -s {api}/auth -H 'Authorization: Basic {basic}' \\
      -d username=dmitrys@xyzrd.com -d password=78561 -d grant_type=password \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
Then:
  curl -s {api}/auth -H "Authorization: Bearer $TOKEN"
  curl -s {api}/contacts -H "Authorization: Bearer $TOKEN"
  curl -s {api}/calls -H "Authorization: Bearer $TOKEN"
  curl -s {admin}/connections
Stop with Ctrl-C.
"""
