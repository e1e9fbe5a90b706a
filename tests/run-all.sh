#!/usr/bin/env bash
# The whole test suite, on a clean machine: installs what the tests need, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
# One-shot builds gain nothing from incremental state, which would add gigabytes to the disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Real MCP servers and clients (npm, PyPI) under tests/.deps; quick when already there.
bash tests/install-deps.sh
bash tests/kube-sim/scripts/install-deps.sh
# Plugins: rebuild every built-in from source and prove plugins/dist/ (what the host embeds)
# is byte-identical; test their logic natively; build the Python example plugin for its test.
bash plugins/build.sh --check
cargo test --manifest-path plugins/Cargo.toml
bash examples/python-validator/build.sh
bash plugins/tests/run.sh
cargo test --workspace
