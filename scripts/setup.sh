#!/usr/bin/env bash
# Prepares what Lakeray needs beyond node_modules: the web UI (web/dist, built by Vite when its
# sources changed; LAKERAY_SKIP_WEB=1 skips it), the examples' Fashion-MNIST dataset (Debian's
# dataset-fashion-mnist, installed when that needs no password; see fashion-mnist.sh), and the
# project-managed Python venv that runs users' Python scripts (torch CPU, numpy, pyarrow, onnx,
# fastapi, uvicorn). Idempotent and fast when everything is there. Set LAKERAY_SKIP_VENV=1 to
# use your own interpreter (config `python.interpreter` or LAKERAY_PYTHON) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
# The web UI: web/ → web/dist, rebuilt only when its sources changed (a content-hash stamp).
[ "${LAKERAY_SKIP_WEB:-0}" = 1 ] || node --import tsx web/build.ts --if-stale
# Never fails the start: without the dataset, the examples say what is missing and how to fix it.
bash scripts/fashion-mnist.sh || true
[ "${LAKERAY_SKIP_VENV:-0}" = 1 ] && exit 0
PY="${LAKERAY_BOOTSTRAP_PYTHON:-python3}"
REQ=scripts/requirements.txt
STAMP=.venv/.lakeray-requirements
if [ -x .venv/bin/python ] && [ -f "$STAMP" ] && cmp -s "$REQ" "$STAMP"; then exit 0; fi
echo "lakeray setup: creating the Python environment in .venv (one time)…" >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP_RETRIES="${PIP_RETRIES:-0}" .venv/bin/pip install --disable-pip-version-check -q -r "$REQ" >&2
cp "$REQ" "$STAMP"
echo "lakeray setup: Python environment ready" >&2
