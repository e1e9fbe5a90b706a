//! Lock files: `{"version": 1, "pins": {name: sha256}, "definitions": {name: sha256}}`, written
//! by `mcp-probe lock` and `scan --write-locks`, read by `--lock` (the pins) and by a scan's
//! `--baseline DIR` (both maps). Hashes are the types crate's, the validator's own functions.

use crate::model::canonical::{definition_hash, parse_digest, tool_hash, DIGEST_PATTERN};
use crate::model::Tool;
use mcp_probe_types::ToolTextError;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a lock file in a lock directory is called: `<target>.lock.json`.
pub const SUFFIX: &str = ".lock.json";

/// Characters a target name keeps in its file name; any other is percent-encoded, so that no
/// name reaches outside the directory (`/`, `..`) or collides with another.
const KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// The lock document of a tool list (the tools as validators see them: normalized). A later
/// duplicate of a name wins, as in the validator's pins. An error names a tool member nested
/// too deeply to read (and so to hash).
pub fn document(tools: &[Tool]) -> Result<Value, ToolTextError> {
    let mut pins = Map::new();
    let mut definitions = Map::new();
    for tool in tools {
        pins.insert(tool.name.clone(), Value::String(tool_hash(tool)?));
        definitions.insert(tool.name.clone(), Value::String(definition_hash(tool)?));
    }
    Ok(json!({"version": 1, "pins": pins, "definitions": definitions}))
}

/// A lock [`document`] as the file holds it: pretty JSON, newline-terminated.
pub fn text(document: &Value) -> String {
    serde_json::to_string_pretty(document).expect("a lock document serializes") + "\n"
}

/// Writes each `(target, tools)` lock file into `dir` (created if missing), each atomically.
pub fn write_dir<'a>(
    dir: &Path,
    targets: impl IntoIterator<Item = (&'a str, &'a [Tool])>,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (target, tools) in targets {
        let document =
            document(tools).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let text = text(&document);
        crate::atomic_file::write(
            &path_for(dir, target),
            ".mcp-probe-lock-",
            &[text.as_bytes()],
        )?;
    }
    Ok(())
}

/// The file of `target` in lock directory `dir`.
pub fn path_for(dir: &Path, target: &str) -> PathBuf {
    dir.join(format!("{}{SUFFIX}", utf8_percent_encode(target, KEPT)))
}

/// The target a lock directory's file is for; `None` when the name is not `<target>.lock.json`.
pub fn target_of(file_name: &str) -> Option<String> {
    let stem = file_name.strip_suffix(SUFFIX)?;
    let name = percent_decode_str(stem).decode_utf8().ok()?;
    (!name.is_empty()).then(|| name.into_owned())
}

/// A lock file's hashes, lower-case hex.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Locked {
    pub pins: BTreeMap<String, String>,
    /// Empty in lock files written before definitions were (renames then cannot be told).
    pub definitions: BTreeMap<String, String>,
}

/// `covers` of a lock file whose hashes are of the tools as the server sent them.
pub const COVERS_AS_SENT: &str = "as-sent";
/// `covers` of a lock file whose hashes are of the tools as normalizer stages rewrote them.
pub const COVERS_NORMALIZED: &str = "normalized";

/// A lock file as [`parse`] reads it; public for its JSON Schema (`mcp-probe schema lock`).
#[derive(Deserialize, schemars::JsonSchema)]
pub struct LockFile {
    /// What the hashes are of: `as-sent` (the tools as the server sent them) or `normalized`
    /// (as the pipeline's normalizer stages rewrote them); written by `mcp-probe lock`.
    /// Only for readers: pins compare with what validators see either way.
    #[serde(default)]
    #[allow(dead_code)]
    covers: Option<String>,
    #[schemars(range(min = 1, max = 1))]
    version: Option<u64>,
    #[schemars(schema_with = "digests")]
    pins: BTreeMap<String, String>,
    #[serde(default)]
    #[schemars(schema_with = "digests")]
    definitions: BTreeMap<String, String>,
}

/// Tool name → SHA-256, in a form `parse_digest` accepts.
fn digests(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": {"type": "string", "pattern": DIGEST_PATTERN},
    })
}

/// Parses a lock file's text; the error says what is wrong (with serde's line and column).
pub fn parse(text: &str) -> Result<Locked, String> {
    let file: LockFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if let Some(version) = file.version.filter(|v| *v != 1) {
        return Err(format!("version {version} is not supported (only 1)"));
    }
    let hashes = |map: BTreeMap<String, String>, key: &str| {
        map.into_iter()
            .map(|(name, hash)| match parse_digest(&hash) {
                Some(hex) => Ok((name, hex)),
                None => Err(format!("{key}: {name:?} is not a SHA-256 hex digest")),
            })
            .collect::<Result<BTreeMap<_, _>, String>>()
    };
    Ok(Locked {
        pins: hashes(file.pins, "pins")?,
        definitions: hashes(file.definitions, "definitions")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_stay_inside_the_directory() {
        for name in ["fs", "a/b", "..", "ü ber", "x.lock.json", "100%"] {
            let path = path_for(Path::new("/d"), name);
            assert_eq!(path.parent(), Some(Path::new("/d")), "{name}");
            let file = path.file_name().unwrap().to_str().unwrap();
            assert_eq!(target_of(file).as_deref(), Some(name), "{file}");
        }
        assert_eq!(path_for(Path::new("d"), "fs"), Path::new("d/fs.lock.json"));
        assert_eq!(target_of("notes.txt"), None);
    }

    #[test]
    fn documents_parse_back_and_bad_ones_say_why() {
        let tool = Tool::from_json(json!({"name": "t", "description": "d"})).unwrap();
        let locked = parse(&text(&document(std::slice::from_ref(&tool)).unwrap())).unwrap();
        assert_eq!(locked.pins["t"], tool_hash(&tool).unwrap());
        assert_eq!(locked.definitions["t"], definition_hash(&tool).unwrap());
        let old = format!("{{\"pins\": {{\"t\": \"sha256:{}\"}}}}", "A".repeat(64));
        let old = parse(&old).unwrap();
        assert_eq!(old.pins["t"], "a".repeat(64));
        assert!(old.definitions.is_empty());
        assert!(parse("{\"pins\": {\"t\": \"xyz\"}}")
            .unwrap_err()
            .contains("\"t\""));
        assert!(parse("{\"version\": 2, \"pins\": {}}")
            .unwrap_err()
            .contains("version 2"));
        assert!(parse("{\"pins\": 3}").is_err());
    }
}
