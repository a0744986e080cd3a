#!/usr/bin/env python3
"""Install everything and run Commonality locally on embedded defaults.

    python3 scripts/dev.py            # web app on http://127.0.0.1:3000, API on :8000
    python3 scripts/dev.py --no-frontend
    python3 scripts/dev.py --reload   # restart the backend on code changes (data resets)

Embedded defaults: an in-process DynamoDB-compatible server (data lives as long as the
process), the in-memory channel layer, no provider keys (messages arrive untranslated, marked
so). Any variable already set in the environment (or in .env) wins over these defaults.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from bootstrap import ROOT, python_environment_ensure, say

from frontend import FRONTEND, frontend_dev_command, frontend_dev_env, frontend_install

EMBEDDED_DEFAULTS = {
    "ENVIRONMENT": "development",
    "DYNAMODB_ENDPOINT": "embedded",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BACKEND_PORT", 8000)))
    parser.add_argument("--frontend-port", type=int, default=3000)
    parser.add_argument("--no-frontend", action="store_true", help="run the backend only")
    parser.add_argument("--reload", action="store_true", help="restart when code changes")
    options = parser.parse_args()

    python = python_environment_ensure()
    environment = dict(os.environ)
    for name, value in EMBEDDED_DEFAULTS.items():
        environment.setdefault(name, value)
    api_url = f"http://{options.host}:{options.port}"
    frontend_origins = [
        f"http://localhost:{options.frontend_port}",
        f"http://127.0.0.1:{options.frontend_port}",
    ]
    environment.setdefault("CORS_ORIGINS", ",".join(frontend_origins))

    backend_command = [str(python), "manage.py", "runserver", f"{options.host}:{options.port}"]
    if not options.reload:
        backend_command.append("--noreload")
    processes = []
    try:
        processes.append(subprocess.Popen(backend_command, cwd=ROOT, env=environment))
        say(f"API on {api_url}")
        if not options.no_frontend:
            try:
                frontend_install()
            except (RuntimeError, subprocess.CalledProcessError) as error:
                print(f"error: {error} (or run the API alone: --no-frontend)", file=sys.stderr)
                return 1
            processes.append(
                subprocess.Popen(
                    frontend_dev_command(api_url, options.frontend_port),
                    cwd=FRONTEND,
                    env=frontend_dev_env(api_url, options.frontend_port),
                )
            )
            say(f"web app on http://127.0.0.1:{options.frontend_port} (Ctrl-C stops both)")
        while True:
            for process in processes:
                if process.poll() is not None:
                    return process.returncode
            try:
                processes[0].wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                # SIGTERM, not SIGINT: a shell starting this in the background has its children
                # ignore SIGINT, and Twisted then leaves it ignored (Daphne waited for the kill).
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
