#!/usr/bin/env bash
# Builds every guest crate to a WebAssembly component in plugins/dist/ (the host embeds those).
#
#   plugins/build.sh            build into plugins/dist/
#   plugins/build.sh --check    build into a temp dir and fail unless it equals plugins/dist/
#                               byte for byte (CI runs this: the committed components must be
#                               reproducible from source)
#
# Toolchain: rustup's wasm32-unknown-unknown target when installed (`rustup target add
# wasm32-unknown-unknown`), else Debian's rustc-web + rust-web-src, which build std for wasm
# themselves (-Zbuild-std). MCP_PROBE_PLUGIN_TOOLCHAIN=rustup|debian forces one. The committed
# dist/ was built with the toolchain named in dist/TOOLCHAIN; another toolchain gives other
# bytes, so --check only holds with that one.
set -euo pipefail

plugins_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dist="$plugins_dir/dist"
guests=(normalize validate parse mcp-platform-compat)
check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: plugins/build.sh [--check]" >&2; exit 2 ;;
esac

log() { echo "plugins/build.sh: $*" >&2; }

pick_toolchain() {
  if [[ -n "${MCP_PROBE_PLUGIN_TOOLCHAIN:-}" ]]; then
    echo "$MCP_PROBE_PLUGIN_TOOLCHAIN"
  elif rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo rustup
  else
    echo debian
  fi
}

ensure_debian_toolchain() {
  local missing=()
  for pkg in rustc-web cargo-web rust-web-src lld; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
      log "error: needs the Debian packages ${missing[*]} (or: rustup target add wasm32-unknown-unknown)"
      exit 1
    fi
    log "installing ${missing[*]} from apt"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

toolchain="$(pick_toolchain)"
# Paths differ between clones and machines; remapping them keeps panic locations (the only
# paths left in a stripped release build) identical, so the components are byte-reproducible.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rustflags="--remap-path-prefix=$plugins_dir=/mcp-probe/plugins --remap-path-prefix=$cargo_home=/cargo"
# A 256 KiB shadow stack instead of Rust's 1 MiB default: every call starts from a fresh
# instance whose memory the host resets afterwards, and that reset costs by the byte. 256 KiB
# holds serde_json's deepest nesting (host/tests/builtin_deep_input.rs checks it).
rustflags="$rustflags -C link-arg=-zstack-size=262144"
build_args=(build --release --locked --target wasm32-unknown-unknown
  --manifest-path "$plugins_dir/Cargo.toml" --workspace --exclude mcp-probe-plugin-core --exclude mcp-probe-types)

start=$SECONDS
case "$toolchain" in
  rustup)
    RUSTFLAGS="$rustflags" cargo "${build_args[@]}"
    rustc_id="rustup $(rustc -V)"
    ;;
  debian)
    ensure_debian_toolchain
    # Debian's rustc/cargo first for this build only; RUSTC_BOOTSTRAP lets them take -Z flags.
    PATH="/usr/bin:$PATH" RUSTC_BOOTSTRAP=1 RUSTFLAGS="$rustflags" \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld \
      cargo "${build_args[@]}" -Zbuild-std=std,panic_abort
    rustc_id="debian $(/usr/bin/rustc -V)"
    ;;
  *) log "error: MCP_PROBE_PLUGIN_TOOLCHAIN must be rustup or debian, not $toolchain"; exit 2 ;;
esac

# The componentizer is a native tool: rustup's toolchain, its own workspace and lock file.
cargo build --release --locked --quiet --manifest-path "$plugins_dir/componentize/Cargo.toml"
componentize="$plugins_dir/componentize/target/release/mcp-probe-componentize"

out="$dist"
if $check; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
for guest in "${guests[@]}"; do
  module="$plugins_dir/target/wasm32-unknown-unknown/release/mcp_probe_plugin_${guest//-/_}.wasm"
  "$componentize" "$module" "$out/$guest.wasm"
done
echo "$rustc_id, wit-component 0.263.0" > "$out/TOOLCHAIN"
(cd "$out" && sha256sum "${guests[@]/%/.wasm}" > SHA256SUMS)
log "built ${#guests[@]} components with $rustc_id in $((SECONDS - start)) s"

if $check; then
  if ! diff -q "$out/SHA256SUMS" "$dist/SHA256SUMS" >/dev/null 2>&1 \
      || ! cmp -s "$out/TOOLCHAIN" "$dist/TOOLCHAIN"; then
    log "error: plugins/dist/ is not what the sources build:"
    diff "$dist/SHA256SUMS" "$out/SHA256SUMS" >&2 || true
    log "  committed: $(cat "$dist/TOOLCHAIN" 2>/dev/null || echo 'no TOOLCHAIN file')"
    log "  this run:  $(cat "$out/TOOLCHAIN")"
    log "run plugins/build.sh (with the committed toolchain) and commit plugins/dist/"
    exit 1
  fi
  for guest in "${guests[@]}"; do
    cmp -s "$out/$guest.wasm" "$dist/$guest.wasm" || { log "error: $guest.wasm differs from its SHA256SUMS entry"; exit 1; }
  done
  log "plugins/dist/ is reproducible: identical to a fresh build"
fi
