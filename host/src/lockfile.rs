//! Lock files: `{"version": 1, "pins": {name: sha256}, "definitions": {name: sha256}}`, written
//! by `mcp-probe lock` and `scan --write-locks`, read by `--lock` (the pins) and by a scan's
//! `--baseline DIR` (both maps). Hashes are the types crate's, the validator's own functions.
//!
//! A name the server listed more than once with different definitions maps to a list of
//! hashes instead (`"same": ["<sha256>", "<sha256>"]`, each definition once, in listing
//! order; `definitions` alike): every definition is pinned, whichever a client keeps. A file
//! without such a name is what older versions wrote and read; one with it, an older version
//! refuses (it wants a string) rather than misreads.

use crate::model::canonical::{by_name, definition_hash, pin_hashes_schema, tool_hash, PinHashes};
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

/// The lock document of a tool list (the tools as validators see them: normalized). Every
/// definition of a name is pinned (see the module docs). An error names a tool member nested
/// too deeply to read (and so to hash).
pub fn document(tools: &[Tool]) -> Result<Value, ToolTextError> {
    let written = |grouped: BTreeMap<String, Vec<String>>| -> Map<String, Value> {
        grouped
            .into_iter()
            .map(|(name, hashes)| {
                let hashes = serde_json::to_value(PinHashes::of(hashes)).expect("hashes serialize");
                (name, hashes)
            })
            .collect()
    };
    let pins = written(by_name(tools, tool_hash)?);
    let definitions = written(by_name(tools, definition_hash)?);
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

/// A lock file's hashes, lower-case hex: each name's, one per definition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Locked {
    pub pins: BTreeMap<String, Vec<String>>,
    /// Empty in lock files written before definitions were (renames then cannot be told).
    pub definitions: BTreeMap<String, Vec<String>>,
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
    pins: BTreeMap<String, PinHashes>,
    #[serde(default)]
    #[schemars(schema_with = "digests")]
    definitions: BTreeMap<String, PinHashes>,
}

/// Tool name → SHA-256 (a list of them for a name listed more than once), in a form
/// `parse_digest` accepts.
fn digests(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let schema = json!({"type": "object", "additionalProperties": pin_hashes_schema()});
    schemars::Schema::try_from(schema).expect("an object schema")
}

/// Parses a lock file's text; the error says what is wrong (with serde's line and column).
pub fn parse(text: &str) -> Result<Locked, String> {
    let file: LockFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if let Some(version) = file.version.filter(|v| *v != 1) {
        return Err(format!("version {version} is not supported (only 1)"));
    }
    let hashes = |map: BTreeMap<String, PinHashes>, key: &str| {
        map.into_iter()
            .map(|(name, hashes)| match hashes.digests() {
                Ok(hex) => Ok((name, hex)),
                Err(why) => Err(format!("{key}: {name:?}: {why}")),
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
        assert_eq!(locked.pins["t"], [tool_hash(&tool).unwrap()]);
        assert_eq!(locked.definitions["t"], [definition_hash(&tool).unwrap()]);
        let old = format!("{{\"pins\": {{\"t\": \"sha256:{}\"}}}}", "A".repeat(64));
        let old = parse(&old).unwrap();
        assert_eq!(old.pins["t"], ["a".repeat(64)]);
        assert!(old.definitions.is_empty());
        assert!(parse("{\"pins\": {\"t\": \"xyz\"}}")
            .unwrap_err()
            .contains("\"t\""));
        assert!(parse("{\"pins\": {\"t\": []}}")
            .unwrap_err()
            .contains("empty list"));
        assert!(parse("{\"version\": 2, \"pins\": {}}")
            .unwrap_err()
            .contains("version 2"));
        assert!(parse("{\"pins\": 3}").is_err());
    }

    #[test]
    fn a_name_listed_twice_pins_each_definition_and_once_stays_a_string() {
        let tool = |d: &str| Tool::from_json(json!({"name": "same", "description": d})).unwrap();
        let single = Tool::from_json(json!({"name": "t"})).unwrap();
        for order in [["EVIL", "one"], ["one", "EVIL"]] {
            let tools = [
                tool(order[0]),
                single.clone(),
                tool(order[1]),
                tool(order[0]),
            ];
            let doc = document(&tools).unwrap();
            let hashes = |f: fn(&Tool) -> Result<String, ToolTextError>| {
                json!([f(&tools[0]).unwrap(), f(&tools[2]).unwrap()])
            };
            assert_eq!(doc["pins"]["same"], hashes(tool_hash), "{order:?}");
            assert_eq!(doc["definitions"]["same"], hashes(definition_hash));
            assert_eq!(doc["pins"]["t"], json!(tool_hash(&single).unwrap()));
            let locked = parse(&text(&doc)).unwrap();
            assert_eq!(locked.pins["same"].len(), 2);
            assert_eq!(locked.definitions["same"].len(), 2);
        }
        // The same definition listed twice is one pin, a string as before.
        let doc = document(&[tool("one"), tool("one")]).unwrap();
        assert!(doc["pins"]["same"].is_string(), "{doc}");
    }
}
