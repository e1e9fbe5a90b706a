//! The host's own check of every tool's inputSchema and outputSchema: each must be a valid
//! JSON Schema under the draft its `$schema` names (2020-12 when it names none).

use crate::model::{Finding, Member, Severity, Tool};
use serde_json::Value;

/// The `source` of the findings this module reports.
pub const SOURCE: &str = "host";

/// Drafts the `jsonschema` crate ships meta-schemas for.
const KNOWN_DRAFTS: [&str; 5] = [
    "json-schema.org/draft-04/schema",
    "json-schema.org/draft-06/schema",
    "json-schema.org/draft-07/schema",
    "json-schema.org/draft/2019-09/schema",
    "json-schema.org/draft/2020-12/schema",
];

fn known_draft(uri: &str) -> bool {
    let bare = uri
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('#');
    KNOWN_DRAFTS.contains(&bare)
}

/// Findings for one schema `field` (`input` or `output`) of `tool`.
fn check_schema(tool: &str, field: &str, schema: &Value) -> Option<Finding> {
    let finding = |rule: String, severity, message: String| Finding {
        tool: Some(tool.to_string()),
        rule,
        severity,
        message,
        source: SOURCE.to_string(),
    };
    let rule = format!("invalid-{field}-schema");
    let Value::Object(object) = schema else {
        return Some(finding(
            rule,
            Severity::Error,
            format!("{field}Schema is not a JSON object"),
        ));
    };
    // With a `$schema` we do not ship, the meta-schema cannot be checked offline.
    let mut effective = schema.clone();
    match object.get("$schema") {
        None => {
            effective["$schema"] = Value::from("https://json-schema.org/draft/2020-12/schema");
        }
        Some(Value::String(uri)) if known_draft(uri) => {}
        Some(other) => {
            return Some(finding(
                format!("unknown-{field}-schema-draft"),
                Severity::Warning,
                format!("{field}Schema names a $schema this host cannot check: {other}"),
            ))
        }
    }
    if let Err(e) = jsonschema::meta::validate(&effective) {
        return Some(finding(
            rule,
            Severity::Error,
            format!(
                "{field}Schema is not a valid JSON Schema: {e} (at {})",
                e.instance_path()
            ),
        ));
    }
    // The meta-schema passes some schemas that still cannot be used (a bad regex, a $ref
    // to nowhere); building a validator catches those.
    if let Err(e) = jsonschema::validator_for(&effective) {
        return Some(finding(
            rule,
            Severity::Error,
            format!("{field}Schema cannot be used: {e}"),
        ));
    }
    None
}

/// Checks every tool's schemas.
pub fn check_tools(tools: &[Tool]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for tool in tools {
        // Interrupted: the caller reports that, not these findings.
        if super::engine::interrupted() {
            break;
        }
        // A schema too deep to read is the validator's to report (it names the member).
        let schemas = [
            (Member::InputSchema, "input"),
            (Member::OutputSchema, "output"),
        ];
        for (member, field) in schemas {
            if let Ok(Some(schema)) = tool.parse_member(member) {
                findings.extend(check_schema(&tool.name, field, &schema));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(input: Value) -> Tool {
        Tool {
            name: "t".into(),
            input_schema: Some(mcp_probe_types::json_text(&input)),
            ..Tool::default()
        }
    }

    #[test]
    fn valid_schemas_pass() {
        let t = tool(json!({"type": "object", "properties": {"a": {"type": "string"}}}));
        assert!(check_tools(&[t]).is_empty());
        let t =
            tool(json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}));
        assert!(check_tools(&[t]).is_empty());
    }

    #[test]
    fn invalid_schemas_are_errors() {
        for bad in [
            json!({"type": "objekt"}),
            json!({"type": "object", "properties": {"a": {"minLength": -1}}}),
            json!({"type": "string", "pattern": "(unclosed"}),
            json!("not an object"),
        ] {
            let findings = check_tools(&[tool(bad.clone())]);
            assert_eq!(findings.len(), 1, "{bad}");
            assert_eq!(findings[0].rule, "invalid-input-schema");
            assert_eq!(findings[0].severity, Severity::Error);
            assert_eq!(findings[0].source, "host");
        }
    }

    #[test]
    fn the_draft_is_the_one_named() {
        // `exclusiveMinimum: true` is draft-04 syntax; under 2020-12 it must be a number.
        let draft4 = json!({"$schema": "http://json-schema.org/draft-04/schema#",
            "type": "number", "minimum": 0, "exclusiveMinimum": true});
        assert!(check_tools(&[tool(draft4)]).is_empty());
        let default = json!({"type": "number", "minimum": 0, "exclusiveMinimum": true});
        assert_eq!(check_tools(&[tool(default)]).len(), 1);
        let unknown = json!({"$schema": "https://example.com/my-draft", "type": "object"});
        assert_eq!(check_tools(&[tool(unknown)])[0].severity, Severity::Warning);
    }
}
