//! The canonical JSON of a tool and its SHA-256: what lock files pin and the validator checks.
//! `mcp-probe lock` and the validator both call [`tool_hash`]; scan baselines tell renames by
//! [`definition_hash`].

use crate::{Tool, ToolTextError};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Canonical JSON text: object keys sorted by code point at every depth, no whitespace,
/// strings and numbers exactly as `serde_json` prints them. Sorting here (rather than relying
/// on `serde_json::Map`'s order) keeps the hash stable when a crate in the build turns on
/// serde_json's `preserve_order` feature.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::members::push_json_string(out, key);
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Lower-case hex SHA-256 of the canonical JSON of `value`.
pub fn value_hash(value: &Value) -> String {
    let digest = Sha256::digest(canonical_json(value).as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The tool's whole MCP object as a value (what is hashed): its members parsed from their
/// text. An error names a member too deeply nested to read.
pub fn tool_value(tool: &Tool) -> Result<Value, ToolTextError> {
    let mut object = Map::new();
    let strings = [
        ("name", Some(&tool.name)),
        ("title", tool.title.as_ref()),
        ("description", tool.description.as_ref()),
    ];
    for (key, value) in strings {
        if let Some(value) = value {
            object.insert(key.into(), Value::String(value.clone()));
        }
    }
    for (key, raw) in tool.json_members() {
        let value = serde_json::from_str(raw.get()).map_err(|e| ToolTextError::InvalidJson {
            tool: tool.name.clone(),
            member: member_name(key),
            reason: e.to_string(),
        })?;
        object.insert(key.into(), value);
    }
    Ok(Value::Object(object))
}

fn member_name(key: &str) -> &'static str {
    crate::tool::Member::ALL
        .into_iter()
        .find(|m| m.key() == key)
        .map_or("extra", |m| m.wit_name())
}

/// The pin of a tool: [`value_hash`] of its MCP object.
pub fn tool_hash(tool: &Tool) -> Result<String, ToolTextError> {
    tool_value(tool).map(|value| value_hash(&value))
}

/// [`tool_hash`] without the `name`: the same definition under another name has the same
/// definition hash (how a baseline tells a rename from a removal and an addition).
pub fn definition_hash(tool: &Tool) -> Result<String, ToolTextError> {
    let mut value = tool_value(tool)?;
    if let Value::Object(members) = &mut value {
        members.remove("name");
    }
    Ok(value_hash(&value))
}

/// Pins for a whole list: tool name → the [`tool_hash`] of every definition listed under it,
/// distinct, in listing order (a server may list a name twice; clients differ in which they
/// keep, so each is pinned).
pub fn pins(tools: &[Tool]) -> Result<BTreeMap<String, Vec<String>>, ToolTextError> {
    by_name(tools, tool_hash)
}

/// `hash` of each tool, grouped by name: each name's distinct hashes in listing order.
pub fn by_name(
    tools: &[Tool],
    hash: impl Fn(&Tool) -> Result<String, ToolTextError>,
) -> Result<BTreeMap<String, Vec<String>>, ToolTextError> {
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for tool in tools {
        let hash = hash(tool)?;
        let hashes = grouped.entry(tool.name.clone()).or_default();
        if !hashes.contains(&hash) {
            hashes.push(hash);
        }
    }
    Ok(grouped)
}

/// A name's hashes as lock files and policies write them: one hash, or a list of them when the
/// server listed the name more than once with different definitions. A name listed once is a
/// plain string, as lock files have always had it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum PinHashes {
    One(String),
    Many(Vec<String>),
}

impl PinHashes {
    /// A string for one hash, a list for several.
    pub fn of(mut hashes: Vec<String>) -> PinHashes {
        match hashes.len() {
            1 => PinHashes::One(hashes.remove(0)),
            _ => PinHashes::Many(hashes),
        }
    }

    /// Each hash in the form [`tool_hash`] gives ([`parse_digest`]); the error says which
    /// is not a digest, or that the list is empty.
    pub fn digests(&self) -> Result<Vec<String>, String> {
        let written: &[String] = match self {
            PinHashes::One(hash) => std::slice::from_ref(hash),
            PinHashes::Many(hashes) => hashes,
        };
        if written.is_empty() {
            return Err("an empty list (a name has one hash or a list of them)".into());
        }
        written
            .iter()
            .map(|hash| {
                parse_digest(hash).ok_or_else(|| format!("{hash:?} is not a SHA-256 hex digest"))
            })
            .collect()
    }
}

/// The JSON Schema of [`PinHashes`]: a digest, or a non-empty list of digests.
pub fn pin_hashes_schema() -> Value {
    let digest = serde_json::json!({"type": "string", "pattern": DIGEST_PATTERN});
    serde_json::json!({"anyOf": [digest, {"type": "array", "items": digest, "minItems": 1}]})
}

/// What [`parse_digest`] accepts, as a regular expression for JSON Schemas.
pub const DIGEST_PATTERN: &str = "^(sha256:)?[0-9A-Fa-f]{64}$";

