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
  # Dual-era (2026-07-28 and initialize) servers: TypeScript SDK v2 here, Python SDK below.
  "@takescake/1password-mcp@4.0.2"
  # Ships the official SARIF 2.1.0 JSON Schema (sarif-2.1.0.json) the SARIF tests validate by.
  "@microsoft/sarif-multitool-linux@5.7.0"
  "node@22"
)
# The Python SDK's v2 API (low-level Server, MCPServer) is what tests/fixtures/*.py use.
PIP_PACKAGES=("mcp==2.3.0" "mcp-server-time==2026.10.19" "mcp-argocd==0.5.3" "kubectl-mcp-server==2.0.0")

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

# A stamp of the pinned list, so that changing a pin reinstalls.
npm_present() {
  local bin=$DEPS/node_modules/.bin
  [[ $(cat "$DEPS/.npm-stamp" 2>/dev/null) == "${NPM_PACKAGES[*]}" ]] && [[ -x $bin/mcp-inspector && -x $bin/node && -f $DEPS/node_modules/@modelcontextprotocol/server-everything/package.json &&
    -f $DEPS/node_modules/@modelcontextprotocol/server-memory/package.json &&
    -f $DEPS/node_modules/@modelcontextprotocol/conformance/package.json &&
    -f $DEPS/node_modules/@takescake/1password-mcp/bin/1password-mcp.js &&
    -f $DEPS/node_modules/@microsoft/sarif-multitool-linux/sarif-2.1.0.json ]] &&
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
  echo "${NPM_PACKAGES[*]}" >"$DEPS/.npm-stamp"
fi

VENV=$DEPS/venv
if [[ $(cat "$DEPS/.pip-stamp" 2>/dev/null) == "${PIP_PACKAGES[*]}" && -x $VENV/bin/mcp-server-time &&
  -x $VENV/bin/mcp-argocd && -x $VENV/bin/kubectl-mcp ]] &&
  "$VENV/bin/python" -c 'import mcp.server.lowlevel, mcp.server.mcpserver' 2>/dev/null; then
  echo "install-deps: python packages present"
else
  command -v python3 >/dev/null || { echo "install-deps: python3 not found on PATH" >&2; exit 1; }
  if [[ ! -x $VENV/bin/python ]] && ! python3 -m venv "$VENV" >>"$LOG" 2>&1; then
    # Debian's python3 lacks ensurepip until python3-venv is installed (CI runs as root).
    rm -rf "$VENV"
    step "apt python3-venv" bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv'
    step "python venv" python3 -m venv "$VENV"
  fi
  step "pip install" "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PIP_PACKAGES[@]}"
  echo "${PIP_PACKAGES[*]}" >"$DEPS/.pip-stamp"
fi

# strace checks how local servers are spawned (posix_spawn, not fork): Debian's package.
if command -v strace >/dev/null; then
  echo "install-deps: strace present"
else
  step "apt strace" bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace'
fi
