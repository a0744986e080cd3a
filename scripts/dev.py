#!/usr/bin/env python3
"""Install everything and run Commonality locally on embedded defaults.

    python3 scripts/dev.py            # backend on http://127.0.0.1:8000
    python3 scripts/dev.py --reload   # restart on code changes (embedded data resets)

Embedded defaults: an in-process DynamoDB-compatible server (data lives as long as the
process), the in-memory channel layer, no provider keys. Any variable already set in the
environment (or in .env) wins over these defaults.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from bootstrap import ROOT, python_environment_ensure, say

EMBEDDED_DEFAULTS = {
    "ENVIRONMENT": "development",
    "DYNAMODB_ENDPOINT": "embedded",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BACKEND_PORT", 8000)))
    parser.add_argument("--reload", action="store_true", help="restart when code changes")
    options = parser.parse_args()

    python = python_environment_ensure()
    environment = dict(os.environ)
    for name, value in EMBEDDED_DEFAULTS.items():
        environment.setdefault(name, value)

    command = [str(python), "manage.py", "runserver", f"{options.host}:{options.port}"]
    if not options.reload:
        command.append("--noreload")
    say(f"backend on http://{options.host}:{options.port} (Ctrl-C stops)")
    try:
        return subprocess.call(command, cwd=ROOT, env=environment)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
