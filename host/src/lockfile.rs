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
use sha2::{Digest, Sha256};
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
    let orderless = written(by_name(tools, orderless_hash)?);
    Ok(json!({"version": 1, "pins": pins, "definitions": definitions, "orderless": orderless}))
}

/// The hash of a tool with the order of its items taken out: every array's elements sorted
/// (but `prefixItems`, whose order is the schema's meaning), every string's items (split at
/// `,` `;` `|` and line breaks, trimmed) sorted. Servers that build a description or an
/// `enum` from an unordered set list the same items in another order on every start; equal
/// orderless hashes under different pins tell that apart from a change (the scan baseline's
/// `baseline-tool-reordered`). Words inside an item keep their order, so "read /tmp, never
/// write /etc" → "write /etc, never read /tmp" is a change, not a reordering.
pub fn orderless_hash(tool: &Tool) -> Result<String, ToolTextError> {
    Ok(orderless_value_hash(&crate::model::canonical::tool_value(
        tool,
    )?))
}

/// [`orderless_hash`] of a tool's MCP object already read ([`crate::model::canonical::tool_value`]).
pub fn orderless_value_hash(tool: &Value) -> String {
    crate::model::canonical::value_hash(&orderless(tool.clone(), None))
}

fn orderless(value: Value, key: Option<&str>) -> Value {
    match value {
        Value::String(text) => {
            let mut items: Vec<&str> = text
                .split([',', ';', '|', '\n', '\r'])
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .collect();
            items.sort_unstable();
            Value::String(items.join("\u{1f}"))
        }
        Value::Array(elements) => {
            let mut elements: Vec<Value> =
                elements.into_iter().map(|e| orderless(e, None)).collect();
            if key != Some("prefixItems") {
                elements.sort_by_cached_key(|e| e.to_string());
            }
            Value::Array(elements)
        }
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .map(|(k, v)| {
                    let v = orderless(v, Some(&k));
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// A lock [`document`] as the file holds it: pretty JSON, newline-terminated.
pub fn text(document: &Value) -> String {
    serde_json::to_string_pretty(document).expect("a lock document serializes") + "\n"
}

/// The longest file name (bytes) common file systems take.
const NAME_MAX: usize = 255;

/// Joins a shortened name's prefix and hash. `~` is percent-encoded in every full name, so a
/// shortened name can never be a full one.
const SHORTENED: char = '~';

/// Why lock files cannot be written (each checked before any is).
#[derive(Debug, thiserror::Error)]
pub enum LockDirError {
    /// Names whose files would be one on a case-insensitive file system (macOS, Windows).
    #[error("targets {0:?} and {1:?} differ only in case; their lock files would collide")]
    CaseOnly(String, String),
    #[error("{0} is not a regular file")]
    NotAFile(String),
    #[error(transparent)]
    Path(#[from] crate::atomic_file::OutputError),
    #[error("{target}: {source}")]
    Document {
        target: String,
        source: ToolTextError,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl LockDirError {
    /// True when the names or the directory's entries are at fault, not the writing.
    pub fn is_bad_input(&self) -> bool {
        match self {
            LockDirError::CaseOnly(..)
            | LockDirError::NotAFile(_)
            | LockDirError::Document { .. } => true,
            LockDirError::Path(e) => e.is_bad_input(),
            LockDirError::Io(_) => false,
        }
    }
}

/// Refuses, before anything is written, names whose lock files in `dir` could not all be
/// written: two that differ only in case, or a path held by something not a regular file.
pub fn check_dir<'a>(
    dir: &Path,
    targets: impl IntoIterator<Item = &'a str>,
) -> Result<(), LockDirError> {
    use crate::atomic_file::{Destination, OutputError};
    let mut folded: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for target in targets {
        let name = file_name_for(target);
        if let Some(other) = folded.insert(name.to_lowercase(), target) {
            return Err(LockDirError::CaseOnly(other.to_owned(), target.to_owned()));
        }
        // A lock file is replaced atomically: a FIFO, a directory or a dangling link there is
        // refused, not written through.
        let path = dir.join(&name);
        match Destination::of(&path) {
            Ok(Destination::Replace { .. }) => {}
            Ok(_) | Err(OutputError::Unsupported { .. }) => {
                return Err(LockDirError::NotAFile(path.display().to_string()))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Writes each `(target, tools)` lock file into `dir` (created if missing): all checked
/// ([`check_dir`]) and written beside their paths first, then each renamed into place, so a
/// failure leaves no half set of new files.
pub fn write_dir<'a>(
    dir: &Path,
    targets: impl IntoIterator<Item = (&'a str, &'a [Tool])>,
) -> Result<(), LockDirError> {
    let targets: Vec<_> = targets.into_iter().collect();
    let mut locks = StagedLocks::new(dir, targets.iter().map(|(target, _)| *target))?;
    for (target, tools) in targets {
        locks.add(target, tools)?;
    }
    locks.commit()
}

/// Lock files written as a scan's results arrive (so that no report is held until the end)
/// and renamed into place together by [`StagedLocks::commit`]; dropped, the written ones are
/// removed. Each document records its `target`, which a shortened file name needs to be read
/// back.
pub struct StagedLocks {
    dir: PathBuf,
    staged: Vec<crate::atomic_file::Staged>,
    /// `dir` did not exist: an uncommitted set removes it again.
    created_dir: bool,
}

impl StagedLocks {
    /// Checks every name that may be written ([`check_dir`]); `dir` is created by the first
    /// [`StagedLocks::add`].
    pub fn new<'a>(
        dir: &Path,
        targets: impl IntoIterator<Item = &'a str>,
    ) -> Result<StagedLocks, LockDirError> {
        check_dir(dir, targets)?;
        Ok(StagedLocks {
            dir: dir.to_owned(),
            staged: Vec::new(),
            created_dir: false,
        })
    }

    /// Writes `target`'s lock file beside its path.
    pub fn add(&mut self, target: &str, tools: &[Tool]) -> Result<(), LockDirError> {
        let mut document = document(tools).map_err(|source| LockDirError::Document {
            target: target.to_owned(),
            source,
        })?;
        document["target"] = Value::String(target.to_owned());
        if self.staged.is_empty() && !self.dir.exists() {
            std::fs::create_dir_all(&self.dir)?;
            self.created_dir = true;
        }
        let path = self.dir.join(file_name_for(target));
        let mut output = crate::atomic_file::Output::open(&path, ".mcp-probe-lock-")?;
        output.write_all(text(&document).as_bytes())?;
        self.staged.push(output.stage()?);
        Ok(())
    }

    /// Puts every written file in place (`dir` exists afterwards, also with none).
    pub fn commit(mut self) -> Result<(), LockDirError> {
        std::fs::create_dir_all(&self.dir)?;
        self.created_dir = false;
        for file in std::mem::take(&mut self.staged) {
            file.commit()?;
        }
        Ok(())
    }
}

impl Drop for StagedLocks {
    /// Not committed (an interrupt, an error): the written files are removed, then the
    /// directory if this set created it.
    fn drop(&mut self) {
        self.staged.clear();
        if self.created_dir {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// The file of `target` in lock directory `dir`.
pub fn path_for(dir: &Path, target: &str) -> PathBuf {
    dir.join(file_name_for(target))
}

/// `<target>.lock.json`, the name percent-encoded; a name too long for a file name keeps a
/// prefix of that and gets a hash of the whole name: `<prefix>~<hash>.lock.json`.
pub fn file_name_for(target: &str) -> String {
    let encoded = utf8_percent_encode(target, KEPT).to_string();
    if encoded.len() + SUFFIX.len() <= NAME_MAX {
        return format!("{encoded}{SUFFIX}");
    }
    let digest = Sha256::digest(target.as_bytes());
    let hash = hex::encode(&digest[..16]);
    let mut cut = NAME_MAX - SUFFIX.len() - SHORTENED.len_utf8() - hash.len();
    // An escape is `%XX`: never keep part of one.
    let bytes = encoded.as_bytes();
    if bytes[cut - 1] == b'%' {
        cut -= 1;
    } else if bytes[cut - 2] == b'%' {
        cut -= 2;
    }
    format!("{}{SHORTENED}{hash}{SUFFIX}", &encoded[..cut])
}

/// What a lock directory's file name says of its target.
#[derive(Debug, PartialEq)]
pub enum LockName {
    /// The whole name.
    Target(String),
    /// A shortened name: the target is the one its document records.
    Shortened(String),
}

/// The target a lock directory's file is for; `None` when the name is not `<target>.lock.json`.
pub fn name_in(file_name: &str) -> Option<LockName> {
    let stem = file_name.strip_suffix(SUFFIX)?;
    if stem.contains(SHORTENED) {
        return Some(LockName::Shortened(file_name.to_owned()));
    }
    let name = percent_decode_str(stem).decode_utf8().ok()?;
    (!name.is_empty()).then(|| LockName::Target(name.into_owned()))
}

impl LockName {
    /// The target, given the file's `text`: a shortened name's document must record a target
    /// whose file name it is.
    pub fn target(self, text: &str) -> Result<String, String> {
        let file_name = match self {
            LockName::Target(target) => return Ok(target),
            LockName::Shortened(file_name) => file_name,
        };
        #[derive(Deserialize)]
        struct Recorded {
            target: Option<String>,
        }
        let recorded: Recorded = serde_json::from_str(text).map_err(|e| e.to_string())?;
        match recorded.target {
            Some(target) if file_name_for(&target) == file_name => Ok(target),
            Some(target) => Err(format!("its `target` {target:?} is not the file's name")),
            None => Err("a shortened lock file name needs the `target` it was written for".into()),
        }
    }
}

/// A lock file's hashes, lower-case hex: each name's, one per definition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Locked {
    pub pins: BTreeMap<String, Vec<String>>,
    /// Empty in lock files written before definitions were (renames then cannot be told).
    pub definitions: BTreeMap<String, Vec<String>>,
    /// [`orderless_hash`]es; empty in lock files written before them (a reordering then shows
    /// as a change).
    pub orderless: BTreeMap<String, Vec<String>>,
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
    /// Each definition's hash with the order of its items taken out (see `orderless_hash`).
    #[serde(default)]
    #[schemars(schema_with = "digests")]
    orderless: BTreeMap<String, PinHashes>,
    /// The catalog target a `scan --write-locks` file was written for.
    #[serde(default)]
    #[allow(dead_code)]
    target: Option<String>,
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
        orderless: hashes(file.orderless, "orderless")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_stay_inside_the_directory() {
        for name in [
            "fs",
            "a/b",
            "..",
            "ü ber",
            "x.lock.json",
            "100%",
            "a\0b",
            "~",
            "a~b",
        ] {
            let path = path_for(Path::new("/d"), name);
            assert_eq!(path.parent(), Some(Path::new("/d")), "{name}");
            let file = path.file_name().unwrap().to_str().unwrap();
            assert_eq!(name_in(file), Some(LockName::Target(name.into())), "{file}");
        }
        assert_eq!(path_for(Path::new("d"), "fs"), Path::new("d/fs.lock.json"));
        assert_eq!(
            path_for(Path::new("d"), "a/b"),
            Path::new("d/a%2Fb.lock.json")
        );
        assert_eq!(name_in("notes.txt"), None);
        assert_eq!(name_in(".lock.json"), None);
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

    #[test]
    fn long_names_get_a_short_unique_file_name_that_reads_back() {
        let long = [
            "x".repeat(300),
            "é".repeat(100),
            format!("{}a", "x".repeat(300)),
            format!("{}b", "x".repeat(300)),
            "/".repeat(200),
            format!("{}é", "y".repeat(210)),
            format!("{}é", "y".repeat(211)),
            "x".repeat(245),
        ];
        let mut seen = std::collections::HashSet::new();
        for name in &long {
            let file = file_name_for(name);
            assert!(file.len() <= 255, "{} bytes: {file}", file.len());
            assert!(!file.contains('/'), "{file}");
            assert!(seen.insert(file.clone()), "{file} twice");
            let text = format!("{{\"pins\": {{}}, \"target\": {}}}", json!(name));
            let read = name_in(&file).unwrap().target(&text);
            assert_eq!(read.as_deref(), Ok(name.as_str()), "{file}");
            // A prefix never holds half an escape: it decodes.
            let stem = file.strip_suffix(SUFFIX).unwrap();
            let prefix = stem.split(SHORTENED).next().unwrap();
            assert!(percent_decode_str(prefix).decode_utf8().is_ok(), "{file}");
        }
        // 245 bytes encoded still fit whole (today's names keep working).
        assert_eq!(
            file_name_for(&"x".repeat(245)),
            format!("{}.lock.json", "x".repeat(245))
        );
        let shortened = file_name_for(&"x".repeat(246));
        assert_eq!(shortened.len(), 255);
        assert!(matches!(name_in(&shortened), Some(LockName::Shortened(_))));
        // The document must name the target its file is for.
        for text in [
            r#"{"pins": {}}"#,
            r#"{"pins": {}, "target": "other"}"#,
            "[]",
        ] {
            assert!(name_in(&shortened).unwrap().target(text).is_err(), "{text}");
        }
    }

    #[test]
    fn lock_files_are_all_checked_before_any_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let tool = Tool::from_json(json!({"name": "t"})).unwrap();
        let tools = std::slice::from_ref(&tool);
        let err =
            write_dir(dir.path(), [("a", tools), ("Srv", tools), ("srv", tools)]).unwrap_err();
        assert!(err.to_string().contains("differ only in case"), "{err}");
        assert!(err.is_bad_input());
        std::fs::create_dir(dir.path().join("b.lock.json")).unwrap();
        let err = write_dir(dir.path(), [("a", tools), ("b", tools)]).unwrap_err();
        assert!(
            err.to_string()
                .contains("b.lock.json is not a regular file"),
            "{err}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["b.lock.json"]);
        let long = "é".repeat(100);
        write_dir(dir.path(), [("a", tools), (long.as_str(), tools)]).unwrap();
        let text = std::fs::read_to_string(path_for(dir.path(), &long)).unwrap();
        assert!(parse(&text).unwrap().pins.contains_key("t"));
    }

    #[test]
    fn staged_locks_are_written_as_they_come_and_put_in_place_together() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("locks");
        let tool = Tool::from_json(json!({"name": "t"})).unwrap();
        let tools = std::slice::from_ref(&tool);
        let entries = |dir: &Path| -> Vec<String> {
            let mut names: Vec<_> = std::fs::read_dir(dir)
                .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()))
                .into_iter()
                .flatten()
                .collect();
            names.sort();
            names
        };
        // Written beside their places, none in place yet; dropped (an interrupt), all gone,
        // the directory it created too.
        let mut locks = StagedLocks::new(&dir, ["a", "b"]).unwrap();
        locks.add("a", tools).unwrap();
        locks.add("b", tools).unwrap();
        let staged = entries(&dir);
        assert_eq!(staged.len(), 2);
        assert!(
            staged.iter().all(|n| n.starts_with(".mcp-probe-lock-")),
            "{staged:?}"
        );
        drop(locks);
        assert!(!dir.exists());
        let mut locks = StagedLocks::new(&dir, ["a", "b"]).unwrap();
        locks.add("a", tools).unwrap();
        locks.add("b", tools).unwrap();
        locks.commit().unwrap();
        assert_eq!(entries(&dir), ["a.lock.json", "b.lock.json"]);
    }
}
