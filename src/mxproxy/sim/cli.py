"""`mxproxy sim`: run the MX simulator and its provisioning stub until SIGINT/SIGTERM.

    mxproxy sim --port 7778 --prov-port 8088 [--host H] [--contacts N] [--call-log N]
                [--users N] [--voicemail-bytes N]

Without sizing options the reference dataset is served; with any of them, a generated one
(see `Dataset.generated`). The ports, the provisioning URL, the control URL and the path of
the certificate PEM (for clients that verify) are printed on start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
from pathlib import Path

from mxproxy.sim.dataset import Dataset
from mxproxy.sim.server import Simulator


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mxproxy sim", description="Run a simulated Zultys MX and its provisioning stub."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=_non_negative, default=7778, help="MX (TLS) port")
    parser.add_argument("--prov-port", type=_non_negative, default=8088, help="HTTP port")
    parser.add_argument("--contacts", type=_non_negative, help="address book size")
    parser.add_argument("--call-log", type=_non_negative, help="call log records per user")
    parser.add_argument("--users", type=_non_negative, default=0, help="extra generated users")
    parser.add_argument("--voicemail-bytes", type=_non_negative, help="size of voicemail 1000")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every connection")
    return parser


def dataset_from(args: argparse.Namespace) -> Dataset:
    sizes = (args.contacts, args.call_log, args.voicemail_bytes)
    if args.users == 0 and all(size is None for size in sizes):
        return Dataset.reference()
    return Dataset.generated(
        contacts=args.contacts,
        call_log=args.call_log,
        voicemail_bytes=args.voicemail_bytes,
        users=args.users,
    )


async def serve(args: argparse.Namespace) -> None:
    simulator = Simulator(dataset_from(args), host=args.host)
    await simulator.start(args.port, args.prov_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with tempfile.TemporaryDirectory(prefix="mxsim-") as directory:
        cert_path = Path(directory) / "mx-cert.pem"
        cert_path.write_bytes(simulator.cert_pem)
        print(f"MX simulator listening on {args.host}:{simulator.port} (TLS)", flush=True)
        print(f"provisioning: {simulator.provisioning_url}", flush=True)
        print(f"control: {simulator.control_url}", flush=True)
        print(f"certificate: {cert_path}", flush=True)
        try:
            await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await simulator.stop()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
