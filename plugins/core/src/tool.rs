//! The tool and finding shapes shared by every plugin.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One MCP `Tool`, every field of it; members MCP does not define are kept in `extra`.
///
/// Serializes to exactly the MCP JSON object (`inputSchema`, `_meta`, ... with `extra`
/// flattened in), which is what [`crate::pin::tool_hash`] hashes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tool {
    /// Empty when the server sent none (or not a string).
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub input_schema: Option<Value>,
    pub output_schema: Option<Value>,
    pub annotations: Option<Value>,
    pub meta: Option<Value>,
    pub icons: Option<Value>,
    /// Members MCP's Tool does not define, and defined members of the wrong JSON type.
    pub extra: Map<String, Value>,
}

impl Tool {
    /// Reads one entry of a `tools/list` result leniently, as the host's model does: a field of
    /// the wrong type stays in `extra`; `null` counts as absent. `None` for non-objects.
    pub fn from_json(value: Value) -> Option<Tool> {
        let Value::Object(mut obj) = value else {
            return None;
        };
        let mut take_string = |key: &str| match obj.get(key) {
            Some(Value::String(_)) => obj.remove(key).and_then(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            }),
            Some(Value::Null) => {
                obj.remove(key);
                None
            }
            _ => None,
        };
        let name = take_string("name").unwrap_or_default();
        let title = take_string("title");
        let description = take_string("description");
        let mut take_value = |key: &str| match obj.remove(key) {
            Some(Value::Null) | None => None,
            Some(v) => Some(v),
        };
        let input_schema = take_value("inputSchema");
        let output_schema = take_value("outputSchema");
        let annotations = take_value("annotations");
        let meta = take_value("_meta");
        let icons = take_value("icons");
        Some(Tool {
            name,
            title,
            description,
            input_schema,
            output_schema,
            annotations,
            meta,
            icons,
            extra: obj,
        })
    }

    /// The tool as MCP JSON. `name` is always present; a member of `extra` with the same key as
    /// a defined field wins, as with the host's `#[serde(flatten)]` model.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("name".into(), Value::String(self.name.clone()));
        let strings = [("title", &self.title), ("description", &self.description)];
        for (key, value) in strings {
            if let Some(s) = value {
                obj.insert(key.into(), Value::String(s.clone()));
            }
        }
        let values = [
            ("inputSchema", &self.input_schema),
            ("outputSchema", &self.output_schema),
            ("annotations", &self.annotations),
            ("_meta", &self.meta),
            ("icons", &self.icons),
        ];
        for (key, value) in values {
            if let Some(v) = value {
                obj.insert(key.into(), v.clone());
            }
        }
        for (key, value) in &self.extra {
            obj.insert(key.clone(), value.clone());
        }
        Value::Object(obj)
    }
}

/// How bad a finding is: one type for plugins and host. `Error` makes `validate` (and
/// `discover` with a policy) exit 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    /// The lower-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Something a plugin reports about one tool (`tool` set) or the whole list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// A stable kebab-case rule id, e.g. `description-required`.
    pub rule: String,
    pub severity: Severity,
    pub message: String,
}

impl Finding {
    pub fn new(
        tool: Option<&str>,
        rule: &str,
        severity: Severity,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            tool: tool.map(str::to_owned),
            rule: rule.to_owned(),
            severity,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_every_field_and_unknown_members() {
        let raw = json!({
            "name": "echo", "title": "Echo", "description": "d",
            "inputSchema": {"type": "object"}, "outputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": true}, "_meta": {"k": 1},
            "icons": [{"src": "x"}], "x-vendor": 7
        });
        let tool = Tool::from_json(raw.clone()).unwrap();
        assert_eq!(tool.name, "echo");
        assert_eq!(tool.extra.get("x-vendor"), Some(&json!(7)));
        assert_eq!(tool.to_json(), raw);
    }

    #[test]
    fn wrong_types_stay_in_extra_and_nulls_vanish() {
        let tool = Tool::from_json(json!({"name": 5, "description": null})).unwrap();
        assert_eq!(tool.name, "");
        assert_eq!(tool.description, None);
        assert_eq!(tool.to_json(), json!({"name": 5}));
        assert!(Tool::from_json(json!([1])).is_none());
    }
}
