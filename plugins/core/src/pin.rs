//! Pinned hashes: the SHA-256 of a tool's canonical JSON. The validator compares them with a
//! lock file's pins; the host's `lock` command writes them with these same functions, and its
//! scan baselines tell renames by [`definition_hash`].

use crate::Tool;
use serde_json::Value;
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
                out.push_str(&Value::String(key.clone()).to_string());
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

/// Lower-case hex SHA-256 of the canonical JSON of `tool_json`, the whole MCP Tool object.
pub fn tool_hash(tool_json: &Value) -> String {
    let digest = Sha256::digest(canonical_json(tool_json).as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// [`tool_hash`] of the tool without its `name`: the same definition under another name has
/// the same definition hash (how a baseline tells a rename from a removal and an addition).
pub fn definition_hash(tool_json: &Value) -> String {
    match tool_json {
        Value::Object(members) if members.contains_key("name") => {
            let mut unnamed = members.clone();
            unnamed.remove("name");
            tool_hash(&Value::Object(unnamed))
        }
        other => tool_hash(other),
    }
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

/// [`tool_hash`] of a [`Tool`] (its MCP JSON form).
pub fn hash_tool(tool: &Tool) -> String {
    tool_hash(&tool.to_json())
}

/// Pins for a whole list: tool name → hash. Later duplicates of a name win.
pub fn pins(tools: &[Tool]) -> BTreeMap<String, String> {
    tools
        .iter()
        .map(|tool| (tool.name.clone(), hash_tool(tool)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digest_pattern_accepts_what_parse_digest_does() {
        let pattern = regex_lite::Regex::new(DIGEST_PATTERN).unwrap();
        let hex = "a".repeat(64);
        for text in [
            hex.clone(),
            format!("sha256:{}", hex.to_uppercase()),
            "a".repeat(63),
            format!("sha256:{hex}0"),
            format!("sha512:{hex}"),
            "g".repeat(64),
        ] {
            assert_eq!(
                pattern.is_match(&text),
                parse_digest(&text).is_some(),
                "{text}"
            );
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_is_compact() {
        let value = json!({"b": [ {"z": 1, "a": 2.5} ], "a": "x\u{1}\"", "c": null});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":"x\u0001\"","b":[{"a":2.5,"z":1}],"c":null}"#
        );
    }

    #[test]
    fn tool_hash_is_sha256_of_canonical_text() {
        // sha256("{}") is a well-known constant.
        assert_eq!(
            tool_hash(&json!({})),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let a = json!({"name": "t", "inputSchema": {"type": "object", "properties": {}}});
        let b = json!({"inputSchema": {"properties": {}, "type": "object"}, "name": "t"});
        assert_eq!(tool_hash(&a), tool_hash(&b));
        let changed = json!({"name": "t", "inputSchema": {"type": "object"}});
        assert_ne!(tool_hash(&a), tool_hash(&changed));
    }

    #[test]
    fn definition_hash_ignores_only_the_name() {
        let a = json!({"name": "a", "description": "d", "inputSchema": {"type": "object"}});
        let b = json!({"inputSchema": {"type": "object"}, "description": "d", "name": "b"});
        assert_eq!(definition_hash(&a), definition_hash(&b));
        assert_ne!(tool_hash(&a), tool_hash(&b));
        let unnamed = json!({"description": "d", "inputSchema": {"type": "object"}});
        assert_eq!(definition_hash(&a), tool_hash(&unnamed));
        let changed = json!({"name": "a", "description": "e", "inputSchema": {"type": "object"}});
        assert_ne!(definition_hash(&a), definition_hash(&changed));
    }

    #[test]
    fn hash_tool_matches_hash_of_its_json() {
        let tool = Tool::from_json(json!({"name": "t", "description": "d", "x": 1})).unwrap();
        assert_eq!(hash_tool(&tool), tool_hash(&tool.to_json()));
        assert_eq!(
            pins(std::slice::from_ref(&tool)).get("t"),
            Some(&hash_tool(&tool))
        );
    }
}
