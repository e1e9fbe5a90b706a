//! Embeds the built-in plugins (committed components in `plugins/dist/`) and records the
//! wasmtime version for the compiled-artifact cache key. Building the host never needs a wasm
//! toolchain: the components are committed artifacts that CI rebuilds and compares.

use std::path::{Path, PathBuf};

const BUILTINS: [&str; 3] = ["normalize", "validate", "parse"];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let dist = manifest.join("../plugins/dist");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    for name in BUILTINS {
        let file = dist.join(format!("{name}.wasm"));
        println!("cargo:rerun-if-changed={}", file.display());
        let embedded = if file.is_file() {
            file
        } else {
            // Keeps the host buildable before the guest artifacts exist; the built-in then
            // reports clearly that it was not embedded.
            println!(
                "cargo:warning=built-in plugin {} is missing; `{name}` will be unavailable",
                file.display()
            );
            let empty = out.join(format!("{name}.missing.wasm"));
            std::fs::write(&empty, b"").unwrap();
            empty
        };
        println!(
            "cargo:rustc-env=MCP_PROBE_BUILTIN_{}={}",
            name.to_uppercase(),
            embedded.display()
        );
    }

    let lock = manifest.join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    println!(
        "cargo:rustc-env=MCP_PROBE_WASMTIME_VERSION={}",
        locked_version(&lock, "wasmtime").unwrap_or_else(|| "unknown".into())
    );
}

/// The version of `package` in Cargo.lock.
fn locked_version(lock: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(lock).ok()?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = text.find(&needle)? + needle.len();
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_string())
}
