# syntax=docker/dockerfile:1
# Build stage: wheels for the gateway and its pinned dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY gateway ./gateway
COPY schema ./schema
RUN python -m pip install --no-cache-dir --upgrade pip==26.3 \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt .

# Runtime stage: the wheels only, run by an unprivileged user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=8000
COPY --from=build /wheels /wheels
# The trusted persisted documents: every operation in queries/ runs by its hash from the first request.
COPY queries /srv/metastudio-gateway/queries
ENV GATEWAY_TRUSTED_DOCUMENTS=/srv/metastudio-gateway/queries
RUN python -m pip install --no-cache-dir --no-index --find-links=/wheels metastudio-gateway \
 && rm -rf /wheels \
 && groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --no-create-home gateway
# A numeric user, which Kubernetes' runAsNonRoot can verify (a user named instead is refused).
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8000')}/healthz\", timeout=2)"]
ENTRYPOINT ["metastudio-gateway"]
CMD ["serve"]
