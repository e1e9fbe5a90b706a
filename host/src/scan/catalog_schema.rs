//! The JSON Schema of a scan catalog (`mcp-probe schema catalog`). catalog.rs reads a catalog
//! into one lenient `Entry` and then checks by hand which keys go with which kind of target;
//! these types say the same as one object shape per kind. The cli tests (`cli_schema.rs`) hold
//! both to the same documents. Two things the schema cannot say or says more strictly: names
//! are unique, and the reader also lets a target carry another kind's key with an empty value
//! (`args: []` on a `url` target), which the schema refuses.

#![allow(dead_code)] // Only the schema of these types is used.

use schemars::JsonSchema;
use std::collections::BTreeMap;

/// A scan catalog (YAML or JSON): targets in order, each an image, a URL or a command.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    targets: Vec<CatalogEntry>,
}

/// Exactly one of `image`, `url` or `command`, and only the keys that kind takes.
#[derive(JsonSchema)]
#[serde(untagged)]
enum CatalogEntry {
    Image(ImageEntry),
    Url(UrlEntry),
    Command(CommandEntry),
}

/// A container image run as a Pod.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct ImageEntry {
    /// Unique in the catalog; not blank.
    #[schemars(regex(pattern = r"\S"))]
    name: String,
    image: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    secret_env: BTreeMap<String, String>,
    transport: Option<TransportName>,
    port: Option<u16>,
    namespace: Option<String>,
}

/// A running server.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct UrlEntry {
    #[schemars(regex(pattern = r"\S"))]
    name: String,
    url: String,
    /// Sent on every request, as `-H "Name: value"`.
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// A local stdio server: the program and its arguments.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct CommandEntry {
    #[schemars(regex(pattern = r"\S"))]
    name: String,
    #[schemars(length(min = 1))]
    command: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
enum TransportName {
    Auto,
    Stdio,
    Http,
}
