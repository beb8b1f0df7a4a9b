# syntax=docker/dockerfile:1
#
# One image for every role; the arguments choose it (ENTRYPOINT is `newsbot`):
#   docker run IMAGE                     the Slack app (`serve`; NEWSBOT_TRANSPORT picks the mode)
#   docker run IMAGE digest --post       the daily digest, from cron or a CronJob
#   docker run IMAGE ingest --feeds      poll NEWSBOT_FEEDS into the corpus folder
#   docker run IMAGE reindex             rebuild the index in the data folder
#   docker run IMAGE stance Poland       any other command, on the corpus inside the image
#
# Dependencies come only from requirements.lock, pinned with hashes (its header says how to
# regenerate it). Deploying: docs/deploy.md.

ARG PYTHON_IMAGE=python:3.12-slim

# --- build: the virtual environment and the index, with pip and its caches left behind -------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
RUN python -m venv /opt/venv

# The lock first: this layer, the slow one, is rebuilt only when the lock changes.
# --require-hashes: every file installed is the one that was locked, or the build fails;
# --only-binary: no compiler in a slim image, and no sdist's setup.py runs at build time.
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r requirements.lock

# The project itself as a wheel (which carries the seed corpus inside the package), without
# dependencies: the lock already installed them, and --no-deps lets nothing unpinned in.
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY handlers/ handlers/
COPY corpus/ corpus/
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
    && /opt/venv/bin/pip install --no-deps /tmp/wheels/newsbot-*.whl

# The container's own corpus folder starts as a copy of the seed articles, so that `ingest` and
# `/ukraine add` can write to it (the packaged corpus is read-only); the lexicons stay those of
# the package. A named volume mounted here is seeded from it by Docker.
ENV NEWSBOT_CORPUS_DIR=/srv/newsbot/corpus \
    NEWSBOT_DATA_DIR=/var/lib/newsbot
RUN mkdir -p "$NEWSBOT_CORPUS_DIR" \
    && cp -r corpus/articles "$NEWSBOT_CORPUS_DIR/"

# The index of that corpus, built now so that a new container answers at once.
RUN /opt/venv/bin/newsbot reindex \
    && test -n "$(ls -A "$NEWSBOT_DATA_DIR")"

# --- runtime: the slim base, the environment, the corpus and its index; no build tools --------
FROM ${PYTHON_IMAGE} AS runtime

# A fixed numeric UID, so that Kubernetes' runAsNonRoot can check it and volumes can be given
# to it (fsGroup 10001).
RUN groupadd --system --gid 10001 newsbot \
    && useradd --system --uid 10001 --gid newsbot --no-create-home \
        --home-dir /var/lib/newsbot --shell /usr/sbin/nologin newsbot

COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=10001:10001 /srv/newsbot /srv/newsbot
COPY --from=build --chown=10001:10001 /var/lib/newsbot /var/lib/newsbot

# NEWSBOT_HOST: in a container the probes and Slack arrive from outside, not on loopback.
# PYTHONUNBUFFERED: log lines reach `docker logs` and kubectl as they happen.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NEWSBOT_CORPUS_DIR=/srv/newsbot/corpus \
    NEWSBOT_DATA_DIR=/var/lib/newsbot \
    NEWSBOT_HOST=0.0.0.0 \
    NEWSBOT_PORT=3000 \
    NEWSBOT_LOG_FORMAT=json

# newsbot reads an optional `.env` from its working directory: an empty folder that belongs to
# root, so that none is picked up unless one is mounted on purpose.
WORKDIR /app
USER 10001:10001
EXPOSE 3000

# Both modes serve /healthz (HTTP: the process is up; Socket Mode: the socket is connected).
# Python's urllib, since the slim image has no curl; a 503 raises, which marks it unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('NEWSBOT_PORT', '3000') + '/healthz', timeout=4)"]

ENTRYPOINT ["newsbot"]
CMD ["serve"]
