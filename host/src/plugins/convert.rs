//! Between the host's model types and the WIT types, where open-ended objects are JSON text.
//! Text coming back from a plugin is untrusted: invalid JSON is a `Malformed` error.

use super::bindings as wit;
use crate::model::{Finding, Severity, Tool};
use serde::de::IgnoredAny;
use serde_json::{Map, Value};

fn to_text(value: &Option<Value>) -> Option<String> {
    value.as_ref().map(Value::to_string)
}

/// A model tool as the WIT record.
pub fn tool_to_wit(tool: &Tool) -> wit::Tool {
    wit::Tool {
        name: tool.name.clone(),
        title: tool.title.clone(),
        description: tool.description.clone(),
        input_schema: to_text(&tool.input_schema),
        output_schema: to_text(&tool.output_schema),
        annotations: to_text(&tool.annotations),
        meta: to_text(&tool.meta),
        icons: to_text(&tool.icons),
        extra: (!tool.extra.is_empty()).then(|| Value::Object(tool.extra.clone()).to_string()),
    }
}

fn parse_field(tool: &str, field: &str, text: Option<String>) -> Result<Option<Value>, String> {
    match text {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("tool {tool:?}: field {field} is not valid JSON text ({e})")),
    }
}

/// The WIT record as a model tool; `Err` describes the first malformed field.
pub fn tool_from_wit(tool: wit::Tool) -> Result<Tool, String> {
    let name = tool.name;
    let extra = match parse_field(&name, "extra", tool.extra)? {
        None => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(format!("tool {name:?}: field extra is not a JSON object")),
    };
    Ok(Tool {
        title: tool.title,
        description: tool.description,
        input_schema: parse_field(&name, "input-schema", tool.input_schema)?,
        output_schema: parse_field(&name, "output-schema", tool.output_schema)?,
        annotations: parse_field(&name, "annotations", tool.annotations)?,
        meta: parse_field(&name, "meta", tool.meta)?,
        icons: parse_field(&name, "icons", tool.icons)?,
        extra,
        name,
    })
}

pub fn tools_from_wit(tools: Vec<wit::Tool>) -> Result<Vec<Tool>, String> {
    tools.into_iter().map(tool_from_wit).collect()
}

/// Checks a plugin's WIT record as [`tool_from_wit`] would (same errors) without building
/// values: lets the pipeline keep tools in WIT form between stages and convert once at the end.
pub fn check_wit_tool(tool: &wit::Tool) -> Result<(), String> {
    let name = &tool.name;
    let check = |field: &str, text: &Option<String>| match text {
        None => Ok(()),
        Some(text) => serde_json::from_str::<IgnoredAny>(text)
            .map(|_| ())
            .map_err(|e| format!("tool {name:?}: field {field} is not valid JSON text ({e})")),
    };
    check("extra", &tool.extra)?;
    if let Some(extra) = &tool.extra {
        if !extra.trim_start().starts_with('{') {
            return Err(format!("tool {name:?}: field extra is not a JSON object"));
        }
    }
    check("input-schema", &tool.input_schema)?;
    check("output-schema", &tool.output_schema)?;
    check("annotations", &tool.annotations)?;
    check("meta", &tool.meta)?;
    check("icons", &tool.icons)
}

/// A plugin's finding, attributed to it.
pub fn finding_from_wit(finding: wit::Finding, source: &str) -> Finding {
    Finding {
        tool: finding.tool,
        rule: finding.rule,
        severity: match finding.severity {
            wit::Severity::Info => Severity::Info,
            wit::Severity::Warning => Severity::Warning,
            wit::Severity::Error => Severity::Error,
        },
        message: finding.message,
        source: source.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_every_field() {
        let raw = json!({
            "name": "echo", "title": "Echo", "description": "d",
            "inputSchema": {"type": "object"}, "outputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": true}, "_meta": {"k": 1},
            "icons": [{"src": "x"}], "x-vendor": 7
        });
        let tool = Tool::from_json(raw.clone()).unwrap();
        let back = tool_from_wit(tool_to_wit(&tool)).unwrap();
        assert_eq!(back.to_json(), raw);
    }

    #[test]
    fn invalid_json_text_is_reported_with_tool_and_field() {
        let mut wit_tool = tool_to_wit(&Tool {
            name: "t".into(),
            ..Tool::default()
        });
        wit_tool.annotations = Some("{not json".into());
        let err = tool_from_wit(wit_tool).unwrap_err();
        assert!(
            err.contains("\"t\"") && err.contains("annotations"),
            "{err}"
        );
    }

    #[test]
    fn check_agrees_with_full_conversion() {
        let good = tool_to_wit(&Tool::from_json(json!({"name": "t", "x": 1})).unwrap());
        assert_eq!(check_wit_tool(&good), Ok(()));
        let broken = [
            ("annotations", "{not json"),
            ("extra", "[1]"),
            ("meta", "{} trailing"),
        ];
        for (field, text) in broken {
            let mut tool = good.clone();
            match field {
                "annotations" => tool.annotations = Some(text.into()),
                "extra" => tool.extra = Some(text.into()),
                _ => tool.meta = Some(text.into()),
            }
            assert_eq!(
                check_wit_tool(&tool),
                tool_from_wit(tool.clone()).map(|_| ())
            );
        }
    }
}
