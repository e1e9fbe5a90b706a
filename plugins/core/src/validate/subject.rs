//! The rules' view of a tool: its members' JSON text, read lazily.

use super::strings::{surely_visible, Context};
use super::{object_schema_problem, type_problem, Keys, SchemaKind, Subject};
use crate::policy::Policy;
use crate::{pin, Member, Tool};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;

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

fn member_error(tool: &Tool, member: &str, e: serde_json::Error) -> String {
    format!(
        "tool {:?}: field {member} is not valid JSON text ({e})",
        tool.name
    )
}

impl Subject for Tool {
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    fn schema_problem(&self, which: SchemaKind) -> Result<Option<Option<String>>, String> {
        let member = match which {
            SchemaKind::Input => Member::InputSchema,
            SchemaKind::Output => Member::OutputSchema,
        };
        let Some(text) = self.member(member).map(RawValue::get) else {
            return Ok(None);
        };
        if ends_with_object_type(text) {
            return Ok(Some(None));
        }
        if let Ok(head) = serde_json::from_str::<SchemaHead>(text) {
            return Ok(Some(type_problem(head.schema_type.as_ref())));
        }
        // Not an object, or a duplicate `type`: read it whole, as the value path does.
        let value: Value =
            serde_json::from_str(text).map_err(|e| member_error(self, member.wit_name(), e))?;
        Ok(Some(object_schema_problem(&value)))
    }
    fn annotation_keys(&self, need_keys: bool) -> Result<Option<Keys>, String> {
        let Some(text) = self.annotations.as_deref().map(RawValue::get) else {
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
            Err(e) => Err(member_error(self, "annotations", e)),
        }
    }
    fn needles_found(&self, policy: &Policy) -> Option<u64> {
        let mut found = 0;
        let strings = [
            (Some(&self.name), Context::Line),
            (self.title.as_ref(), Context::Line),
            (self.description.as_ref(), Context::Text),
        ];
        for (text, context) in strings {
            let Some(text) = text else { continue };
            if !surely_visible(text, context) {
                return None;
            }
            found |= policy.needles.found_in(text);
        }
        let keys = self.extra.iter().map(|(key, _)| (key, Context::Line));
        let members = self
            .json_members()
            .map(|(_, raw)| (raw.get(), Context::Text));
        for (text, context) in keys.chain(members) {
            if !surely_visible(text, context) {
                return None;
            }
            let scanned = policy.needles.scan(text);
            // Raw JSON text shows every string as it is, apart from escapes. `\n`, `\t`, `\"`,
            // `\\` and `\/` hide no needle and no control; `\u` could hide anything, and `\b`,
            // `\f` and `\r` are controls the exact look judges (inside a member, keys included,
            // tab and line feed are ordinary: [`Context::Text`]).
            if scanned.backslash
                && ["\\u", "\\b", "\\f", "\\r"]
                    .iter()
                    .any(|e| text.contains(e))
            {
                return None;
            }
            found |= scanned.needles;
        }
        Some(found)
    }
    fn json(&self) -> Result<Value, String> {
        pin::tool_value(self).map_err(|e| e.to_string())
    }
}
