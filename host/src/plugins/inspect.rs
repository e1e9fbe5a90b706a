//! Reads a component's imports and exports with wasmparser *before* compiling it, so that a
//! wrong file, a forbidden import or another version of the contract is refused with a clear
//! message instead of a linker error (the approach of Zed's extension host).

use std::fmt;

/// The WIT package every plugin targets.
pub const WIT_PACKAGE: &str = "mcp-probe:plugin";
/// The contract version this host implements: the `package` line of `wit/plugin.wit` (a unit
/// test holds the two together). Components of any compatible version are accepted (see
/// `supported_range`); error messages name the range from this constant too.
pub const WIT_VERSION: &str = "0.1.0";

/// Which of the three worlds a component targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum World {
    Normalizer,
    Validator,
    Parser,
}

impl World {
    pub const ALL: [World; 3] = [World::Normalizer, World::Validator, World::Parser];

    /// The interface the world exports, e.g. `normalizer`.
    pub fn interface(self) -> &'static str {
        match self {
            World::Normalizer => "normalizer",
            World::Validator => "validator",
            World::Parser => "parser",
        }
    }

    /// The world's name in the WIT file, e.g. `normalizer-plugin`.
    pub fn wit_name(self) -> &'static str {
        match self {
            World::Normalizer => "normalizer-plugin",
            World::Validator => "validator-plugin",
            World::Parser => "parser-plugin",
        }
    }

    /// Accepts `normalizer` or `normalizer-plugin` (and likewise for the others).
    pub fn parse(text: &str) -> Option<World> {
        World::ALL
            .into_iter()
            .find(|w| text == w.interface() || text == w.wit_name())
    }
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wit_name())
    }
}

/// What the inspection found in an acceptable component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInfo {
    pub world: World,
    /// The version of `mcp-probe:plugin` the component was built against.
    pub wit_version: String,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// Why a file was refused; the caller adds the plugin's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotAComponent(String),
    ForbiddenImports(Vec<String>),
    Incompatible(String),
}

/// A name like `mcp-probe:plugin/log@0.1.0`, split into package, interface and version.
fn split_interface_name(name: &str) -> Option<(&str, &str, Option<&str>)> {
    let (path, version) = match name.split_once('@') {
        Some((path, version)) => (path, Some(version)),
        None => (name, None),
    };
    let (package, interface) = path.split_once('/')?;
    Some((package, interface, version))
}

/// Same `0.minor` (or same major from 1.0 on): the component model's semver compatibility.
fn version_compatible(version: &str) -> bool {
    let ours: Vec<&str> = WIT_VERSION.split('.').collect();
    let theirs: Vec<&str> = version.split(['.', '-', '+']).collect();
    match (ours.first(), theirs.first()) {
        (Some(&"0"), Some(&"0")) => ours.get(1) == theirs.get(1),
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The top-level imports and exports of a component, or why it is not one.
fn read_names(bytes: &[u8]) -> Result<(Vec<String>, Vec<String>), Refusal> {
    use wasmparser::{Encoding, Parser, Payload};
    if !bytes.starts_with(b"\0asm") {
        return Err(Refusal::NotAComponent(
            "the file does not start with the WebAssembly magic bytes".into(),
        ));
    }
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    // Nested modules and components have their own Version..End; only depth 1 is ours.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| Refusal::NotAComponent(format!("invalid wasm: {e}")))?;
        match payload {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding == Encoding::Module {
                    return Err(Refusal::NotAComponent(
                        "this is a core wasm module; turn it into a component with \
                         `wasm-tools component new` (or build with cargo-component)"
                            .into(),
                    ));
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 1 => {
                for import in section {
                    let import = import.map_err(|e| Refusal::NotAComponent(e.to_string()))?;
                    imports.push(import.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(section) if depth == 1 => {
                for export in section {
                    let export = export.map_err(|e| Refusal::NotAComponent(e.to_string()))?;
                    exports.push(export.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

/// Says which world `bytes` targets, or refuses it.
pub fn inspect(bytes: &[u8]) -> Result<ComponentInfo, Refusal> {
    let (imports, exports) = read_names(bytes)?;

    // The contract version first: a 0.2 component also "forbids" itself by importing 0.2's log.
    for name in imports.iter().chain(&exports) {
        if let Some((WIT_PACKAGE, _, Some(version))) = split_interface_name(name) {
            if !version_compatible(version) {
                return Err(Refusal::Incompatible(format!(
                    "built against {WIT_PACKAGE}@{version}, this host supports {}",
                    supported_range()
                )));
            }
        }
    }

    let forbidden: Vec<String> = imports
        .iter()
        .filter(|name| {
            !matches!(
                split_interface_name(name),
                Some((WIT_PACKAGE, "log" | "types", Some(_)))
            )
        })
        .cloned()
        .collect();
    if !forbidden.is_empty() {
        return Err(Refusal::ForbiddenImports(forbidden));
    }

    let mut found = Vec::new();
    for name in &exports {
        if let Some((WIT_PACKAGE, interface, Some(version))) = split_interface_name(name) {
            if let Some(world) = World::parse(interface) {
                found.push((world, version.to_string()));
            }
        }
    }
    match found.as_slice() {
        [(world, version)] => Ok(ComponentInfo {
            world: *world,
            wit_version: version.clone(),
            imports,
            exports,
        }),
        [] => Err(Refusal::Incompatible(format!(
            "exports none of {WIT_PACKAGE}/{{normalizer,validator,parser}}@{} (it exports: {})",
            supported_range(),
            if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.join(", ")
            }
        ))),
        _ => Err(Refusal::Incompatible(format!(
            "exports more than one world's interface ({}); a plugin targets exactly one",
            found
                .iter()
                .map(|(w, _)| w.interface())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The versions this host accepts, e.g. `0.1.x`, as error messages print them.
pub(crate) fn supported_range() -> String {
    let mut parts = WIT_VERSION.split('.');
    let (major, minor) = (parts.next().unwrap_or("0"), parts.next().unwrap_or("0"));
    if major == "0" {
        format!("{major}.{minor}.x")
    } else {
        format!("{major}.x")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(version_compatible("0.1.0"));
        assert!(version_compatible("0.1.7"));
        assert!(!version_compatible("0.2.0"));
        assert!(!version_compatible("1.0.0"));
        assert_eq!(supported_range(), "0.1.x");
    }

    /// `WIT_VERSION` is typed by hand; the bindings come from `wit/plugin.wit`. A change to
    /// either alone fails here.
    #[test]
    fn wit_version_is_the_wit_files() {
        let wit = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/plugin.wit"));
        let package = wit
            .lines()
            .find_map(|line| line.trim().strip_prefix("package "))
            .expect("wit/plugin.wit has a `package` line");
        assert_eq!(package, format!("{WIT_PACKAGE}@{WIT_VERSION};"));
    }

    #[test]
    fn refuses_non_wasm_and_core_modules() {
        assert!(matches!(inspect(b"hello"), Err(Refusal::NotAComponent(_))));
        let core = b"\0asm\x01\0\0\0";
        match inspect(core) {
            Err(Refusal::NotAComponent(m)) => assert!(m.contains("core wasm module"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn world_names() {
        assert_eq!(World::parse("validator"), Some(World::Validator));
        assert_eq!(World::parse("parser-plugin"), Some(World::Parser));
        assert_eq!(World::parse("nope"), None);
    }
}
