"""`python -m bench.bare --body-file F --media-type T`: the comparison server for `GET /contacts`.

A bare Starlette app on uvicorn (uvloop, httptools, one process, no access log) that answers
`GET /contacts` (or `--path`) with fixed bytes, the same bytes and content type the proxy served. It is the
floor the proxy's HTTP stack is measured against. It binds 127.0.0.1 on an ephemeral port and
prints `listening on 127.0.0.1:PORT`.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build_app(body: bytes, media_type: str, path: str = "/contacts") -> Starlette:
    async def contacts(request: Request) -> Response:
        return Response(body, media_type=media_type)

    return Starlette(routes=[Route(path, contacts)])


async def serve(body: bytes, media_type: str, path: str = "/contacts") -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    config = uvicorn.Config(
        build_app(body, media_type, path),
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
    )
    server = uvicorn.Server(config)
    print(f"listening on 127.0.0.1:{sock.getsockname()[1]}", flush=True)
    await server.serve(sockets=[sock])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare")
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument("--media-type", default="application/json")
    parser.add_argument("--path", default="/contacts", help="the path it answers (GET)")
    args = parser.parse_args(argv)
    import uvloop

    uvloop.run(serve(args.body_file.read_bytes(), args.media_type, args.path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
