#!/usr/bin/env bash
# Builds the Python validator plugin into a component:
#   examples/python-validator/build.sh [OUT.wasm]    (default: tests/.deps/python-validator.wasm)
# Installs componentize-py into tests/.deps/py (a venv) when missing. The component embeds a
# whole Python interpreter (~18 MB), so it is built, not committed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(realpath -m "${1:-$root/tests/.deps/python-validator.wasm}")"
venv="$root/tests/.deps/py"
version=0.25.1

if ! "$venv/bin/componentize-py" --version 2>/dev/null | grep -q "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$version"
fi
if [[ -f "$out" && "$out" -nt "$here/app.py" && "$out" -nt "$root/wit/plugin.wit" && "$out" -nt "$here/build.sh" ]]; then
  echo "python-validator: $out is up to date" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
# --stub-wasi: the interpreter's WASI imports become trapping stubs, so the component imports
# nothing but the plugin contract (the host refuses anything else).
(cd "$here" && "$venv/bin/componentize-py" -q -d "$root/wit" -w validator-plugin \
  componentize app -o "$out.partial" --stub-wasi)

# Check the imports with the same tool plugins/build.sh uses.
cargo build --release --locked --quiet --manifest-path "$root/plugins/componentize/Cargo.toml"
imports="$("$root/plugins/componentize/target/release/mcp-probe-componentize" --imports "$out.partial")"
if grep -v '^mcp-probe:plugin/' <<<"$imports" | grep -q .; then
  rm -f "$out.partial"
  echo "python-validator: forbidden imports: $(grep -v '^mcp-probe:plugin/' <<<"$imports" | tr '\n' ' ')" >&2
  exit 1
fi
mv "$out.partial" "$out"
echo "python-validator: built $out ($(stat -c %s "$out") bytes), imports: $(tr '\n' ' ' <<<"$imports")" >&2
