#!/usr/bin/env python3
"""Install what the tests need and run them.

    python3 scripts/test.py              # every test: backend, then the front end's
    python3 scripts/test.py -k signup    # arguments go to pytest (backend tests only)

The tests start their own DynamoDB-compatible server (moto) and, unless REDIS_URL is set,
their own redis-server, each on a free loopback port. redis-server is installed from Debian's
packages when missing. The front end's unit tests (vitest) and browser tests (Playwright
driving Debian's Chromium, installed when missing) run after the backend's.
"""

from __future__ import annotations

import os
import subprocess
import sys

from bootstrap import ROOT, python_environment_ensure, say, system_package_ensure

from frontend import frontend_test

PYTEST_NO_TESTS_COLLECTED = 5


def main() -> int:
    python = python_environment_ensure()
    system_package_ensure("redis-server", "redis-server")
    say("running the backend tests")
    # Settings fail closed (unset means production); the tests mean development, and the
    # ones about production set it for their own child processes.
    environment = {**os.environ, "ENVIRONMENT": os.environ.get("ENVIRONMENT") or "development"}
    code = subprocess.call([str(python), "-m", "pytest", *sys.argv[1:]], cwd=ROOT, env=environment)
    if code == PYTEST_NO_TESTS_COLLECTED:
        print("error: pytest collected no tests", file=sys.stderr)
        return 1
    if code != 0 or sys.argv[1:]:
        return code
    return frontend_test(str(python))


if __name__ == "__main__":
    sys.exit(main())