/// A hash as lock files and policies may write it (`sha256:`-prefixed, upper-case hex) in the
/// form [`tool_hash`] gives; `None` unless it is 64 hex digits.
pub fn parse_digest(hash: &str) -> Option<String> {
    let hex = hash.strip_prefix("sha256:").unwrap_or(hash);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_is_compact() {
        let value = json!({"b": [ {"z": 1, "a": 2.5} ], "a": "x\u{1}\"", "c": null});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":"x\u0001\"","b":[{"a":2.5,"z":1}],"c":null}"#
        );
    }

    #[test]
    fn hash_is_sha256_of_canonical_text_whatever_the_key_order() {
        // sha256("{}") is a well-known constant.
        assert_eq!(
            value_hash(&json!({})),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let a: Tool =
            serde_json::from_str(r#"{"name":"t","inputSchema":{"type":"object","properties":{}}}"#)
                .unwrap();
        let b: Tool =
            serde_json::from_str(r#"{"inputSchema":{"properties":{},"type":"object"},"name":"t"}"#)
                .unwrap();
        assert_eq!(tool_hash(&a).unwrap(), tool_hash(&b).unwrap());
        assert_eq!(tool_hash(&a).unwrap(), value_hash(&a.to_json()));
        let changed = Tool::from_json(json!({"name": "t", "inputSchema": {"type": "object"}}));
        assert_ne!(
            tool_hash(&a).unwrap(),
            tool_hash(&changed.unwrap()).unwrap()
        );
    }

    /// Lock files written before the types crate must still validate: these hashes are what
    /// plugins/core's hash of its `serde_json::Value` tool gave for the same tools.
    #[test]
    fn hashes_are_those_of_earlier_lock_files() {
        let tools = [
            (r#"{"name":"echo","description":"Echoes"}"#, EARLIER_ECHO),
            (
                r#"{"name":"w","description":"caf\u00e9 \"q\"","inputSchema":{"type":"object","properties":{"n":{"default":1.0,"maximum":1e3,"x":-0.0,"big":18446744073709551616}}},"_meta":{"a":{"b":[1,{"c":null}]}},"icons":[{"src":"i.png","sizes":["16x16"]}],"x-vendor":7}"#,
                EARLIER_RICH,
            ),
        ];
        for (text, earlier) in tools {
            let tool: Tool = serde_json::from_str(text).unwrap();
            assert_eq!(tool_hash(&tool).unwrap(), earlier, "{text}");
        }
    }
    const EARLIER_ECHO: &str = "9941e7929ca0cd24b7bc163f349a3acafba972a821c013afe043c681b6e0021e";
    const EARLIER_RICH: &str = "b56ba63929e9a3cd0a46801e5e0a2f281b7f35314e61448caaae6996f16715d2";

    #[test]
    fn definition_hash_ignores_only_the_name() {
        let a = Tool::from_json(json!({"name": "a", "description": "d"})).unwrap();
        let b = Tool::from_json(json!({"description": "d", "name": "b"})).unwrap();
        assert_eq!(definition_hash(&a).unwrap(), definition_hash(&b).unwrap());
        assert_ne!(tool_hash(&a).unwrap(), tool_hash(&b).unwrap());
        assert_eq!(
            definition_hash(&a).unwrap(),
            value_hash(&json!({"description": "d"}))
        );
    }

    #[test]
    fn pins_and_digests() {
        let tool = Tool::from_json(json!({"name": "t", "x": 1})).unwrap();
        let pins = pins(std::slice::from_ref(&tool)).unwrap();
        assert_eq!(pins["t"], [tool_hash(&tool).unwrap()]);
        let hex = "a".repeat(64);
        assert_eq!(
            parse_digest(&format!("sha256:{}", hex.to_uppercase())),
            Some(hex.clone())
        );
        assert_eq!(parse_digest(&"a".repeat(63)), None);
        assert_eq!(parse_digest(&format!("sha512:{hex}")), None);
    }

    #[test]
    fn every_definition_of_a_name_is_pinned_once_in_listing_order() {
        let tool = |v: Value| Tool::from_json(v).unwrap();
        let (evil, one) = (
            tool(json!({"name": "same", "description": "EVIL"})),
            tool(json!({"name": "same", "description": "one"})),
        );
        let other = tool(json!({"name": "other"}));
        let list = [evil.clone(), other.clone(), one.clone(), evil.clone()];
        let pins = pins(&list).unwrap();
        let (e, o) = (tool_hash(&evil).unwrap(), tool_hash(&one).unwrap());
        assert_eq!(pins["same"], [e.clone(), o.clone()]);
        assert_eq!(pins["other"], [tool_hash(&other).unwrap()]);
        assert_eq!(PinHashes::of(vec![o.clone()]), PinHashes::One(o.clone()));
        let many = PinHashes::of(vec![e.clone(), o.clone()]);
        assert_eq!(serde_json::to_value(&many).unwrap(), json!([e, o]));
        let read: PinHashes =
            serde_json::from_value(json!(format!("sha256:{}", o.to_uppercase()))).unwrap();
        assert_eq!(read.digests().unwrap(), [o]);
        assert!(PinHashes::Many(vec![])
            .digests()
            .unwrap_err()
            .contains("empty"));
        let bad = PinHashes::Many(vec![e, "x".into()]).digests().unwrap_err();
        assert!(bad.contains("\"x\""), "{bad}");
        assert!(serde_json::from_value::<PinHashes>(json!(3)).is_err());
    }
}
