//! The two forms a tool is judged in: values (`Tool`) and the WIT record's JSON text
//! (`ToolText`, read lazily).

use super::strings::{is_hidden, visit_strings, Step};
use super::{object_schema_problem, type_problem, Keys, SchemaKind, Subject};
use crate::policy::Policy;
use crate::{Tool, ToolText};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// Whether `text` is free of hidden characters.
fn visible(text: &str) -> bool {
    text.is_ascii() || !text.chars().any(is_hidden)
}

impl Subject for Tool {
    type Error = std::convert::Infallible;

    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    fn schema_problem(&self, which: SchemaKind) -> Result<Option<Option<String>>, Self::Error> {
        let schema = match which {
            SchemaKind::Input => &self.input_schema,
            SchemaKind::Output => &self.output_schema,
        };
        Ok(schema.as_ref().map(object_schema_problem))
    }
    fn annotation_keys(&self, _need_keys: bool) -> Result<Option<Keys<'_>>, Self::Error> {
        Ok(self
            .annotations
            .as_ref()
            .and_then(Value::as_object)
            .map(Keys::Object))
    }
    fn needles_found(&self, policy: &Policy) -> Option<u64> {
        let mut clean = true;
        let mut found = 0;
        let mut visit = |_: &[Step], text: &str| {
            clean &= visible(text);
            found |= policy.needles.found_in(text);
        };
        let strings = [
            Some(&self.name),
            self.title.as_ref(),
            self.description.as_ref(),
        ];
        for text in strings.into_iter().flatten() {
            visit(&[], text);
        }
        let members = [
            &self.input_schema,
            &self.output_schema,
            &self.annotations,
            &self.meta,
            &self.icons,
        ];
        for value in members.into_iter().flatten() {
            visit_strings(value, &mut Vec::new(), &mut visit);
        }
        for (key, value) in &self.extra {
            visit(&[], key);
            visit_strings(value, &mut Vec::new(), &mut visit);
        }
        clean.then_some(found)
    }
    fn json(&self) -> Result<Value, Self::Error> {
        Ok(self.to_json())
    }
}

/// Deserializes a present member as `Some`, even `null` (`Option<Value>` would read `null` as
/// absent, but a schema with `"type": null` has a type that is not "object").
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The one member of a schema the rules look at; the rest is skipped unparsed.
#[derive(Deserialize)]
struct SchemaHead {
    #[serde(rename = "type", default, deserialize_with = "present")]
    schema_type: Option<Value>,
}

/// Whether schema text (valid JSON) ends with a top-level `"type":"object"` member, as
/// serde_json writes it (keys sorted, so `type` often comes last): the common case, decided
/// without parsing. The last `}` of valid JSON closes the outermost object, and the tokens
/// before it can only be that object's last member; with duplicate keys the last one counts.
fn ends_with_object_type(text: &str) -> bool {
    text.strip_suffix(r#""type":"object"}"#)
        .is_some_and(|head| head == "{" || head.ends_with(','))
}

impl ToolText {
    fn member_error(&self, member: &str, e: serde_json::Error) -> String {
        format!("tool {:?}: {member} is not valid JSON: {e}", self.name)
    }
}

impl Subject for ToolText {
    type Error = String;

    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    fn schema_problem(&self, which: SchemaKind) -> Result<Option<Option<String>>, String> {
        let (member, text) = match which {
            SchemaKind::Input => ("input-schema", &self.input_schema),
            SchemaKind::Output => ("output-schema", &self.output_schema),
        };
        let Some(text) = text else {
            return Ok(None);
        };
        if ends_with_object_type(text) {
            return Ok(Some(None));
        }
        if let Ok(head) = serde_json::from_str::<SchemaHead>(text) {
            return Ok(Some(type_problem(head.schema_type.as_ref())));
        }
        // Not an object, or a duplicate `type`: read it whole, as the value path does.
        let value: Value = serde_json::from_str(text).map_err(|e| self.member_error(member, e))?;
        Ok(Some(object_schema_problem(&value)))
    }
    fn annotation_keys(&self, need_keys: bool) -> Result<Option<Keys<'_>>, String> {
        let Some(text) = &self.annotations else {
            return Ok(None);
        };
        if !need_keys {
            // Valid JSON text: an object starts with `{`, and an empty one closes at once.
            return Ok(text
                .trim_start()
                .strip_prefix('{')
                .map(|rest| Keys::Unread(rest.trim_start().starts_with('}'))));
        }
        match serde_json::from_str::<BTreeMap<String, IgnoredAny>>(text) {
            Ok(keys) => Ok(Some(Keys::Parsed(keys))),
            Err(e) if e.is_data() => Ok(None),
            Err(e) => Err(self.member_error("annotations", e)),
        }
    }
    fn needles_found(&self, policy: &Policy) -> Option<u64> {
        let mut found = 0;
        let strings = [
            Some(&self.name),
            self.title.as_ref(),
            self.description.as_ref(),
        ];
        for text in strings.into_iter().flatten() {
            if !visible(text) {
                return None;
            }
            found |= policy.needles.found_in(text);
        }
        let members = [
            &self.input_schema,
            &self.output_schema,
            &self.annotations,
            &self.meta,
            &self.icons,
            &self.extra,
        ];
        for text in members.into_iter().flatten() {
            if !visible(text) {
                return None;
            }
            let scanned = policy.needles.scan(text);
            // Raw JSON text shows every string as it is, apart from escapes. The simple ones
            // (`\n`, `\"`, ...) hide no needle; a `\u` one could hide anything.
            if scanned.backslash && text.contains("\\u") {
                return None;
            }
            found |= scanned.needles;
        }
        Some(found)
    }
    fn json(&self) -> Result<Value, String> {
        Ok(self.clone().into_tool()?.to_json())
    }
}
