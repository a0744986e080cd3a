"""Shared by scripts/dev.py and scripts/test.py: a project virtualenv with the pinned
requirements, created or refreshed only when the requirement files change."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("COMMONALITY_VENV", ROOT / ".venv"))
REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt")
MINIMUM_PYTHON = (3, 11)


_STARTED = time.monotonic()


def say(message: str) -> None:
    # The time since start, so a slow run shows which step took it.
    print(f"==> [{time.monotonic() - _STARTED:6.0f} s] {message}", flush=True)


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _requirements_digest() -> str:
    digest = hashlib.sha256()
    for name in REQUIREMENT_FILES:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def python_environment_ensure() -> Path:
    if sys.version_info < MINIMUM_PYTHON:
        fail(f"Python {'.'.join(map(str, MINIMUM_PYTHON))} or newer is needed")
    python = venv_python()
    if not python.exists():
        say(f"creating virtualenv {VENV}")
        try:
            venv.create(VENV, with_pip=True)
        except Exception as error:  # Debian splits venv/ensurepip into python3-venv
            fail(f"cannot create a virtualenv ({error}); on Debian: apt-get install python3-venv")
    stamp = VENV / ".requirements-sha256"
    digest = _requirements_digest()
    if not stamp.exists() or stamp.read_text().strip() != digest:
        say("installing Python requirements (requirements-dev.txt)")
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(ROOT / "requirements-dev.txt"),
            ],
            check=True,
        )
        stamp.write_text(digest)
    return python


def system_package_ensure(command: str, debian_package: str) -> str:
    """The path of `command`, installing Debian's package when it is missing and we can."""
    found = shutil.which(command)
    if found:
        return found
    apt = shutil.which("apt-get")
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if apt and is_root:
        say(f"installing {debian_package} from Debian's packages")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([apt, "update", "-qq"], check=True, env=env)
        subprocess.run(
            [apt, "install", "-y", "-qq", "--no-install-recommends", debian_package],
            check=True,
            env=env,
        )
        found = shutil.which(command)
        if found:
            return found
    fail(
        f"{command} is needed; install it (Debian/Ubuntu: sudo apt-get install {debian_package}; "
        f"macOS: brew install {debian_package.removesuffix('-server')})"
    )
    raise AssertionError("unreachable")
