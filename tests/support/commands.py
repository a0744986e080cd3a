"""Running `manage.py` in a child process, as an operator or a deploy would."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import ManagementUtility

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


def command_help_description(command: str) -> str:
    """The description paragraph of `manage.py COMMAND --help` (which must succeed), run as
    manage.py runs it (Django's ManagementUtility) but in this process: a child process per
    command spends seconds importing the app each time."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", command, "--help"]).execute()
    assert exited.value.code in (0, None), command
    text = output.getvalue()
    assert "usage: manage.py " + command in text
    return text.split("\n\n")[1]
