//! The host's own check of every tool's inputSchema and outputSchema: each must be a valid
//! JSON Schema under the draft its `$schema` names (2020-12 when it names none).

use crate::model::{Finding, Member, Severity, Tool};
use serde_json::Value;
use std::collections::HashMap;

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

/// What is wrong with one schema: rule, severity, message.
type Problem = (String, Severity, String);

/// Keywords the meta-schema passes whatever they hold but a validator must resolve or
/// compile (a `$ref` to nowhere, a bad regex); a `\u` escape could spell any of them.
const NEEDS_A_VALIDATOR: [&str; 7] = [
    "$ref",
    "$dynamicRef",
    "$recursiveRef",
    "pattern",
    "$id",
    "$anchor",
    "\\u",
];

/// The problem with one schema `field` (`input` or `output`), if any.
fn check_schema(field: &str, text: &str) -> Option<Problem> {
    let finding = |rule: String, severity, message: String| (rule, severity, message);
    let schema: Value = serde_json::from_str(text).ok()?;
    let rule = format!("invalid-{field}-schema");
    let Value::Object(object) = &schema else {
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
    // to nowhere); building a validator catches those. It costs more than the rest of the
    // check, so it is built only where such a keyword occurs.
    if !NEEDS_A_VALIDATOR.iter().any(|k| text.contains(k)) {
        return None;
    }
    if let Err(e) = jsonschema::validator_for(&effective) {
        return Some(finding(
            rule,
            Severity::Error,
            format!("{field}Schema cannot be used: {e}"),
        ));
    }
    None
}

/// Checks every tool's schemas. Servers repeat schemas (every tool without arguments has the
/// same one), so each distinct text is checked once.
pub fn check_tools(tools: &[Tool]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut checked: HashMap<(&str, &str), Option<Problem>> = HashMap::new();
    for tool in tools {
        // Interrupted: the caller reports that, not these findings.
        if super::engine::interrupted() {
            break;
        }
        let schemas = [
            (Member::InputSchema, "input"),
            (Member::OutputSchema, "output"),
        ];
        for (member, field) in schemas {
            // A schema too deep to read is the validator's to report (it names the member).
            let Some(text) = tool.member(member).map(|raw| raw.get()) else {
                continue;
            };
            let problem = checked
                .entry((field, text))
                .or_insert_with(|| check_schema(field, text));
            if let Some((rule, severity, message)) = problem {
                findings.push(Finding {
                    tool: Some(tool.name.clone()),
                    rule: rule.clone(),
                    severity: *severity,
                    message: message.clone(),
                    source: SOURCE.to_string(),
                });
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
            json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}),
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
    fn a_keyword_spelled_with_escapes_is_still_resolved() {
        let text = r##"{"name":"t","inputSchema":{"type":"object","properties":{"a":{"\u0024ref":"#/$defs/missing"}}}}"##;
        let raw = serde_json::value::RawValue::from_string(text.into()).unwrap();
        let findings = check_tools(&[Tool::from_entry(&raw).unwrap()]);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0].message.contains("cannot be used"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn a_repeated_schema_is_reported_for_every_tool_that_has_it() {
        let bad = json!({"type": "objekt"});
        let tools: Vec<Tool> = ["a", "b", "c"]
            .into_iter()
            .map(|name| Tool {
                name: name.into(),
                ..tool(bad.clone())
            })
            .collect();
        let named: Vec<_> = check_tools(&tools).into_iter().map(|f| f.tool).collect();
        assert_eq!(
            named,
            [Some("a".into()), Some("b".into()), Some("c".into())]
        );
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
