# syntax=docker/dockerfile:1
# Mimamori API and job worker: one image, two commands (README "Running in production").
#   docker build --build-arg MIMAMORI_GIT_COMMIT=$(git rev-parse HEAD) -t mimamori .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv holding exactly the locked runtime set, then the project itself ---------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/mimamori
# The lock first, alone, so that a code change does not reinstall the dependencies. Every package
# and its hash come from requirements/runtime.txt; wheels only, so no compiler runs in the build.
COPY requirements/runtime.txt /build/requirements/runtime.txt
RUN /opt/mimamori/bin/pip install --require-hashes --only-binary=:all: \
        -r /build/requirements/runtime.txt
# The project without its dependencies (they are the locked set above) and without build isolation
# (setuptools is in the lock, so nothing unpinned is fetched to build it).
COPY pyproject.toml README.md /build/
COPY api /build/api
COPY console /build/console
COPY domain /build/domain
COPY notifications /build/notifications
COPY schedules /build/schedules
COPY sync /build/sync
RUN /opt/mimamori/bin/pip install --no-deps --no-build-isolation /build \
    && /opt/mimamori/bin/pip check

# --- runtime: the virtualenv, a non-root user, nothing else -------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# The commit shown by `mimamori --version` and GET /healthz (api/version.py): the image has no .git.
ARG MIMAMORI_GIT_COMMIT=unknown
ENV PATH=/opt/mimamori/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MIMAMORI_GIT_COMMIT=${MIMAMORI_GIT_COMMIT} \
    MIMAMORI_ENVIRONMENT=production \
    MIMAMORI_HOST=0.0.0.0 \
    MIMAMORI_PORT=8000 \
    MIMAMORI_LOG_FORMAT=json \
    MIMAMORI_DATA_DIR=/var/lib/mimamori
RUN groupadd --system --gid 10001 mimamori \
    && useradd --system --uid 10001 --gid mimamori --home-dir /var/lib/mimamori \
        --no-create-home --shell /usr/sbin/nologin mimamori \
    && install -d -o mimamori -g mimamori -m 0700 /var/lib/mimamori
COPY --from=build /opt/mimamori /opt/mimamori
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/mimamori-entrypoint
USER 10001:10001
WORKDIR /var/lib/mimamori
EXPOSE 8000
# slim has no curl: ask /healthz with the standard library. Worker and migrate containers, which
# serve no HTTP, switch this off in compose.yaml.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/healthz' % os.environ.get('MIMAMORI_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]
ENTRYPOINT ["mimamori-entrypoint"]
CMD ["mimamori", "serve"]
