//! The operator's files a pipeline run reads: a saved tool list, a policy, a lock file's pins.
//! Every error here is bad input (exit 2), naming the file.

use super::pipeline::{DiscoveryContext, Pipeline};
use crate::model::Tool;
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

/// A JSON file, or TOML when its name ends in `.toml`.
fn read_document(path: &Path, what: &'static str) -> Result<Value, InputError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Unreadable {
        what,
        path: shown.clone(),
        source,
    })?;
    let value = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str::<Value>(&text).map_err(|e| e.message().replace('\n', " "))
    } else {
        serde_json::from_str::<Value>(&text).map_err(|e| e.to_string())
    };
    value.map_err(|message| InputError::Invalid {
        what,
        path: shown,
        message,
    })
}

/// The tools in a tools/list result, a bare array or a discover report, with the context
/// the report records (or `file`).
pub fn read_tools(path: &Path) -> Result<(Vec<Tool>, DiscoveryContext), InputError> {
    let doc = read_document(path, "tool list")?;
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
    let entries = match doc {
        Value::Array(entries) => entries,
        Value::Object(mut obj) => {
            if let Some(Value::String(method)) = obj.get("discovery_method") {
                ctx.discovery_method = method.clone();
            }
            ctx.server_info = obj.remove("server_info").filter(|v| !v.is_null());
            match obj.remove("tools") {
                Some(Value::Array(entries)) => entries,
                _ => return Err(expected()),
            }
        }
        _ => return Err(expected()),
    };
    let mut tools = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let tool = Tool::from_json(entry)
            .ok_or_else(|| shape(format!("tool #{index} is not a JSON object")))?;
        tools.push(tool);
    }
    Ok((tools, ctx))
}

/// The pins of a lock file: `{"pins": {name: sha256}}` (or the bare map).
pub fn read_pins(path: &Path) -> Result<Map<String, Value>, InputError> {
    let doc = read_document(path, "lock file")?;
    let pins = match doc {
        Value::Object(mut obj) if obj.contains_key("pins") => obj.remove("pins"),
        other => Some(other),
    };
    match pins {
        Some(Value::Object(pins)) if pins.values().all(Value::is_string) => Ok(pins),
        _ => Err(InputError::Shape {
            path: format!("lock file {}", path.display()),
            expected: "expected {\"pins\": {\"tool\": \"sha256\"}}".into(),
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
