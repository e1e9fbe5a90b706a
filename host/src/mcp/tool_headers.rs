//! `x-mcp-header`: tool parameters a modern Streamable HTTP client mirrors into `Mcp-Param-*`
//! headers. A client over HTTP must leave out of `tools/list` every tool whose annotations
//! break the rules (2026-07-28 basic/transports/streamable-http.mdx, "Custom Headers from
//! Tool Parameters"), so that one malformed tool does not spoil the rest.

use serde_json::Value;
use std::collections::HashSet;

const KEY: &str = "x-mcp-header";

/// Why `input_schema`'s `x-mcp-header` annotations are invalid, or `None` when they are fine
/// (or absent).
pub fn problem(input_schema: &Value) -> Option<String> {
    let mut seen = HashSet::new();
    walk(input_schema, "", false, &mut seen).err()
}

/// `path` names the node (`/properties/a`); `reachable` says it is a parameter reached from the
/// root through `properties` keys alone.
fn walk(
    node: &Value,
    path: &str,
    reachable: bool,
    seen: &mut HashSet<String>,
) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            if let Some(name) = map.get(KEY) {
                check(name, map.get("type"), path, reachable, seen)?;
            }
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("properties", Value::Object(props)) if reachable || path.is_empty() => {
                        for (prop, schema) in props {
                            walk(schema, &format!("{path}/properties/{prop}"), true, seen)?;
                        }
                    }
                    _ => walk(child, &format!("{path}/{key}"), false, seen)?,
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| walk(item, &format!("{path}/{i}"), false, seen)),
        _ => Ok(()),
    }
}

fn check(
    name: &Value,
    kind: Option<&Value>,
    path: &str,
    reachable: bool,
    seen: &mut HashSet<String>,
) -> Result<(), String> {
    let at = if path.is_empty() { "/" } else { path };
    if !reachable {
        return Err(format!(
            "{KEY} at {at} is not reached from the schema root through `properties` alone"
        ));
    }
    let Some(name) = name.as_str() else {
        return Err(format!("{KEY} at {at} is not a string"));
    };
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(format!(
            "{KEY} {name:?} at {at} is not an HTTP header-name token"
        ));
    }
    if !seen.insert(name.to_ascii_lowercase()) {
        return Err(format!(
            "{KEY} {name:?} at {at} repeats another (case-insensitively)"
        ));
    }
    match kind.and_then(Value::as_str) {
        Some("string" | "integer" | "boolean") => Ok(()),
        other => Err(format!(
            "{KEY} {name:?} at {at} is on a parameter of type {}, not string, integer or boolean",
            other.map_or_else(|| "(none)".to_owned(), |t| format!("`{t}`"))
        )),
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_primitive_parameters_reached_through_properties() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "opts": {"type": "object", "properties": {
                "dry": {"type": "boolean", "x-mcp-header": "Dry-Run"}}},
            "q": {"type": "string"}}});
        assert_eq!(problem(&schema), None);
        assert_eq!(problem(&json!({"type": "object"})), None);
    }

    #[test]
    fn rejects_each_broken_rule() {
        let one = |prop: Value| json!({"type": "object", "properties": {"p": prop}});
        let cases = [
            (one(json!({"type": "string", "x-mcp-header": ""})), "token"),
            (
                one(json!({"type": "string", "x-mcp-header": "A B"})),
                "token",
            ),
            (
                one(json!({"type": "string", "x-mcp-header": "A\r\nX: y"})),
                "token",
            ),
            (
                one(json!({"type": "number", "x-mcp-header": "N"})),
                "`number`",
            ),
            (
                one(json!({"type": "array", "x-mcp-header": "N"})),
                "`array`",
            ),
            (one(json!({"x-mcp-header": "N"})), "(none)"),
            (
                one(json!({"type": "string", "x-mcp-header": 7})),
                "not a string",
            ),
            (
                one(json!({"type": "array", "items": {"type": "string", "x-mcp-header": "I"}})),
                "not reached",
            ),
            (
                json!({"anyOf": [{"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}]}),
                "not reached",
            ),
            (
                json!({"properties": {
                    "a": {"type": "string", "x-mcp-header": "Dup"},
                    "b": {"type": "string", "x-mcp-header": "dup"}}}),
                "repeats",
            ),
        ];
        for (schema, expected) in cases {
            let got = problem(&schema).unwrap_or_default();
            assert!(
                got.contains(expected),
                "{schema}: {got:?} lacks {expected:?}"
            );
        }
    }
}
