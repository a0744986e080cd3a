"""scripts/container_check.py's pure parts, and what it does without Docker. The check itself
needs a Docker engine and runs by hand (README, "Deploy"), not in CI."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "container_check.py"


@pytest.fixture(autouse=True)
def dynamo_tables():
    """These tests need no tables."""
    yield None


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("container_check", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["container_check"] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("container_check", None)


def test_the_container_environment_passes_productions_configuration_checks(check):
    """The variables the check gives the image are enough for ENVIRONMENT=production: a
    settings change that needs one more variable fails here, not only in the container."""
    environment = check.container_environment(
        port=8123,
        dynamodb_endpoint="http://127.0.0.1:5001",
        redis_url="redis://127.0.0.1:6390/0",
        jwt_secret="k3Vq9-Lx2Zr8Tn4Wp7Ys1Bd6Hf0Jm5Qc",
    )
    assert environment["ENVIRONMENT"] == "production"
    assert "DEBUG" not in environment and "LOG_FORMAT" not in environment
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DEBUG, s.IS_DEVELOPMENT, s.PORT, s.DYNAMODB_ENDPOINT, "
        "s.REDIS_URL, s.ALLOWED_HOSTS, s.LOG_FORMAT, s.SECURE_SSL_REDIRECT, "
        "s.TRUSTED_PROXY_HOPS]))"
    )
    base = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME")}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "commonality.settings", **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        False,
        False,
        8123,
        "http://127.0.0.1:5001",
        "redis://127.0.0.1:6390/0",
        ["127.0.0.1", "localhost"],
        "json",
        True,
        1,
    ]


def test_docker_gets_variable_names_only(check):
    environment = {"JWT_SECRET": "s3cret-value", "PORT": "8080"}
    arguments = check.docker_env_arguments(environment)
    assert arguments == ["-e", "JWT_SECRET", "-e", "PORT"]
    assert "s3cret-value" not in " ".join(arguments)


def test_predeploy_command_is_read_from_railway_json(check):
    text = (ROOT / "railway.json").read_text()
    assert check.predeploy_command(text) == ["python", "manage.py", "create_dynamo_tables"]
    as_string = json.dumps({"deploy": {"preDeployCommand": "python manage.py x --y 1"}})
    assert check.predeploy_command(as_string) == ["python", "manage.py", "x", "--y", "1"]
    with pytest.raises(ValueError):
        check.predeploy_command(json.dumps({"deploy": {"preDeployCommand": ["a", "b"]}}))


def test_process_uids_from_proc_status(check):
    status = "Name:\tdaphne\nState:\tS (sleeping)\nUid:\t10001\t10001\t10001\t10001\nGid:\t1\n"
    assert check.process_uids(status) == (10001, 10001)
    assert check.process_uids("Uid:\t0\t0\t0\t0\n") == (0, 0)
    with pytest.raises(ValueError):
        check.process_uids("Name:\tx\n")


def test_non_json_lines(check):
    log = '{"level": "INFO", "message": "a"}\n\n[1, 2]\nplain text\n{"b": 1}\n'
    assert check.non_json_lines(log) == ["[1, 2]", "plain text"]
    assert check.non_json_lines("") == []


@pytest.mark.parametrize("size", [0, 5, 125, 126, 1000, 65535, 65536, 70000])
def test_websocket_frames_round_trip_at_each_length_encoding(check, size):
    payload = bytes(index % 251 for index in range(size))
    frame = check.websocket_frame(check.OPCODE_TEXT, payload, mask=b"\x01\x02\x03\x04")
    assert frame[1] & 0x80, "client frames are masked"
    parsed = check.websocket_frame_parse(frame + b"next")
    assert parsed == (True, check.OPCODE_TEXT, payload, len(frame))
    # Every proper prefix is incomplete, not misread.
    for cut in {0, 1, 2, 3, 5, 9, len(frame) - 1}:
        if 0 <= cut < len(frame):
            assert check.websocket_frame_parse(frame[:cut]) is None


def test_websocket_parses_unmasked_server_frames(check):
    close = bytes([0x88, 0x02]) + (1001).to_bytes(2, "big")
    assert check.websocket_frame_parse(close) == (True, check.OPCODE_CLOSE, b"\x03\xe9", 4)
    fragment = bytes([0x01, 0x03]) + b'{"a'
    assert check.websocket_frame_parse(fragment) == (False, check.OPCODE_TEXT, b'{"a', 5)


def run_script(tmp_path: Path, path: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--no-build"],
        cwd=tmp_path,
        env={"PATH": path, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_docker_command_it_says_so_and_exits_0(tmp_path):
    result = run_script(tmp_path, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "Docker is not available here: there is no docker command. Container check skipped."
    )


def test_with_no_docker_daemon_it_says_so_and_exits_0(tmp_path):
    fake = tmp_path / "docker"
    fake.write_text(
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    result = run_script(tmp_path, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "the Docker daemon does not answer (Cannot connect to the Docker daemon" in (
        result.stdout
    )
    assert result.stdout.rstrip().endswith("Container check skipped.")


def test_docker_timestamps(check):
    assert check.docker_timestamp("1970-01-01T00:00:10.5Z") == 10.5
    assert check.docker_timestamp("2026-11-27T11:55:12.123456789Z\n") == pytest.approx(
        1795780512.123456789
    )
    assert check.docker_timestamp("2026-11-27T11:55:12Z") == 1795780512.0
