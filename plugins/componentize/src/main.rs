//! `mcp-probe-componentize IN.wasm OUT.wasm`: wraps a core module into a component (what
//! `wasm-tools component new` does), then checks the result imports nothing but the plugin
//! contract's own interfaces.
//!
//! `mcp-probe-componentize --imports FILE.wasm` prints the component's imports, one a line.

use anyhow::{bail, Context, Result};
use wasmparser::{Parser, Payload};

/// Import names a plugin may have: the WIT package's own interfaces.
const ALLOWED_IMPORT_PREFIX: &str = "mcp-probe:plugin/";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mcp-probe-componentize: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, file] if flag == "--imports" => {
            let bytes = std::fs::read(file).with_context(|| format!("reading {file}"))?;
            for import in component_imports(&bytes)? {
                println!("{import}");
            }
            Ok(())
        }
        [input, output] => componentize(input, output),
        _ => bail!("usage: mcp-probe-componentize IN.wasm OUT.wasm | --imports FILE.wasm"),
    }
}

fn componentize(input: &str, output: &str) -> Result<()> {
    let module = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .context("the module carries no usable component type (built without wit-bindgen?)")?
        .validate(true)
        .encode()
        .with_context(|| format!("componentizing {input}"))?;
    let imports = component_imports(&component)?;
    if let Some(bad) = imports
        .iter()
        .find(|i| !i.starts_with(ALLOWED_IMPORT_PREFIX))
    {
        bail!("{input}: imports {bad}, but a plugin may import only {ALLOWED_IMPORT_PREFIX}log");
    }
    // Write next to the target and rename, so a failed run leaves no half-written component.
    let partial = format!("{output}.partial");
    std::fs::write(&partial, &component).with_context(|| format!("writing {partial}"))?;
    std::fs::rename(&partial, output).with_context(|| format!("renaming to {output}"))?;
    Ok(())
}

/// The names of a component's top-level imports (nested modules' imports are internal).
fn component_imports(bytes: &[u8]) -> Result<Vec<String>> {
    let mut imports = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.context("not a valid wasm file")? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    imports.push(import?.name.name.to_owned());
                }
            }
            Payload::Version { encoding, .. }
                if depth == 0 && encoding != wasmparser::Encoding::Component =>
            {
                bail!("a core module, not a component");
            }
            _ => {}
        }
    }
    Ok(imports)
}
