//! The operator's files a pipeline run reads: a saved tool list, a policy, a lock file's pins.
//! Every error here is bad input (exit 2), naming the file.

use super::pipeline::{DiscoveryContext, Pipeline};
use crate::input_file::Kind;
use crate::model::Tool;
use mcp_probe_types::MAX_JSON_DEPTH;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {what} {path}: {source}")]
    Unreadable {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{what} {path} is not valid: {message}")]
    Invalid {
        what: &'static str,
        path: String,
        message: String,
    },
    /// Valid JSON of the wrong shape.
    #[error("{path}: {expected}")]
    Shape { path: String, expected: String },
    /// The policy (or pins) the built-in validator would refuse.
    #[error("{whose}: {message}")]
    Policy { whose: String, message: String },
}

/// A file's text, named in the error by `what`.
fn read_text(path: &Path, what: &'static str) -> Result<String, InputError> {
    let kind = match what {
        "policy" => Kind::Config,
        _ => Kind::Document,
    };
    crate::input_file::read_to_string(path, kind).map_err(|source| InputError::Unreadable {
        what,
        path: path.display().to_string(),
        source,
    })
}

fn invalid(path: &Path, what: &'static str, message: String) -> InputError {
    InputError::Invalid {
        what,
        path: path.display().to_string(),
        message,
    }
}

/// A JSON file, or TOML when its name ends in `.toml`.
fn read_document(path: &Path, what: &'static str) -> Result<Value, InputError> {
    parse_document(path, what, &read_text(path, what)?)
}

/// The `text` of the file at `path`, read as [`read_document`] reads it.
fn parse_document(path: &Path, what: &'static str, text: &str) -> Result<Value, InputError> {
    let value = if is_toml(path) {
        toml::from_str::<Value>(text).map_err(|e| e.message().replace('\n', " "))
    } else {
        serde_json::from_str::<Value>(text).map_err(|e| e.to_string())
    };
    value.map_err(|message| invalid(path, what, message))
}

fn is_toml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "toml")
}

/// A discover report or a tools/list result: only what is read of it; the tools stay text.
#[derive(serde::Deserialize)]
struct ToolsObject<'a> {
    #[serde(borrow, default)]
    tools: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    discovery_method: Option<Value>,
    #[serde(default)]
    server_info: Option<Value>,
}

/// A saved tool list as read once: its tools, the context it records, and the file's text
/// as it was read (reports point at lines of it; the file may have changed since).
#[derive(Debug)]
pub struct ToolsFile {
    pub tools: Vec<Tool>,
    pub context: DiscoveryContext,
    pub text: String,
}

/// The tools in a tools/list result, a bare array or a discover report, with the context
/// the report records (or `file`). The tools are read as text (no whole-document value is
/// built), each member kept as the file has it.
pub fn read_tools(path: &Path) -> Result<ToolsFile, InputError> {
    let text = read_text(path, TOOL_LIST)?;
    let (tools, context) = match is_toml(path) {
        true => tools_in(path, &parse_document(path, TOOL_LIST, &text)?.to_string())?,
        false => tools_in(path, &text)?,
    };
    Ok(ToolsFile {
        tools,
        context,
        text,
    })
}

const TOOL_LIST: &str = "tool list";

/// [`read_tools`] on the file's text as JSON.
fn tools_in(path: &Path, json: &str) -> Result<(Vec<Tool>, DiscoveryContext), InputError> {
    let shape = |expected: String| InputError::Shape {
        path: path.display().to_string(),
        expected,
    };
    let mut ctx = DiscoveryContext {
        source: path.display().to_string(),
        discovery_method: "file".into(),
        server_info: None,
    };
    let expected =
        || shape("expected {\"tools\":[...]}, a JSON array of tools, or a discover report".into());
    let doc: &RawValue =
        serde_json::from_str(json).map_err(|e| invalid(path, TOOL_LIST, e.to_string()))?;
    // Text kept raw must still read into values where a check needs one (as a server's
    // message must: the transport holds it to the same bound).
    if mcp_probe_types::is_too_deep(doc.get()) {
        let message = format!("nested {MAX_JSON_DEPTH} levels deep or more, which is not read");
        return Err(invalid(path, TOOL_LIST, message));
    }
    // Lone surrogate escapes read as a server's messages do (transport::Inbound::message).
    let repaired = mcp_probe_types::replace_lone_surrogates(doc.get());
    let doc = repaired.as_deref().unwrap_or(doc.get());
    let entries: Vec<&RawValue> = match doc.as_bytes().first() {
        Some(b'[') => serde_json::from_str(doc).map_err(|_| expected())?,
        Some(b'{') => {
            let object: ToolsObject = serde_json::from_str(doc).map_err(|_| expected())?;
            if let Some(Value::String(method)) = object.discovery_method {
                ctx.discovery_method = method;
            }
            ctx.server_info = object.server_info.filter(|v| !v.is_null());
            object.tools.ok_or_else(expected)?
        }
        _ => return Err(expected()),
    };
    let mut tools = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let tool = Tool::from_entry(entry)
            .ok_or_else(|| shape(format!("tool #{index} is not a JSON object")))?;
        tools.push(tool);
    }
    Ok((tools, ctx))
}

