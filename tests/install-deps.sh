#!/usr/bin/env bash
# Installs the real MCP servers and clients the integration tests run, under tests/.deps/
# (gitignored). Idempotent: a second run with everything present does nothing but check.
# Quiet: prints one line per step; a failing step prints its log and exits non-zero.
# Needs npm and python3 (>= 3.10) on PATH; no stdin, no global installs.
set -euo pipefail
cd "$(dirname "$0")"
DEPS="$PWD/.deps"
mkdir -p "$DEPS"
LOG="$DEPS/install.log"
: >"$LOG"

# Pinned so that CI and the tests' expectations (e.g. tool counts) move together.
NPM_PACKAGES=(
  "@modelcontextprotocol/server-everything@2026.8.31"
  "@modelcontextprotocol/server-memory@2026.8.31"
  # Inspector 2.x needs Node >= 22.19: the tests run it with node@22's binary below.
  "@modelcontextprotocol/inspector@2.12.0"
  "@modelcontextprotocol/conformance@0.1.16"
  "node@22"
)
PIP_PACKAGES=(mcp mcp-server-time)

step() { # step NAME CMD... : run quietly, show the log on failure
  local name=$1 start=$SECONDS
  shift
  if "$@" >>"$LOG" 2>&1; then
    echo "install-deps: $name ok ($((SECONDS - start)) s)"
  else
    echo "install-deps: $name FAILED; log follows" >&2
    tail -n 60 "$LOG" >&2
    exit 1
  fi
}

npm_present() {
  local bin=$DEPS/node_modules/.bin
  [[ -x $bin/mcp-inspector && -x $bin/node && -f $DEPS/node_modules/@modelcontextprotocol/server-everything/package.json &&
    -f $DEPS/node_modules/@modelcontextprotocol/server-memory/package.json &&
    -f $DEPS/node_modules/@modelcontextprotocol/conformance/package.json ]] &&
    [[ $("$bin/node" --version) == v22.* ]] &&
    grep -q '"version": "2\.' "$DEPS/node_modules/@modelcontextprotocol/inspector/package.json"
}

if npm_present; then
  echo "install-deps: npm packages present"
else
  command -v npm >/dev/null || { echo "install-deps: npm not found on PATH" >&2; exit 1; }
  [[ -f $DEPS/package.json ]] || echo '{"private": true}' >"$DEPS/package.json"
  step "npm install" npm install --prefix "$DEPS" --no-audit --no-fund --loglevel=error \
    "${NPM_PACKAGES[@]}"
fi

VENV=$DEPS/venv
if [[ -x $VENV/bin/mcp-server-time ]] && "$VENV/bin/python" -c 'import mcp.server.lowlevel' 2>/dev/null; then
  echo "install-deps: python packages present"
else
  command -v python3 >/dev/null || { echo "install-deps: python3 not found on PATH" >&2; exit 1; }
  [[ -x $VENV/bin/python ]] || step "python venv" python3 -m venv "$VENV"
  step "pip install" "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PIP_PACKAGES[@]}"
fi
