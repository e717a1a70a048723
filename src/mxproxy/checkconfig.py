"""`mxproxy check-config --config FILE`: validate a configuration without starting anything.

Exit status 0 when the proxy would start with it (push credentials that cannot be used are
listed as warnings, as `serve` logs them), 2 with one line naming the problem otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mxproxy.config import ConfigError, load_config
from mxproxy.push import load_push_settings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mxproxy check-config", description="Validate a configuration file without starting."
    )
    parser.add_argument("--config", default=os.environ.get("CONFIG", "config.toml"), help="TOML config file")
    args = parser.parse_args(argv)
    path = Path(args.config)
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"mxproxy: configuration error: {exc}", file=sys.stderr)
        return 2
    _, problems = load_push_settings(config.voip, config.config_dir)
    for problem in problems:
        print(f"warning: push configuration: {problem}", file=sys.stderr)
    print(f"{path}: ok")
    return 0
