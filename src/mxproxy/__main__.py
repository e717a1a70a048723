"""`python -m mxproxy` runs the `mxproxy` command."""

from mxproxy.cli import main

raise SystemExit(main())
