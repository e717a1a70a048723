"""`python -m bench [--quick] [scenario …]` (`./dev bench`): run the scenarios, print a table
and one `RESULT name=<scenario> key=value …` line per scenario.

A scenario that fails is reported as `RESULT name=<scenario> status=failed` and the run goes on
with the next; the exit status is then 1. Ctrl-C stops every process the run started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from bench.context import BenchContext, Sizes
from bench.load import LoadGenerator
from bench.report import ScenarioResult, render_table
from bench.scenarios import SCENARIOS
from mxproxy.server import raise_open_files_limit


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="./dev bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "scenarios", nargs="*", metavar="scenario", help=f"any of {', '.join(SCENARIOS)} (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs (~2 minutes in all)")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    parser.add_argument(
        "--no-install", action="store_true", help="do not apt-get install wrk when it is missing"
    )
    parser.add_argument(
        "--proxy-log-level", default="info", help="the proxy's --log-level (default info, its own default)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (logs, configs, databases)"
    )
    return parser


async def run_all(names: list[str], ctx: BenchContext) -> list[ScenarioResult]:
    results: list[ScenarioResult] = []
    for name in names:
        ctx.log(f"== {name}")
        try:
            result = await SCENARIOS[name](ctx)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            result = ScenarioResult(name)
            result.add("status", "failed")
            result.note(f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        results.append(result)
        print(result.result_line(), file=sys.stderr, flush=True)
    return results


async def main_async(args: argparse.Namespace, workdir: Path) -> list[ScenarioResult]:
    # SIGTERM (a CI timeout, `kill`) ends the run like Ctrl-C: the scenarios' cleanup runs.
    main_task = asyncio.current_task()
    if main_task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    load = await LoadGenerator.detect(allow_install=not args.no_install, force_python=args.python_load)
    sizes = Sizes.quick_run() if args.quick else Sizes.full()
    ctx = BenchContext(sizes, load, workdir, proxy_log_level=args.proxy_log_level)
    header = (
        f"# mxproxy bench ({'quick' if args.quick else 'full'}): nproc={os.cpu_count()} "
        f"python={platform.python_version()} load={load.tool}"
    )
    print(header, flush=True)
    if load.note:
        print(f"# {load.note}", flush=True)
    ctx.log(f"work directory {workdir}")
    return await run_all(args.scenarios or list(SCENARIOS), ctx)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        build_parser().error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    # Thousands of sessions need thousands of descriptors in the proxy and the simulator,
    # which inherit this limit.
    raise_open_files_limit()
    workdir = Path(tempfile.mkdtemp(prefix="mxproxy-bench-"))
    import uvloop

    try:
        results = uvloop.run(main_async(args, workdir))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; every process started was stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"# work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(render_table(results))
    print()
    for result in results:
        print(result.result_line())
    failed = any(result.values.get("status") == "failed" for result in results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
