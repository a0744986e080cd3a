"""The deployment files, read as data: Dockerfile, .dockerignore, docker-compose.yml,
railway.json and .env.example. There is no Docker engine here, so compose is checked by
parsing it, and the plan's variable tables are read from the plan itself."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAN = Path("/work/shared/reference/deployment-plan.md")

# The variables of the plan's two tables (Railway, then Vercel), as written there.
PLAN_RAILWAY_VARIABLES = (
    "ENVIRONMENT",
    "OPENAI_API_KEY",
    "OPENAI_TRANSLATION_MODEL",
    "ELEVENLABS_API_KEY",
    "ELEVENLABS_TTS_VOICE_ID",
    "ELEVENLABS_TTS_MODEL",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
    "LIVEKIT_URL",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "REDIS_URL",
    "JWT_SECRET",
    "BACKEND_PORT",
    "PORT",
    "CORS_ORIGINS",
)
PLAN_VERCEL_VARIABLES = (
    "NEXT_PUBLIC_API_URL",
    "NEXT_PUBLIC_WS_URL",
    "NEXT_PUBLIC_LIVEKIT_URL",
    "NEXT_PUBLIC_PASSWORD_MIN_LENGTH",
)
# Read by settings.py beyond the plan's tables.
APP_VARIABLES = (
    "DEBUG",
    "JWT_EXPIRATION_MINUTES",
    "DJANGO_SECRET_KEY",
    "PASSWORD_MIN_LENGTH",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DYNAMODB_ENDPOINT",
    "DYNAMODB_TABLE_PREFIX",
    "AWS_SESSION_TOKEN",
    "REDIS_CHANNEL_LAYER",
    "OPENAI_BASE_URL",
    "ELEVENLABS_BASE_URL",
    "TRANSLATION_TIMEOUT_SECONDS",
    "TRANSLATION_FIRST_TOKEN_TIMEOUT_SECONDS",
    "MESSAGE_MAX_CHARS",
    "MESSAGE_RATE_LIMIT_COUNT",
    "MESSAGE_RATE_LIMIT_WINDOW_SECONDS",
    "TRANSLATION_RETRY_SCALE",
    "OWED_TRANSLATION_SWEEP_SECONDS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "LOG_LEVEL",
    "LOG_FORMAT",
)


@pytest.fixture(autouse=True)
def dynamo_tables():
    """These tests read files only; they need no tables."""
    yield None


# --- Dockerfile ---------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        logical.append(current)
        current = ""
    instructions = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def instruction(name: str) -> list[str]:
    return [arguments for keyword, arguments in dockerfile_instructions() if keyword == name]


def exec_form(arguments: str) -> list[str]:
    parsed = json.loads(arguments)
    assert isinstance(parsed, list), arguments
    return parsed


def test_dockerfile_builds_on_the_slim_official_python_image():
    froms = instruction("FROM")
    assert len(froms) == 1, froms
    assert re.fullmatch(r"python:3\.12-slim(@sha256:[0-9a-f]{64})?", froms[0].split()[0]), froms


def test_dockerfile_installs_runtime_requirements_only():
    text = (ROOT / "Dockerfile").read_text()
    assert "requirements-dev" not in text
    runs = " ".join(instruction("RUN"))
    assert "pip install --no-cache-dir -r requirements.txt" in runs
    assert "pytest" not in runs and "moto" not in runs
    copies = instruction("COPY")
    assert copies[0].split() == ["requirements.txt", "./"], "dependencies first, for caching"


def test_dockerfile_runs_as_a_non_root_user():
    users = instruction("USER")
    assert users, "no USER instruction: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users
    # The USER comes before the command that serves.
    keywords = [keyword for keyword, _ in dockerfile_instructions()]
    assert max(i for i, k in enumerate(keywords) if k == "USER") < keywords.index("CMD")
    # ...and that user exists in the image.
    assert any(f"--uid {user}" in run or f" {user}" in run for run in instruction("RUN"))


def test_dockerfile_healthcheck_gets_api_health_with_python():
    (healthcheck,) = instruction("HEALTHCHECK")
    options, _, command = healthcheck.partition("CMD")
    assert "--interval=" in options and "--timeout=" in options
    argv = exec_form(command.strip())
    assert argv[:2] == ["python", "-c"]
    script = argv[2]
    assert "urllib.request" in script and "/api/health" in script
    assert "os.environ.get('PORT', '8080')" in script
    assert "curl" not in healthcheck and "wget" not in healthcheck
    compile(script, "<healthcheck>", "exec")  # valid Python


def test_dockerfile_serves_one_daphne_process_on_port_with_proxy_headers():
    (cmd,) = instruction("CMD")
    argv = exec_form(cmd)
    assert argv[:2] == ["sh", "-c"], "a shell is needed to expand $PORT"
    words = shlex.split(argv[2])
    assert words[:2] == ["exec", "daphne"], "exec: Daphne is PID 1 and gets SIGTERM"
    assert words[words.index("--bind") + 1] == "0.0.0.0"
    assert words[words.index("--port") + 1] == "${PORT:-8080}"
    assert "--proxy-headers" in words
    assert words[-1] == "commonality.asgi:application"
    for forbidden in ("--reload", "runserver", "--workers", "uvicorn", "gunicorn"):
        assert forbidden not in argv[2]
    assert "8080" in " ".join(instruction("EXPOSE"))


def test_dockerfile_image_defaults_fail_closed_to_production():
    env = " ".join(instruction("ENV"))
    assert "ENVIRONMENT=production" in env
    assert "PORT=8080" in env
    assert "PYTHONUNBUFFERED=1" in env


def test_dockerignore_keeps_local_and_test_files_out_of_the_image():
    entries = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    required = {
        "__pycache__": {"__pycache__", "**/__pycache__"},
        "*.pyc": {"*.pyc", "**/*.pyc"},
        ".pytest_cache": {".pytest_cache"},
        ".venv": {".venv"},
        ".env": {".env"},
        "tests/": {"tests", "tests/"},
        ".git": {".git"},
        "frontend/": {"frontend", "frontend/"},
        "bench/": {"bench", "bench/"},
    }
    for what, spellings in required.items():
        assert entries & spellings, f".dockerignore does not exclude {what}"
    assert "var/" in entries or "var" in entries  # local data (.gitignore's /var/)
    # What the image needs must not be excluded.
    for needed in ("requirements.txt", "manage.py", "apps", "commonality"):
        assert needed not in entries and f"{needed}/" not in entries


# --- docker-compose.yml -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def environment_of(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def test_compose_has_every_service(compose):
    assert set(compose["services"]) == {
        "backend",
        "create-tables",
        "frontend",
        "dynamodb-local",
        "redis",
        "livekit",
    }


def test_compose_backend_is_the_production_image_in_development_mode(compose):
    backend = compose["services"]["backend"]
    build = backend["build"]
    assert build["context"] == "." and build.get("dockerfile", "Dockerfile") == "Dockerfile"
    environment = environment_of(backend)
    assert environment["DYNAMODB_ENDPOINT"] == "http://dynamodb-local:8000"
    assert environment["ENVIRONMENT"] == "development"
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert environment["LIVEKIT_URL"] == "ws://livekit:7880"
    assert (environment["LIVEKIT_API_KEY"], environment["LIVEKIT_API_SECRET"]) == (
        "devkey",
        "devsecret",
    )
    port = environment["PORT"]
    assert f"{port}:{port}" in backend["ports"]
    assert "command" not in backend, "the image's Daphne command serves"


def test_compose_creates_tables_before_the_backend_starts(compose):
    services = compose["services"]
    once = services["create-tables"]
    assert once["command"] == ["python", "manage.py", "create_dynamo_tables"]
    assert once["build"] == services["backend"]["build"], "the same image as the backend"
    assert environment_of(once)["DYNAMODB_ENDPOINT"] == "http://dynamodb-local:8000"
    assert once["depends_on"]["dynamodb-local"]["condition"] == "service_healthy"
    backend_needs = services["backend"]["depends_on"]
    assert backend_needs["create-tables"]["condition"] == "service_completed_successfully"
    for dependency in ("dynamodb-local", "redis", "livekit"):
        assert backend_needs[dependency]["condition"] == "service_healthy"


def test_compose_dependencies_have_health_checks(compose):
    services = compose["services"]
    for name in ("dynamodb-local", "redis", "livekit", "frontend"):
        test = services[name]["healthcheck"]["test"]
        assert test and test[0] in ("CMD", "CMD-SHELL"), (name, test)
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    # The backend's comes from the Dockerfile's HEALTHCHECK (not disabled here).
    assert "healthcheck" not in services["backend"]


def test_compose_dynamodb_local_keeps_its_data_in_a_named_volume(compose):
    dynamodb = compose["services"]["dynamodb-local"]
    assert dynamodb["image"].startswith("amazon/dynamodb-local")
    command = dynamodb["command"]
    command = command if isinstance(command, list) else shlex.split(command)
    assert "-sharedDb" in command
    data_path = command[command.index("-dbPath") + 1]
    (volume,) = dynamodb["volumes"]
    name, _, mount = volume.partition(":")
    assert mount == data_path
    assert name in compose["volumes"], "a named volume, not a bind mount"


def test_compose_redis_and_livekit_images(compose):
    services = compose["services"]
    assert services["redis"]["image"] in ("redis:7", "redis:7-alpine")
    livekit = services["livekit"]
    assert livekit["image"].startswith("livekit/livekit-server")
    assert "--dev" in livekit["command"]
    assert environment_of(livekit)["LIVEKIT_KEYS"] == "devkey: devsecret"


def test_compose_frontend_is_built_with_public_urls_on_localhost(compose):
    frontend = compose["services"]["frontend"]
    assert frontend["build"]["context"] == "./frontend"
    arguments = frontend["build"]["args"]
    assert set(arguments) == set(PLAN_VERCEL_VARIABLES)
    assert arguments["NEXT_PUBLIC_API_URL"] == "http://localhost:8000"
    assert arguments["NEXT_PUBLIC_WS_URL"] == "ws://localhost:8000"
    assert arguments["NEXT_PUBLIC_LIVEKIT_URL"] == "ws://localhost:7880"
    assert str(arguments["NEXT_PUBLIC_PASSWORD_MIN_LENGTH"]) == "8"
    assert frontend["depends_on"]["backend"]["condition"] == "service_healthy"
    for argument in PLAN_VERCEL_VARIABLES:
        assert f"ARG {argument}" in frontend["build"]["dockerfile_inline"]


def test_compose_never_points_at_aws(compose):
    text = (ROOT / "docker-compose.yml").read_text()
    assert "amazonaws.com" not in text
    for name, service in compose["services"].items():
        environment = environment_of(service)
        assert "AWS_PROFILE" not in environment, name


# --- railway.json ---------------------------------------------------------------------------------


def test_railway_config_builds_the_dockerfile_and_creates_tables_before_deploying():
    config = json.loads((ROOT / "railway.json").read_text())
    assert config["$schema"] == "https://railway.com/railway.schema.json"
    assert config["build"]["builder"] == "DOCKERFILE"
    assert config["build"]["dockerfilePath"] == "Dockerfile"
    deploy = config["deploy"]
    # Railway routes to a new deployment once this answers 200, and never probes it again:
    # readiness (warm, DynamoDB and Redis answering), not liveness.
    assert deploy["healthcheckPath"] == "/api/ready"
    assert deploy["preDeployCommand"] == ["python manage.py create_dynamo_tables"]
    assert deploy["restartPolicyType"] == "ON_FAILURE"
    retries = deploy["restartPolicyMaxRetries"]
    assert isinstance(retries, int) and retries > 0
    assert "startCommand" not in deploy, "the Dockerfile's CMD is the one way to start"
    for key in ("healthcheckTimeout", "drainingSeconds"):
        if key in deploy:
            assert isinstance(deploy[key], int), key  # Railway rejects strings here
    # Watch patterns, if any, cover what the image is built from.
    patterns = config["build"].get("watchPatterns")
    if patterns:
        for needed in ("apps/**", "commonality/**", "requirements.txt", "Dockerfile"):
            assert needed in patterns


# --- .env.example -------------------------------------------------------------------------------


def env_example_variables() -> dict[str, list[str]]:
    """Variable -> the lines that set it, commented ("# NAME=") or not."""
    found: dict[str, list[str]] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            found.setdefault(match.group(1), []).append(line)
    return found


def plan_table_variables() -> list[str]:
    """Every `VARIABLE` in the first column of the plan's tables that name variables."""
    if not PLAN.is_file():
        pytest.skip("the deployment plan is not on this machine")
    return re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", PLAN.read_text(), flags=re.MULTILINE)


