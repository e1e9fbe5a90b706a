#!/usr/bin/env bash
# Installs what the kube-sim tests need beyond Rust: the official Kubernetes Python client, into
# the shared test venv (tests/.deps/venv, created if missing, packages added to it). kubectl is
# expected on PATH (the tests skip without it, and fail in CI).
# Idempotent and quiet: it does nothing when the client is already importable.
set -euo pipefail
cd "$(dirname "$0")/../../.."
venv=tests/.deps/venv
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p tests/.deps
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import kubernetes' 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'kubernetes>=31'
fi