/// The pins of a lock file: `{"pins": {name: sha256}}` (or the bare map); a name the server
/// listed more than once has a list of hashes.
pub fn read_pins(path: &Path) -> Result<Map<String, Value>, InputError> {
    let doc = read_document(path, "lock file")?;
    let pins = match doc {
        Value::Object(mut obj) if obj.contains_key("pins") => obj.remove("pins"),
        other => Some(other),
    };
    let is_pin = |value: &Value| match value {
        Value::String(_) => true,
        Value::Array(hashes) => hashes.iter().all(Value::is_string),
        _ => false,
    };
    match pins {
        Some(Value::Object(pins)) if pins.values().all(is_pin) => Ok(pins),
        _ => Err(InputError::Shape {
            path: format!("lock file {}", path.display()),
            expected: "expected {\"pins\": {\"tool\": \"sha256\" or [\"sha256\", ...]}}".into(),
        }),
    }
}

/// Hands `pipeline`'s validators the policy file's contents with the lock file's pins under
/// `pins`, after checking them as the built-in validator will read them.
pub fn with_policy(
    pipeline: Pipeline,
    policy: Option<&Path>,
    lock: Option<&Path>,
) -> Result<Pipeline, InputError> {
    let mut merged = match policy {
        Some(path) => match read_document(path, "policy")? {
            Value::Object(map) => map,
            _ => {
                return Err(InputError::Shape {
                    path: format!("policy {}", path.display()),
                    expected: "expected a JSON object".into(),
                })
            }
        },
        None => Map::new(),
    };
    if let Some(lock) = lock {
        merged.insert("pins".into(), Value::Object(read_pins(lock)?));
    }
    let pipeline = match merged.is_empty() {
        true => pipeline,
        false => pipeline.with_policy(Value::Object(merged)),
    };
    pipeline.check_builtin_policies().map_err(|message| {
        let whose = match (policy, lock) {
            (Some(path), _) => format!("policy {}", path.display()),
            (None, Some(lock)) => format!("lock file {}", lock.display()),
            (None, None) => "the pipeline's validator config".into(),
        };
        InputError::Policy { whose, message }
    })?;
    Ok(pipeline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn tools_keep_their_members_as_the_file_has_them() {
        let report = r#"{"discovery_method":"local_mcp_stdio","server_info":{"name":"s"},
            "tools":[{"name":"t","inputSchema":{"type":"object","default":1.0,"max":1e3},"x":"caf\u00e9"}]}"#;
        let read = read_tools(file(report).path()).unwrap();
        assert_eq!(read.text, report);
        let (tools, ctx) = (read.tools, read.context);
        assert_eq!(ctx.discovery_method, "local_mcp_stdio");
        assert_eq!(ctx.server_info, Some(serde_json::json!({"name": "s"})));
        assert_eq!(
            tools[0].to_json_text(),
            r#"{"name":"t","inputSchema":{"type":"object","default":1.0,"max":1e3},"x":"caf\u00e9"}"#
        );
        let bare = read_tools(file(r#"[{"name":"a"},{"name":"b"}]"#).path()).unwrap();
        assert_eq!(bare.tools.len(), 2);
    }

    #[test]
    fn wrong_shapes_and_deep_text_are_bad_input() {
        for text in [r#"{"tools":5}"#, r#"{"tool":[]}"#, "7", r#"[1]"#] {
            assert!(
                matches!(read_tools(file(text).path()), Err(InputError::Shape { .. })),
                "{text}"
            );
        }
        let deep = format!(
            r#"[{{"name":"t","_meta":{}{}}}]"#,
            "[".repeat(130),
            "]".repeat(130)
        );
        let err = read_tools(file(&deep).path()).unwrap_err().to_string();
        assert!(err.contains("nested 128 levels deep or more"), "{err}");
    }
}
