#!/usr/bin/env bash
# Installs the real MCP servers the tests talk to, under tests/.deps (gitignored).
# Idempotent and quiet: a second run with everything present does nothing.
set -euo pipefail
cd "$(dirname "$0")"
DEPS=.deps

npm_packages=(
  "@modelcontextprotocol/server-everything"
)

missing=()
for pkg in "${npm_packages[@]}"; do
  [ -f "$DEPS/node_modules/$pkg/package.json" ] || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  mkdir -p "$DEPS"
  npm install --prefix "$DEPS" --no-audit --no-fund --loglevel=error "${missing[@]}" >/dev/null
fi
