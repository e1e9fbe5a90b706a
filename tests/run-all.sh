#!/usr/bin/env bash
# The whole test suite, on a clean machine: installs what the tests need, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
# Real MCP servers and clients (npm, PyPI) under tests/.deps; quick when already there.
bash tests/install-deps.sh
bash tests/kube-sim/scripts/install-deps.sh
cargo test --workspace
