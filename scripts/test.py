#!/usr/bin/env python3
"""Install what the tests need and run them.

    python3 scripts/test.py              # the static checks, then every test: backend, front end
    python3 scripts/test.py -k signup    # arguments go to pytest (backend tests only, no checks)

The static checks come first because they are quick: ruff's lint and format check over the
Python tree (rules in ruff.toml), mypy (mypy.ini), the import contracts (.importlinter), then
the front end's `npm run check` (tsc --noEmit, eslint with the React hooks rules, no import
cycles in src/).

The tests start their own DynamoDB-compatible server (moto) and, unless REDIS_URL is set,
their own redis-server, each on a free loopback port; a full run spreads the test files over
two to four worker processes, each with servers of its own. redis-server is installed from Debian's
packages when missing. The front end's unit tests (vitest) and browser tests (Playwright
driving Debian's Chromium, installed when missing) run after the backend's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from bootstrap import ROOT, python_environment_ensure, say, system_package_ensure

from frontend import frontend_install, frontend_static_check, frontend_test

PYTEST_NO_TESTS_COLLECTED = 5
TEST_WORKERS_MAX = 4
PYTHON_TREES = ["apps", "commonality", "tests", "bench", "scripts", "manage.py"]


def static_checks(python: Path) -> int:
    """Each check runs even when one before it failed, so one run names every problem."""
    checks = [
        ("ruff lint", [str(python), "-m", "ruff", "check", *PYTHON_TREES]),
        ("ruff format", [str(python), "-m", "ruff", "format", "--check", *PYTHON_TREES]),
        # Settings and the trees it checks (apps, commonality) are in mypy.ini.
        ("type check", [str(python), "-m", "mypy"]),
        # Layers point one way, protocol modules stand alone: the contracts in .importlinter.
        ("import contract", [str(python.parent / "lint-imports"), "--no-cache"]),
    ]
    failed = []
    for name, command in checks:
        say(f"static check: {name}")
        if subprocess.call(command, cwd=ROOT) != 0:
            failed.append(name)
    say("static check: front end (tsc --noEmit, eslint, import cycles)")
    if frontend_static_check() != 0:
        failed.append("front end")
    if failed:
        print(f"error: static checks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def test_workers_arguments() -> list[str]:
    # One worker more than cores: while one waits on a server starting or a timeout, the
    # cores stay busy (on 2 cores, 3 workers took the run from 708 s to 615 s).
    workers = max(2, min((os.cpu_count() or 1) + 1, TEST_WORKERS_MAX))
    return ["-n", str(workers), "--dist", "loadfile"]


def _frontend_install_quietly() -> None:
    try:
        frontend_install()
    except Exception:
        pass  # the front end's own steps install again and say what failed


def main() -> int:
    full = not sys.argv[1:]
    # npm ci and pip install wait mostly on downloads and disks, not on each other.
    npm_install = threading.Thread(target=_frontend_install_quietly) if full else None
    if npm_install is not None:
        npm_install.start()
    python = python_environment_ensure()
    system_package_ensure("redis-server", "redis-server")
    if npm_install is not None:
        npm_install.join()
    if full and static_checks(python) != 0:
        return 1
    say("running the backend tests")
    # Settings fail closed (unset means production); the tests mean development, and the
    # ones about production set it for their own child processes.
    environment = {**os.environ, "ENVIRONMENT": os.environ.get("ENVIRONMENT") or "development"}
    # A full run spreads the test files over worker processes (pytest-xdist), each with its
    # own moto and redis-server (tests/support/pytest_servers.py): most tests wait on servers,
    # sockets and timeouts, so a worker per core and one more keep the cores busy. Files stay
    # whole on one worker, as their module fixtures (two Daphnes, a benchmark's corpus) are
    # costly to start.
    # The slowest tests are listed at the end, to keep the run's time in view.
    full_run = [*test_workers_arguments(), "--durations=25"] if full else []
    code = subprocess.call(
        [str(python), "-m", "pytest", *full_run, *sys.argv[1:]], cwd=ROOT, env=environment
    )
    if code == PYTEST_NO_TESTS_COLLECTED:
        print("error: pytest collected no tests", file=sys.stderr)
        return 1
    if code != 0 or not full:
        return code
    return frontend_test(str(python))


if __name__ == "__main__":
    sys.exit(main())
