//! Between the model's tools and the WIT records, where open-ended members are JSON text on
//! both sides. The conversion each way is the types crate's (`wit_conversions!`); what is
//! here is the host's side of trust: text coming back from a plugin is checked (invalid JSON
//! is a `Malformed` error), except where it is the very text the host sent.

use super::bindings as wit;
use crate::model::Tool;
use serde::de::IgnoredAny;

mcp_probe_types::wit_conversions!(pub wit);

/// The WIT record as a model tool; `Err` describes the first malformed field.
pub fn tool_from_wit(tool: wit::Tool) -> Result<Tool, String> {
    Tool::from_text_parts(tool_text_parts(tool)).map_err(|e| e.to_string())
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

/// The records a pipeline made from valid tools, as tools again: nothing is parsed.
pub fn tools_from_sent(sent: Vec<wit::Tool>) -> Result<Vec<Tool>, String> {
    sent.into_iter()
        .map(|t| Tool::from_text_parts_known(tool_text_parts(t), [true; 5]))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

/// [`tools_from_wit`] for the end of a pipeline run: `sent` are the records made from valid
/// tools; a member whose text a plugin left unchanged is taken without being checked again.
pub fn tools_back_from_wit(
    returned: Vec<wit::Tool>,
    sent: &[wit::Tool],
) -> Result<Vec<Tool>, String> {
    let mut pairing = Pairing::default();
    returned
        .into_iter()
        .map(|tool| {
            let known = match pairing.pair(sent, &tool) {
                Some(i) => unchanged(&tool, &sent[i]),
                None => [false; 5],
            };
            Tool::from_text_parts_known(tool_text_parts(tool), known).map_err(|e| e.to_string())
        })
        .collect()
}

/// Which JSON members of `returned` have the very text of `sent`'s, in `Member::ALL`'s order.
fn unchanged(returned: &wit::Tool, sent: &wit::Tool) -> [bool; 5] {
    let (now, before) = (json_members(returned), json_members(sent));
    std::array::from_fn(|i| now[i].is_some() && now[i] == before[i])
}

fn json_members(t: &wit::Tool) -> [Option<&String>; 5] {
    [
        t.input_schema.as_ref(),
        t.output_schema.as_ref(),
        t.annotations.as_ref(),
        t.meta.as_ref(),
        t.icons.as_ref(),
    ]
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
        let back = tool_from_wit(tool_to_wit(tool.clone())).unwrap();
        assert_eq!(back.to_json(), raw);
    }

    #[test]
    fn invalid_json_text_is_reported_with_tool_and_field() {
        let mut wit_tool = tool_to_wit(Tool {
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
        let good = tool_to_wit(Tool::from_json(json!({"name": "t", "x": 1})).unwrap());
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
    fn back_conversion_trusts_unchanged_members_and_checks_changed_ones() {
        let originals: Vec<Tool> = ["a", "b", "c"]
            .iter()
            .map(|n| {
                Tool::from_json(json!({"name": n, "inputSchema": {"type": "object", "n": n},
                    "_meta": {"k": n}, "x-extra": n}))
                .unwrap()
            })
            .collect();
        let sent: Vec<wit::Tool> = originals.iter().cloned().map(tool_to_wit).collect();
        // The plugin drops "b", renames nothing, trims "c" and rewrites its schema.
        let mut c = sent[2].clone();
        c.input_schema = Some(r#"{"type":"object","changed":true}"#.into());
        let returned = vec![sent[0].clone(), c];
        let back = tools_back_from_wit(returned, &sent).unwrap();
        assert_eq!(back[0], originals[0]);
        assert_eq!(
            back[1].input_schema.as_ref().unwrap().get(),
            r#"{"type":"object","changed":true}"#
        );
        assert_eq!(
            back[1].meta.as_ref().unwrap().get(),
            originals[2].meta.as_ref().unwrap().get()
        );
        assert_eq!(back[1].extra, originals[2].extra);
        // Everything agrees with plain conversion.
        let plain: Vec<Tool> = tools_from_wit(vec![sent[0].clone(), {
            let mut c = sent[2].clone();
            c.input_schema = Some(r#"{"type":"object","changed":true}"#.into());
            c
        }])
        .unwrap();
        assert_eq!(back, plain);
        // A returned record paired twice (a duplicate) is checked the second time.
        let twice = vec![sent[0].clone(), sent[0].clone()];
        let back = tools_back_from_wit(twice, &sent[..1]).unwrap();
        assert_eq!(back[0], back[1]);
        // Changed text is checked: a plugin's invalid JSON is refused, naming tool and field.
        let mut broken = sent[0].clone();
        broken.meta = Some("{not json".into());
        let err = tools_back_from_wit(vec![broken], &sent).unwrap_err();
        assert!(err.contains("\"a\"") && err.contains("meta"), "{err}");
        // The records as sent come back as the very tools.
        assert_eq!(tools_from_sent(sent).unwrap(), originals);
    }
}
