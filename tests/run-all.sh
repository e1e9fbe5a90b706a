#!/usr/bin/env bash
# The whole test suite, on a clean machine: installs what the tests need, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/kube-sim/scripts/install-deps.sh
cargo test --workspace
