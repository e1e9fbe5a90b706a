#!/usr/bin/env bash
# Runs plugins/tests/test_components.py: the committed components (and the Python example, when
# built) under PyPI's wasmtime, independent of the host. Installs it into tests/.deps/py.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/tests/.deps/py"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import wasmtime' 2>/dev/null \
  || "$venv/bin/pip" install --quiet --disable-pip-version-check "wasmtime==50.0.1"
exec "$venv/bin/python" -m unittest discover -s "$root/plugins/tests" -v
