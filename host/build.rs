//! Embeds the built-in plugins (committed components in `plugins/dist/`) and records the
//! wasmtime version for the compiled-artifact cache key. Building the host never needs a wasm
//! toolchain: the components are committed artifacts that CI rebuilds and compares.

use std::path::{Path, PathBuf};

const BUILTINS: [&str; 3] = ["normalize", "validate", "parse"];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let dist = manifest.join("../plugins/dist");
    for name in BUILTINS {
        let file = dist.join(format!("{name}.wasm"));
        println!("cargo:rerun-if-changed={}", file.display());
        if !file.is_file() {
            panic!(
                "built-in plugin {} is missing: it is a committed artifact; restore it with \
                 `git checkout plugins/dist` or rebuild it with `bash plugins/build.sh`",
                file.display()
            );
        }
        let embedded = file;
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
