"""`python -m bench.soak [--short] [scenario …]` (`./dev soak`): a bounded fault soak against
the simulator, one `RESULT name=<scenario> key=value …` line per scenario.

Scenarios (bench/soak_scenarios/): `soak_drops` (forced PBX drops under load with live event
streams), `soak_restarts` (SIGTERM and SIGKILL restarts with users and device tokens),
`soak_pbx_faults` (garbage, stalls and wedges from the PBX) and `soak_clients` (slow and idle
HTTP clients, more connections than allowed). Each reports requests by status, `errors_5xx`
(must be 0), `unexpected_401` (outside reconnect windows), what was lost (must be 0), the
proxy's RSS growth and `all_back_s`, the seconds until everything was back after the last
fault. `--short` is the version the test suite runs; the full run takes several minutes.
The exit status is 1 when a scenario failed or broke one of the must-be-0 rules.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from bench.report import ScenarioResult
from bench.soak_scenarios import SOAK_SCENARIOS
from bench.soak_scenarios.sizes import SoakContext, SoakSizes

# Figures that must be 0 in every scenario that reports them.
MUST_BE_ZERO = (
    "errors_5xx",
    "unexpected_401",
    "sse_streams_lost",
    "sessions_lost",
    "users_lost",
    "tokens_lost",
    "device_tokens_lost",
    "duplicate_pbx_connections",
    "idle_not_cut",
    "slow_headers_not_cut",
    "slow_body_not_cut",
)


def broken_rules(result: ScenarioResult) -> list[str]:
    """The must-be-0 figures that are not, and a missing or NaN `all_back_s`."""
    broken = [f"{key}={result.values[key]}" for key in MUST_BE_ZERO if result.values.get(key, 0) != 0]
    back = result.values.get("all_back_s")
    if not isinstance(back, int | float) or back != back:  # NaN != NaN
        broken.append("all_back_s=nan")
    return broken


async def run_soak(names: list[str], ctx: SoakContext) -> list[ScenarioResult]:
    results: list[ScenarioResult] = []
    for name in names:
        ctx.log(f"== {name}")
        try:
            result = await SOAK_SCENARIOS[name](ctx)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            result = ScenarioResult(name)
            result.add("status", "failed")
            result.note(f"failed: {type(exc).__name__}: {exc}")
        results.append(result)
        print(result.result_line(), flush=True)
        for note in result.notes:
            print(f"# {name}: {note}", file=sys.stderr, flush=True)
    return results


def _raise_file_limit() -> None:
    # The clients scenario opens hundreds of sockets; the children inherit the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev soak", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "scenarios", nargs="*", metavar="scenario", help=f"any of {', '.join(SOAK_SCENARIOS)}"
    )
    parser.add_argument("--short", action="store_true", help="the small version the test suite runs")
    parser.add_argument("--proxy-log-level", default="warning", help="the proxy's --log-level")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SOAK_SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}")
    _raise_file_limit()
    workdir = Path(tempfile.mkdtemp(prefix="mxproxy-soak-"))
    sizes = SoakSizes.short() if args.short else SoakSizes.full()
    ctx = SoakContext(sizes, workdir, proxy_log_level=args.proxy_log_level)
    import uvloop

    try:
        results = uvloop.run(run_soak(args.scenarios or list(SOAK_SCENARIOS), ctx))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; every process started was stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"# work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    failed = False
    for result in results:
        broken = broken_rules(result)
        if broken or result.values.get("status") == "failed":
            failed = True
            print(f"# {result.name}: broken: {' '.join(broken) or 'failed'}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
