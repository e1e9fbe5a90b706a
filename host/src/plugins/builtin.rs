//! The built-in plugins, embedded in the host binary (see `build.rs`).

/// A plugin shipped inside the host.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The short name, as in `builtin:normalize`.
    pub name: &'static str,
    /// The component bytes; empty when the artifact was missing at build time.
    pub bytes: &'static [u8],
}

pub const NORMALIZE: Builtin = Builtin {
    name: "normalize",
    bytes: include_bytes!(env!("MCP_PROBE_BUILTIN_NORMALIZE")),
};
pub const VALIDATE: Builtin = Builtin {
    name: "validate",
    bytes: include_bytes!(env!("MCP_PROBE_BUILTIN_VALIDATE")),
};
pub const PARSE: Builtin = Builtin {
    name: "parse",
    bytes: include_bytes!(env!("MCP_PROBE_BUILTIN_PARSE")),
};

pub const ALL: [Builtin; 3] = [NORMALIZE, VALIDATE, PARSE];

/// The prefix that names a built-in in a pipeline file: `builtin:normalize`.
pub const PREFIX: &str = "builtin:";

/// Looks up `builtin:NAME` (or bare `NAME`).
pub fn find(name: &str) -> Option<Builtin> {
    let name = name.strip_prefix(PREFIX).unwrap_or(name);
    ALL.into_iter().find(|b| b.name == name)
}
