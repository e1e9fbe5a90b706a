#!/usr/bin/env bash
# Installs the real MCP servers the tests talk to, under tests/.deps (gitignored).
# Idempotent and quiet: a second run with everything present does nothing.
set -euo pipefail
cd "$(dirname "$0")"
DEPS=.deps
mkdir -p "$DEPS"

# npm: servers from the MCP project.
npm_packages=(
  "@modelcontextprotocol/server-everything"
)
missing=()
for pkg in "${npm_packages[@]}"; do
  [ -f "$DEPS/node_modules/$pkg/package.json" ] || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  npm install --prefix "$DEPS" --no-audit --no-fund --loglevel=error "${missing[@]}" >/dev/null
fi

# PyPI: the official Python SDK, for tests/fixtures/*.py servers (its v2 API: MCPServer).
VENV="$DEPS/venv"
if [ ! -x "$VENV/bin/python" ]; then
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    rm -rf "$VENV"
    apt-get update -qq >/dev/null && apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  fi
fi
if ! "$VENV/bin/python" -c "import mcp.server.mcpserver" >/dev/null 2>&1; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "mcp>=2,<3"
fi
