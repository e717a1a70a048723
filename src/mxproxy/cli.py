"""The `mxproxy` command: `serve` (the proxy), `demo` (simulator + provisioning stub + proxy
in one process), `sim` (the MX simulator alone), `check-config`, `hash-password` and `--version`."""

from __future__ import annotations

import sys

from mxproxy import __version__

_USAGE = """usage: mxproxy {serve,demo,sim,check-config} [options]   (mxproxy COMMAND --help for options)

  serve          run the proxy (REST API + admin web) against real MX servers
  demo           run the simulator, the provisioning stub and the proxy together, ready for curl
  sim            run the MX simulator and its provisioning stub alone
  check-config   validate a configuration file without starting (exit 0 if usable, else 2)
  hash-password  print a bcrypt hash for [admin] users (password from the terminal or stdin)
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"}:
        print(_USAGE, end="")
        return 0 if args else 2
    if args[0] in {"-V", "--version"}:
        print(f"mxproxy {__version__}")
        return 0
    command, rest = args[0], args[1:]
    if command == "sim":
        from mxproxy.sim.cli import main as sim_main

        return sim_main(rest)
    if command == "check-config":
        from mxproxy.checkconfig import main as check_main

        return check_main(rest)
    if command == "hash-password":
        from mxproxy.auth.admin_guard import hash_password_command

        return hash_password_command(rest)
    if command in {"serve", "demo"}:
        from mxproxy.server import main as server_main

        return server_main(command, rest)
    print(f"mxproxy: unknown command {command!r}\n{_USAGE}", end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
