//! The WIT `tool` record's shape: open-ended members as JSON text. The guest crates move
//! fields between this and their generated bindings; the parsing lives here so that it is
//! tested natively.

use crate::Tool;
use serde_json::{Map, Value};

/// A tool as the WIT record carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolText {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub input_schema: Option<String>,
    pub output_schema: Option<String>,
    pub annotations: Option<String>,
    pub meta: Option<String>,
    pub icons: Option<String>,
    /// One JSON object with the members MCP does not define.
    pub extra: Option<String>,
}

impl ToolText {
    /// Parses the JSON text members; an error names the tool and the member.
    pub fn into_tool(self) -> Result<Tool, String> {
        let name = self.name;
        let field = |member: &str, text: Option<String>| -> Result<Option<Value>, String> {
            text.map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| format!("tool {name:?}: {member} is not valid JSON: {e}"))
            })
            .transpose()
        };
        let extra = match field("extra", self.extra)? {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(format!("tool {name:?}: extra is not a JSON object")),
        };
        Ok(Tool {
            input_schema: field("input-schema", self.input_schema)?,
            output_schema: field("output-schema", self.output_schema)?,
            annotations: field("annotations", self.annotations)?,
            meta: field("meta", self.meta)?,
            icons: field("icons", self.icons)?,
            title: self.title,
            description: self.description,
            extra,
            name,
        })
    }
}

impl From<Tool> for ToolText {
    fn from(tool: Tool) -> Self {
        let text = |value: Option<Value>| value.map(|v| v.to_string());
        ToolText {
            name: tool.name,
            title: tool.title,
            description: tool.description,
            input_schema: text(tool.input_schema),
            output_schema: text(tool.output_schema),
            annotations: text(tool.annotations),
            meta: text(tool.meta),
            icons: text(tool.icons),
            extra: (!tool.extra.is_empty()).then(|| Value::Object(tool.extra).to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_text() {
        let tool = Tool::from_json(json!({
            "name": "t", "inputSchema": {"type": "object"}, "_meta": {"a": [1]}, "x": true
        }))
        .unwrap();
        let text = ToolText::from(tool.clone());
        assert_eq!(text.extra.as_deref(), Some(r#"{"x":true}"#));
        assert_eq!(text.input_schema.as_deref(), Some(r#"{"type":"object"}"#));
        assert_eq!(text.into_tool().unwrap(), tool);
    }

    #[test]
    fn bad_json_text_is_an_error_naming_tool_and_member() {
        let text = ToolText {
            name: "t".into(),
            annotations: Some("{".into()),
            ..ToolText::default()
        };
        assert!(text
            .into_tool()
            .unwrap_err()
            .starts_with("tool \"t\": annotations is not valid JSON"));
        let text = ToolText {
            name: "t".into(),
            extra: Some("[1]".into()),
            ..ToolText::default()
        };
        assert_eq!(
            text.into_tool().unwrap_err(),
            "tool \"t\": extra is not a JSON object"
        );
    }
}