def test_env_example_has_every_variable_of_the_plans_tables():
    from_plan = plan_table_variables()
    assert set(from_plan) == set(PLAN_RAILWAY_VARIABLES) | set(PLAN_VERCEL_VARIABLES)
    variables = env_example_variables()
    missing = [name for name in from_plan if name not in variables]
    assert not missing, f".env.example lacks {missing}"


def test_env_example_has_every_variable_the_app_reads():
    variables = env_example_variables()
    settings_text = (ROOT / "commonality" / "settings.py").read_text()
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]*)"', settings_text))
    assert read, "settings.py reads no variables?"
    missing = sorted((read | set(APP_VARIABLES)) - set(variables))
    assert not missing, f".env.example lacks {missing}"


def test_env_example_explains_each_variable_with_a_comment():
    lines = (ROOT / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            above = lines[max(0, index - 6) : index]
            assert any(other.startswith("# ") and "=" not in other.split()[1] for other in above), (
                f"no comment explains {line!r}"
            )


def test_env_example_production_guidance():
    text = (ROOT / ".env.example").read_text()
    variables = env_example_variables()
    # DYNAMODB_ENDPOINT is shown as the plan has it, marked to be omitted in production.
    assert "DYNAMODB_ENDPOINT=http://dynamodb-local:8000" in variables["DYNAMODB_ENDPOINT"]
    endpoint_block = text[: text.index("DYNAMODB_ENDPOINT=http://dynamodb-local:8000")]
    assert "OMIT IN PRODUCTION" in endpoint_block.rsplit("# ====", 1)[-1].upper()
    # ENVIRONMENT is explained, with its values.
    environment_block = text[: text.index("ENVIRONMENT=development")].rsplit("# ====", 1)[-1]
    for word in ("development", "staging", "production"):
        assert word in environment_block
    # Upstash's TLS form of REDIS_URL.
    assert any("rediss://" in line for line in variables["REDIS_URL"] + [text])
    assert re.search(r"REDIS_URL=rediss://default:PASSWORD@[\w.-]+\.upstash\.io:6379", text)
    # No real secret is filled in.
    for name in ("JWT_SECRET", "OPENAI_API_KEY", "ELEVENLABS_API_KEY"):
        active = [line for line in variables[name] if not line.startswith("#")]
        assert all(line == f"{name}=" for line in active), active
    # NEXT_PUBLIC_ values need a redeploy when they change.
    assert "redeploy" in text.lower()


def test_env_example_values_start_a_development_backend():
    """The active lines, as a .env would give them, make a backend that passes `check`."""
    import subprocess
    import sys

    from tests.support.servers import child_environment, free_port

    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    assert values["ENVIRONMENT"] == "development"
    environment = {
        name: value
        for name, value in child_environment().items()
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name) or name in ("PATH", "HOME", "LANG")
    }
    environment.update(values)
    # Nothing listens there: the check must not need DynamoDB (and never reaches beyond).
    environment["DYNAMODB_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


# --- The README guide ---------------------------------------------------------------------------


def test_readme_deploy_guide_covers_every_step():
    text = (ROOT / "README.md").read_text()
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert "Deploy" in headings
    start = text.index("\n## Deploy\n") + 1
    following = re.search(r"^## ", text[start + 3 :], flags=re.MULTILINE)
    guide = text[start : start + 3 + following.start()] if following else text[start:]
    for needed in (
        "dynamodb:CreateTable",
        "user_chats/index/*",
        "owed_translations/index/*",
        "messages/index/*",
        "dynamodb:UpdateTable",
        "upstash",
        "LiveKit Cloud",
        "railway.json",
        "Vercel",
        "frontend",
        "NEXT_PUBLIC_API_URL",
        "redeploy",
        "/api/health",
        "doctor",
        "create_dynamo_tables",
    ):
        assert needed.lower() in guide.lower(), needed
    policy = json.loads(re.search(r"```json\n(\{.*?\})\n```", guide, flags=re.DOTALL).group(1))
    assert policy["Version"] == "2012-10-17"
    resources = [
        resource for statement in policy["Statement"] for resource in statement["Resource"]
    ]
    for table in ("users", "chats", "user_chats", "messages", "owed_translations", "search_tokens"):
        assert any(resource.endswith(f":table/PREFIX{table}") for resource in resources), table
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert not any(action.endswith("*") for action in actions), "no wildcard actions"
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"} <= actions
    # Each PynamoDB call that is an API action of its own (not a transaction, which the item
    # actions authorise) must be in the policy, or production answers AccessDenied.
    code = "\n".join(path.read_text() for path in (ROOT / "apps").rglob("*.py"))
    for call, action in (
        (".batch_get(", "dynamodb:BatchGetItem"),
        (".batch_write(", "dynamodb:BatchWriteItem"),
        (".scan(", "dynamodb:Scan"),
        (".query(", "dynamodb:Query"),
        (".delete(", "dynamodb:DeleteItem"),
        (".save(", "dynamodb:PutItem"),
        (".update(", "dynamodb:UpdateItem"),
    ):
        if call in code:
            assert action in actions, f"{call} is used in apps/ but {action} is not in the policy"


# --- The image's command and health check, run here ---------------------------------------------


@pytest.fixture
def suite_tables(settings) -> str:
    """The suite's tables (tests/conftest.py), which the image's readiness probe reads; their
    prefix."""
    from apps.core.dynamo import dynamo_configure, dynamo_tables_create, dynamo_target_from_settings
    from tests.conftest import SESSION_PREFIX

    settings.DYNAMODB_TABLE_PREFIX = SESSION_PREFIX
    dynamo_configure(dynamo_target_from_settings())
    dynamo_tables_create(development=True, wait_seconds=30)
    return SESSION_PREFIX


def test_the_images_command_serves_and_its_health_check_passes(suite_tables):
    """Runs the Dockerfile's CMD (bound to loopback instead of 0.0.0.0) with this venv's
    daphne first on PATH and production settings, then its HEALTHCHECK script."""
    import os
    import subprocess
    import sys

    from tests.support.servers import child_environment, free_port, wait_for_port

    (cmd,) = instruction("CMD")
    shell_command = exec_form(cmd)[2].replace("--bind 0.0.0.0", "--bind 127.0.0.1")
    (healthcheck,) = instruction("HEALTHCHECK")
    script = exec_form(healthcheck.partition("CMD")[2].strip())[2]
    port = free_port()
    environment = child_environment(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PORT": str(port),
            "ENVIRONMENT": "production",
            "JWT_SECRET": "q9Xv2mB7rT4kL1pZ8wN3sC6yH0dF5gJaE2uR7iO4tYw=",
            "ALLOWED_HOSTS": "commonality.example",  # not 127.0.0.1: the probe must still pass
            "AWS_EC2_METADATA_DISABLED": "true",
            "DYNAMODB_TABLE_PREFIX": suite_tables,
        }
    )
    server = subprocess.Popen(
        ["sh", "-c", shell_command],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=30, process=server)
        probe = subprocess.run(
            [sys.executable, "-c", script], env=environment, capture_output=True, timeout=30
        )
        assert probe.returncode == 0, probe.stderr
        # Railway's deploy probe: plain HTTP, its own host name, production settings.
        status, body = ready_probe(port, host="healthcheck.railway.app")
        assert (status, body["ready"]) == (200, True), body
        # With nothing listening, the same probe fails (so Docker would mark it unhealthy).
        closed = subprocess.run(
            [sys.executable, "-c", script],
            env={**environment, "PORT": str(free_port())},
            capture_output=True,
            timeout=30,
        )
        assert closed.returncode != 0
    finally:
        server.terminate()  # exec: the shell became Daphne, so this is Daphne's SIGTERM
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    log = server.stderr.read().decode()
    assert '"logger": "daphne.cli"' in log and f"port={port}" in log


def ready_probe(port: int, *, host: str, seconds: float = 20) -> tuple[int, dict]:
    """GET /api/ready as a platform probe sends it, until it answers 200 (the instance warms
    up as it starts) or `seconds` pass; the last answer."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/ready", headers={"Host": host}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            answer = error.code, json.loads(error.read())
        if time.monotonic() > deadline:
            return answer
        time.sleep(0.2)
