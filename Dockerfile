# syntax=docker/dockerfile:1
# Production image of the Commonality backend: Daphne serving HTTP and WebSocket on $PORT.
#   docker build -t commonality-backend .
#   docker run --env-file .env -p 8080:8080 commonality-backend
# Railway builds this file (railway.json); docker-compose.yml builds it for local parity;
# scripts/container_check.py builds and checks it (non-root, health, pre-deploy, SIGTERM).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Fail closed: a deploy that forgets ENVIRONMENT gets production's checks, not DEBUG.
    ENVIRONMENT=production \
    PORT=8080

WORKDIR /app

# Runtime dependencies only: no test or development tools in the image.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The code belongs to root and is read-only for the user that runs it; compiled once here,
# since that user cannot write __pycache__. Only what runs is copied, by name: a local build
# context also holds caches .dockerignore does not list (mypy's alone is ~100 MB).
COPY manage.py ./
COPY commonality ./commonality
COPY apps ./apps
RUN python -m compileall -q apps commonality

RUN groupadd --system --gid 10001 commonality \
    && useradd --system --uid 10001 --gid commonality --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin commonality
USER 10001:10001

EXPOSE 8080

# Liveness only (/api/health touches no dependency); Python's urllib, no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('PORT', '8080'), timeout=4)"]

# One Daphne process per container (WebSockets are stateful; scale by adding containers).
# --proxy-headers: Railway terminates TLS and forwards X-Forwarded-For / X-Forwarded-Proto.
# exec: Daphne is PID 1 and receives SIGTERM directly, so a redeploy stops it within about a
# second (scripts/container_check.py); open sockets are dropped without a close frame, and
# clients reconnect and resume from DynamoDB.
CMD ["sh", "-c", "exec daphne --bind 0.0.0.0 --port \"${PORT:-8080}\" --proxy-headers commonality.asgi:application"]
