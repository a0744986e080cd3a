"""Running `manage.py` in a child process, as an operator or a deploy would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage_py(
    *arguments: str, environment: dict[str, str], stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def command_help_description(command: str, environment: dict[str, str]) -> str:
    """The description paragraph of `manage.py COMMAND --help` (which must succeed)."""
    result = manage_py(command, "--help", environment=environment)
    assert result.returncode == 0, command
    assert "usage: manage.py " + command in result.stdout
    return result.stdout.split("\n\n")[1]
