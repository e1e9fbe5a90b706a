//! Between the host's model types and the WIT types, where open-ended objects are JSON text.
//! Text coming back from a plugin is untrusted: invalid JSON is a `Malformed` error.

use super::bindings as wit;
use crate::model::{Finding, Severity, Tool};
use serde::de::IgnoredAny;
use serde_json::{Map, Value};

fn json_text(value: &impl serde::Serialize) -> String {
    // Room for a typical member up front: growing from empty costs a third more.
    let mut text = Vec::with_capacity(256);
    serde_json::to_writer(&mut text, value).expect("JSON values always serialize");
    String::from_utf8(text).expect("serde_json writes UTF-8")
}

fn to_text(value: &Option<Value>) -> Option<String> {
    value.as_ref().map(json_text)
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
        extra: (!tool.extra.is_empty()).then(|| json_text(&tool.extra)),
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

/// The `extra` member: a JSON object's text, or none.
fn parse_extra(tool: &str, text: Option<String>) -> Result<Map<String, Value>, String> {
    match parse_field(tool, "extra", text)? {
        None => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(format!("tool {tool:?}: field extra is not a JSON object")),
    }
}

/// The WIT record as a model tool; `Err` describes the first malformed field.
pub fn tool_from_wit(tool: wit::Tool) -> Result<Tool, String> {
    let name = tool.name;
    let extra = parse_extra(&name, tool.extra)?;
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

/// How far ahead [`Pairing`] looks for a returned tool's counterpart.
const LOOKAHEAD: usize = 8;

/// Pairs the tools a plugin returned with the ones it was given, in order, skipping the ones
/// it dropped: a member whose text came back unchanged needs no checking or parsing. Only
/// speed depends on the pairing being right; a wrong guess just compares unequal.
#[derive(Default)]
pub struct Pairing {
    next: usize,
}

impl Pairing {
    /// The index in `given` of the tool that became `returned`, if one is found.
    pub fn pair(&mut self, given: &[wit::Tool], returned: &wit::Tool) -> Option<usize> {
        let name = returned.name.as_str();
        let mut ahead = given.get(self.next..)?.iter().take(LOOKAHEAD);
        let found = self.next + ahead.position(|t| t.name.trim() == name)?;
        self.next = found + 1;
        Some(found)
    }
}

/// The JSON text members of a record, by field name.
fn members(tool: &wit::Tool) -> [(&'static str, Option<&String>); 6] {
    [
        ("extra", tool.extra.as_ref()),
        ("input-schema", tool.input_schema.as_ref()),
        ("output-schema", tool.output_schema.as_ref()),
        ("annotations", tool.annotations.as_ref()),
        ("meta", tool.meta.as_ref()),
        ("icons", tool.icons.as_ref()),
    ]
}

/// Checks a plugin's WIT record as [`tool_from_wit`] would (same errors) without building
/// values, skipping the members that are unchanged from `given` (text the host already
/// knows to be valid): lets the pipeline keep tools in WIT form between stages.
pub fn check_wit_tool(tool: &wit::Tool, given: Option<&wit::Tool>) -> Result<(), String> {
    let name = &tool.name;
    let before = given.map(members);
    for (i, (field, text)) in members(tool).into_iter().enumerate() {
        let Some(text) = text else { continue };
        if before.is_some_and(|b| b[i].1 == Some(text)) {
            continue;
        }
        serde_json::from_str::<IgnoredAny>(text)
            .map_err(|e| format!("tool {name:?}: field {field} is not valid JSON text ({e})"))?;
        if field == "extra" && !text.trim_start().starts_with('{') {
            return Err(format!("tool {name:?}: field extra is not a JSON object"));
        }
    }
    Ok(())
}

/// [`tools_from_wit`] for the end of a pipeline run: `sent` are the records made from
/// `originals`; a member whose text is unchanged takes the original's value instead of
/// being parsed again.
pub fn tools_back_from_wit(
    returned: Vec<wit::Tool>,
    sent: &[wit::Tool],
    mut originals: Vec<Tool>,
) -> Result<Vec<Tool>, String> {
    let mut pairing = Pairing::default();
    returned
        .into_iter()
        .map(|tool| match pairing.pair(sent, &tool) {
            Some(i) => reuse_from_wit(tool, &sent[i], &mut originals[i]),
            None => tool_from_wit(tool),
        })
        .collect()
}

fn reuse_from_wit(tool: wit::Tool, sent: &wit::Tool, original: &mut Tool) -> Result<Tool, String> {
    let name = tool.name;
    // Unchanged text: the original's value (taken, so it is used at most once).
    let member = |field: &str,
                  text: Option<String>,
                  sent: &Option<String>,
                  value: &mut Option<Value>| {
        match (&text, value.is_some()) {
            (Some(text), true) if sent.as_ref() == Some(text) => Ok(value.take()),
            _ => parse_field(&name, field, text),
        }
    };
    let extra = match (&tool.extra, original.extra.is_empty()) {
        (Some(text), false) if sent.extra.as_ref() == Some(text) => {
            std::mem::take(&mut original.extra)
        }
        _ => parse_extra(&name, tool.extra)?,
    };
    Ok(Tool {
        input_schema: member(
            "input-schema",
            tool.input_schema,
            &sent.input_schema,
            &mut original.input_schema,
        )?,
        output_schema: member(
            "output-schema",
            tool.output_schema,
            &sent.output_schema,
            &mut original.output_schema,
        )?,
        annotations: member(
            "annotations",
            tool.annotations,
            &sent.annotations,
            &mut original.annotations,
        )?,
        meta: member("meta", tool.meta, &sent.meta, &mut original.meta)?,
        icons: member("icons", tool.icons, &sent.icons, &mut original.icons)?,
        title: tool.title,
        description: tool.description,
        extra,
        name,
    })
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
        assert_eq!(check_wit_tool(&good, None), Ok(()));
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
                check_wit_tool(&tool, None),
                tool_from_wit(tool.clone()).map(|_| ())
            );
            // Unchanged text is known to be valid; changed text is checked.
            assert_eq!(check_wit_tool(&tool, Some(&tool)), Ok(()));
            assert_eq!(
                check_wit_tool(&tool, Some(&good)),
                tool_from_wit(tool.clone()).map(|_| ())
            );
        }
    }

    #[test]
    fn back_conversion_reuses_unchanged_members_and_parses_changed_ones() {
        let originals: Vec<Tool> = ["a", "b", "c"]
            .iter()
            .map(|n| {
                Tool::from_json(json!({"name": n, "inputSchema": {"type": "object", "n": n},
                    "_meta": {"k": n}, "x-extra": n}))
                .unwrap()
            })
            .collect();
        let sent: Vec<wit::Tool> = originals.iter().map(tool_to_wit).collect();
        // The plugin drops "b", renames nothing, trims "c" and rewrites its schema.
        let mut c = sent[2].clone();
        c.input_schema = Some(r#"{"type":"object","changed":true}"#.into());
        let returned = vec![sent[0].clone(), c];
        let back = tools_back_from_wit(returned, &sent, originals.clone()).unwrap();
        assert_eq!(back[0], originals[0]);
        assert_eq!(
            back[1].input_schema,
            Some(json!({"type": "object", "changed": true}))
        );
        assert_eq!(back[1].meta, originals[2].meta);
        assert_eq!(back[1].extra, originals[2].extra);
        // Everything agrees with plain conversion.
        let plain: Vec<Tool> = tools_from_wit(vec![sent[0].clone(), {
            let mut c = sent[2].clone();
            c.input_schema = Some(r#"{"type":"object","changed":true}"#.into());
            c
        }])
        .unwrap();
        assert_eq!(back, plain);
        // A returned record paired twice (a duplicate) is parsed the second time.
        let twice = vec![sent[0].clone(), sent[0].clone()];
        let back = tools_back_from_wit(twice, &sent[..1], originals[..1].to_vec()).unwrap();
        assert_eq!(back[0], back[1]);
    }
}
