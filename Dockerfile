# syntax=docker/dockerfile:1
# Lakeray's images (docs/operations.md; deploy/ uses both):
#   docker build -t lakeray .                          the platform: `lakeray up --role api|scheduler|all`
#   docker build --target ray-node -t lakeray-ray-node .   a Ray node for deploy/'s RayCluster and RayService
# test/deploy/dockerfile.test.ts checks what can be checked without Docker: every path copied
# exists and is not excluded by .dockerignore, and the command line starts a real server.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG RAY_IMAGE=rayproject/ray:2.58.0-py311-gpu

# --- Node dependencies and the web UI (dev dependencies only for the build: Vite, React's plugin)
FROM ${NODE_IMAGE} AS node-build
# better-sqlite3 builds from source when no prebuilt binary matches this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# .npmrc: onnxruntime-node installs its CPU binaries only (no CUDA download).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --engine-strict --no-audit --no-fund
COPY web ./web
RUN node --import tsx web/build.ts
RUN npm prune --omit=dev --no-audit --no-fund

# --- The Python environment Python task scripts run in (scripts/requirements.txt, as
# scripts/setup.sh makes it), at the path the server looks for it: <package>/.venv
FROM ${NODE_IMAGE} AS python-venv
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY scripts/requirements.txt ./scripts/requirements.txt
# torch's CPU build (the default one bundles CUDA: gigabytes a CPU node never uses).
RUN python3 -m venv .venv \
 && .venv/bin/pip install --no-cache-dir --disable-pip-version-check \
      --extra-index-url https://download.pytorch.org/whl/cpu -r scripts/requirements.txt \
 && cp scripts/requirements.txt .venv/.lakeray-requirements

# --- A Ray node: Ray 2.58 (contracts/CONTRACTS.md) with what Lakeray's Serve application needs
# (onnxruntime, numpy) and the application itself on PYTHONPATH, so deploy/'s RayService names it
# by import path (ray_serve_app:build) with no working_dir upload.
FROM ${RAY_IMAGE} AS ray-node
RUN pip install --no-cache-dir --disable-pip-version-check onnxruntime numpy
COPY runtimes/serving /home/ray/lakeray-serving
ENV PYTHONPATH=/home/ray/lakeray-serving

# --- The platform (last stage: the default target)
FROM ${NODE_IMAGE} AS lakeray
# python3: the venv's interpreter. tini: PID 1 that reaps the task processes' orphans and passes
# SIGTERM on, so `lakeray up` shuts down gracefully when Kubernetes stops the pod.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=node-build /app/node_modules ./node_modules
COPY --from=node-build /app/web/dist ./web/dist
COPY --from=python-venv /app/.venv ./.venv
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
COPY runtimes ./runtimes
COPY examples ./examples
# The config `lakeray up` reads when none is named: Level 1 in this container, state in /var/lib/lakeray.
COPY deploy/image/lakeray.yaml ./lakeray.yaml
RUN mkdir -p /var/lib/lakeray/data && chown -R node:node /var/lib/lakeray
# The node image's unprivileged user (uid 1000, which deploy/'s securityContext names).
USER node
EXPOSE 8000
# bin/lakeray.js's shebang flag, given to node directly (the shebang is not read here).
ENTRYPOINT ["tini", "--", "node", "--max-semi-space-size=64", "/app/bin/lakeray.js"]
CMD ["up"]
