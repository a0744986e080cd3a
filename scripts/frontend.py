"""The Next.js front end (frontend/) for the repository's one-command scripts.

    from frontend import FRONTEND, frontend_dev_command, frontend_dev_env, frontend_install, frontend_test

    frontend_install()                                   # npm ci, only when needed
    code = frontend_static_check()                       # tsc, eslint, import cycles
    subprocess.call(frontend_dev_command(api, 3000), cwd=FRONTEND, env=frontend_dev_env(api, 3000))
    code = frontend_test(python)                         # unit tests, then the browser suite

Standard library only. Needs Node.js 20.9+ and npm on PATH.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bootstrap import say as _say

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "frontend"
NODE_MODULES = FRONTEND / "node_modules"
LOCKFILE = FRONTEND / "package-lock.json"
STAMP = NODE_MODULES / ".package-lock-sha256"
CHROMIUM = "/usr/bin/chromium"
# The voice tests' fake microphone plays a sentence espeak-ng speaks at the start of the run.
ESPEAK = "espeak-ng"
MINIMUM_NODE = (20, 9)


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed for the front end; install Node.js 20.9 or newer")
    return npm


def _node_check() -> None:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node.js 20.9 or newer is needed for the front end")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    parts = tuple(int(part) for part in version.lstrip("v").split(".")[:2])
    if parts < MINIMUM_NODE:
        raise RuntimeError(
            f"Node.js {'.'.join(map(str, MINIMUM_NODE))}+ is needed (found {version})"
        )


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never download browsers: the browser suite uses the system's Chromium.
    env["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    env.setdefault("NEXT_TELEMETRY_DISABLED", "1")
    return env


def _lock_digest() -> str:
    return hashlib.sha256(LOCKFILE.read_bytes()).hexdigest()


def frontend_install() -> None:
    """`npm ci` in frontend/, skipped while node_modules matches package-lock.json."""
    _node_check()
    digest = _lock_digest()
    if NODE_MODULES.is_dir() and STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    _say("installing the front end's npm packages (npm ci)")
    subprocess.run(
        [_npm(), "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, env=_base_env(), check=True
    )
    STAMP.write_text(digest)


def frontend_dev_env(api_url: str, port: int) -> dict[str, str]:
    """The environment for frontend_dev_command: the API the browser talks to (the port is
    on the command line)."""
    env = _base_env()
    env["NEXT_PUBLIC_API_URL"] = api_url.rstrip("/")
    env.pop("NEXT_DIST_DIR", None)
    return env


def frontend_dev_command(api_url: str, port: int) -> list[str]:
    """The command that runs the Next.js dev server on `port` against the backend at
    `api_url`; run it with cwd=FRONTEND and env=frontend_dev_env(api_url, port).

    The backend must allow the page's origin: http://localhost:PORT and
    http://127.0.0.1:PORT for PORT 3000 are in its development CORS_ORIGINS default; for
    another port set CORS_ORIGINS=http://127.0.0.1:PORT on the backend."""
    return [_npm(), "run", "dev", "--", "--port", str(port), "--hostname", "127.0.0.1"]


def _apt_install(package: str, why: str) -> None:
    """`apt-get install package` when apt-get is there and we are root; nothing otherwise."""
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        _say(f"installing {package} from Debian's packages ({why})")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([apt, "update", "-qq"], check=True, env=env)
        subprocess.run(
            [apt, "install", "-y", "-qq", "--no-install-recommends", package], check=True, env=env
        )


def _chromium_ensure() -> bool:
    """Debian's Chromium at /usr/bin/chromium, installed with apt-get when missing and root."""
    if os.path.exists(CHROMIUM):
        return True
    _apt_install("chromium", "for the browser tests")
    if os.path.exists(CHROMIUM):
        return True
    print(
        f"error: the browser tests need Chromium at {CHROMIUM} "
        "(Debian/Ubuntu: sudo apt-get install chromium), or CHROMIUM_PATH set to one",
        file=sys.stderr,
    )
    return False


def _espeak_ensure() -> bool:
    """espeak-ng on PATH (the voice tests' fake microphone speech), installed with apt-get
    when missing and root."""
    if shutil.which(ESPEAK):
        return True
    _apt_install("espeak-ng", "speech for the voice tests' fake microphone")
    if shutil.which(ESPEAK):
        return True
    print(
        f"error: the voice browser tests need {ESPEAK} to make their fake microphone's speech "
        "(Debian/Ubuntu: sudo apt-get install espeak-ng)",
        file=sys.stderr,
    )
    return False


def frontend_static_check() -> int:
    """tsc --noEmit, eslint and the import-cycle check (`npm run check`, seconds)."""
    try:
        frontend_install()
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return subprocess.call([_npm(), "run", "check"], cwd=FRONTEND, env=_base_env())


def frontend_test(python: str) -> int:
    """Unit tests (vitest), then the browser suite (Playwright against the real backend run
    by `python`). Returns 0 when both pass, non-zero otherwise."""
    try:
        frontend_install()
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    env = _base_env()
    # abspath, not resolve(): a virtualenv's python is a symlink to the base interpreter.
    env["COMMONALITY_PYTHON"] = os.path.abspath(python)
    _say("front end unit tests (npm test)")
    code = subprocess.call([_npm(), "test"], cwd=FRONTEND, env=env)
    if code != 0:
        return code
    if not os.environ.get("CHROMIUM_PATH") and not _chromium_ensure():
        return 1
    if not _espeak_ensure():
        return 1
    _say("front end browser tests (npm run e2e)")
    return subprocess.call([_npm(), "run", "e2e"], cwd=FRONTEND, env=env)


if __name__ == "__main__":
    # python3 scripts/frontend.py [python]: install and run the front end's tests.
    sys.exit(
        frontend_test(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".venv" / "bin" / "python"))
    )
