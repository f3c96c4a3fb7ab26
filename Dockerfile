# factorwatch in a small image that runs as an unprivileged user (docs/deploy.md).
#
#   docker build -t factorwatch .
#   docker build --build-arg BASE=registry.example.com/python:3.11-slim -t factorwatch .
#
# BASE is any Debian-style image with Python 3.11+ as `python` (both stages use it, so the
# virtualenv built in the first finds the same interpreter in the second). Pip settings for a
# mirror or an offline wheelhouse pass through as build args: PIP_INDEX_URL, or
# PIP_FIND_LINKS with PIP_NO_INDEX=1. EXTRAS are the optional parts built in (pyproject.toml):
# the cloud credential chains `gcp` and `azure` make the image about 28 MB larger;
# `--build-arg EXTRAS=otel` leaves them out for a fleet that probes no Vertex or Entra target.
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
ARG PIP_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
ARG EXTRAS=otel,gcp,azure
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY probes ./probes
COPY service ./service
# pip and setuptools leave the virtualenv once it is built (a quarter of its size). /data is
# made here so the runtime stage can take it with its owner, with no RUN of its own.
RUN python -m venv /opt/factorwatch \
    && /opt/factorwatch/bin/pip install --no-cache-dir "/src[${EXTRAS}]" \
    && /opt/factorwatch/bin/pip uninstall --yes --quiet pip setuptools \
    && mkdir -p /data

FROM ${BASE}
LABEL org.opencontainers.image.title="factorwatch" \
      org.opencontainers.image.description="Live, evidence-based ranking of LLM providers per workload" \
      org.opencontainers.image.licenses="Apache-2.0"
# Listen on every interface inside the container; SQLite lives in the /data volume unless
# FACTORWATCH_DATABASE names another database. The config file and secrets come from
# mounted files or the environment: FACTORWATCH_CONFIG=/etc/factorwatch/config.yaml,
# FACTORWATCH_<KEY>_FILE, api_key_file / webhook_url_file.
ENV PATH=/opt/factorwatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FACTORWATCH_LISTEN=0.0.0.0:9464 \
    FACTORWATCH_DATABASE=sqlite:////data/factorwatch.db
COPY --from=build /opt/factorwatch /opt/factorwatch
COPY --from=build --chown=10001:10001 /data /data
# A numeric user: Kubernetes' runAsNonRoot can check it without a passwd entry.
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 9464
# No curl in a slim image: Python asks /healthz on the port FACTORWATCH_LISTEN names.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; port = os.environ.get('FACTORWATCH_LISTEN', ':9464').rpartition(':')[2]; u.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
ENTRYPOINT ["factorwatch"]
CMD ["run"]
