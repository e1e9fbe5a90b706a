//! One MCP `Tool`, with its open-ended members kept as the JSON text the server sent.

use crate::members::push_json_string;
use crate::Members;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;
use std::fmt;

/// One JSON value as its text: valid JSON, no surrounding whitespace.
pub type Json = Box<RawValue>;

/// One MCP `Tool`, every field of it.
///
/// Reading is lenient, as servers send odd things: a string field of another JSON type stays in
/// `extra` under its own key (so nothing is lost and it still counts for the pin hash), `null`
/// counts as absent, and unknown members are kept in `extra`. The JSON members are never
/// parsed here: a check that needs one parses that one ([`Tool::parse_member`]).
///
/// Serializes to the MCP JSON object: the defined fields in MCP's order, then `extra`'s
/// members as sent; a member of `extra` with the key of a defined field wins over it.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Tool {
    /// Empty when the server sent none (or not a string); the normalizer drops such entries.
    pub name: String,
    #[cfg_attr(feature = "schema", schemars(skip_serializing_if = "Option::is_none"))]
    pub title: Option<String>,
    #[cfg_attr(feature = "schema", schemars(skip_serializing_if = "Option::is_none"))]
    pub description: Option<String>,
    #[cfg_attr(
        feature = "schema",
        schemars(rename = "inputSchema", skip_serializing_if = "Option::is_none")
    )]
    pub input_schema: Option<Json>,
    #[cfg_attr(
        feature = "schema",
        schemars(rename = "outputSchema", skip_serializing_if = "Option::is_none")
    )]
    pub output_schema: Option<Json>,
    #[cfg_attr(feature = "schema", schemars(skip_serializing_if = "Option::is_none"))]
    pub annotations: Option<Json>,
    #[cfg_attr(
        feature = "schema",
        schemars(rename = "_meta", skip_serializing_if = "Option::is_none")
    )]
    pub meta: Option<Json>,
    #[cfg_attr(feature = "schema", schemars(skip_serializing_if = "Option::is_none"))]
    pub icons: Option<Json>,
    /// Members MCP's Tool does not define, and defined string members of another JSON type.
    #[cfg_attr(feature = "schema", schemars(flatten))]
    pub extra: Members,
}

/// The JSON members MCP defines, by their key in the MCP object and in the WIT record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    InputSchema,
    OutputSchema,
    Annotations,
    Meta,
    Icons,
}

impl Member {
    pub const ALL: [Member; 5] = [
        Member::InputSchema,
        Member::OutputSchema,
        Member::Annotations,
        Member::Meta,
        Member::Icons,
    ];

    /// The key in MCP's JSON.
    pub fn key(self) -> &'static str {
        match self {
            Member::InputSchema => "inputSchema",
            Member::OutputSchema => "outputSchema",
            Member::Annotations => "annotations",
            Member::Meta => "_meta",
            Member::Icons => "icons",
        }
    }

    /// The field's name in the WIT record (and in error messages about plugin output).
    pub fn wit_name(self) -> &'static str {
        match self {
            Member::InputSchema => "input-schema",
            Member::OutputSchema => "output-schema",
            Member::Annotations => "annotations",
            Member::Meta => "meta",
            Member::Icons => "icons",
        }
    }

    fn from_key(key: &str) -> Option<Member> {
        Member::ALL.into_iter().find(|m| m.key() == key)
    }
}

/// Text handed back by a plugin (or read from a file) that is not what the WIT record says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolTextError {
    /// `member` is the WIT field name (`input-schema`, `extra`, ...).
    #[error("tool {tool:?}: field {member} is not valid JSON text ({reason})")]
    InvalidJson {
        tool: String,
        member: &'static str,
        reason: String,
    },
    #[error("tool {tool:?}: field extra is not a JSON object")]
    ExtraNotAnObject { tool: String },
}

impl Tool {
    /// The slot of a defined JSON member.
    pub fn member(&self, member: Member) -> Option<&RawValue> {
        self.member_slot(member).as_deref()
    }

    pub fn member_mut(&mut self, member: Member) -> &mut Option<Json> {
        match member {
            Member::InputSchema => &mut self.input_schema,
            Member::OutputSchema => &mut self.output_schema,
            Member::Annotations => &mut self.annotations,
            Member::Meta => &mut self.meta,
            Member::Icons => &mut self.icons,
        }
    }

    fn member_slot(&self, member: Member) -> &Option<Json> {
        match member {
            Member::InputSchema => &self.input_schema,
            Member::OutputSchema => &self.output_schema,
            Member::Annotations => &self.annotations,
            Member::Meta => &self.meta,
            Member::Icons => &self.icons,
        }
    }

    /// One defined member parsed into a value: `None` when absent, an error naming the tool
    /// and member when its text cannot be read (deeper than serde_json's recursion limit).
    pub fn parse_member(&self, member: Member) -> Result<Option<Value>, ToolTextError> {
        self.member(member)
            .map(|raw| {
                serde_json::from_str(raw.get()).map_err(|e| ToolTextError::InvalidJson {
                    tool: self.name.clone(),
                    member: member.wit_name(),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// Reads one entry of a `tools/list` result leniently (see [`Tool`]); `None` when the
    /// entry is not a JSON object.
    pub fn from_entry(entry: &RawValue) -> Option<Tool> {
        serde_json::from_str(entry.get()).ok()
    }

    /// [`Tool::from_entry`] for a value already parsed (tests, files read as values).
    pub fn from_json(value: Value) -> Option<Tool> {
        serde_json::from_value(value).ok()
    }

    /// The tool as MCP JSON text, members as received.
    pub fn to_json_text(&self) -> String {
        serde_json::to_string(self).expect("a Tool always serializes")
    }

    /// The tool as a parsed MCP JSON value.
    pub fn to_json(&self) -> Value {
        serde_json::from_str(&self.to_json_text()).expect("a Tool's text is valid JSON")
    }

    /// Every member of the MCP object but `name`, `title` and `description`, in the order
    /// [`Serialize`] writes them (a defined member `extra` overrides is left out).
    pub fn json_members(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        let defined = Member::ALL.into_iter().filter_map(|m| {
            let raw = self.member(m)?;
            (!self.extra.contains_key(m.key())).then_some((m.key(), raw))
        });
        defined.chain(self.extra.iter())
    }

    /// Sets one member read from a server's object: the lenient rules of [`Tool`].
    fn set(&mut self, key: String, value: Json) {
        // A repeated key replaces what the earlier one set, wherever that went.
        self.extra.remove(&key);
        let text = value.get();
        let is_null = text == "null";
        match key.as_str() {
            "name" | "title" | "description" => {
                let string = (!is_null)
                    .then(|| serde_json::from_str::<String>(text).ok())
                    .flatten();
                let other_type = !is_null && string.is_none();
                match key.as_str() {
                    "name" => self.name = string.unwrap_or_default(),
                    "title" => self.title = string,
                    _ => self.description = string,
                }
                if other_type {
                    self.extra.insert(key, value);
                }
            }
            other => match Member::from_key(other) {
                Some(member) => *self.member_mut(member) = (!is_null).then_some(value),
                None => self.extra.insert(key, value),
            },
        }
    }

    /// Builds a tool from the WIT record's parts, checking each text member: the one
    /// conversion from untrusted JSON text (a plugin's output) to a [`Tool`].
    pub fn from_text_parts(parts: TextParts) -> Result<Tool, ToolTextError> {
        Tool::from_parts(parts, |_, tool, member, text| checked(tool, member, text))
    }

    /// [`Tool::from_text_parts`] where the caller knows some members' text to be what a
    /// [`Tool`] held (`known`, in [`Member::ALL`]'s order): the host reading back the records it
    /// made, where a plugin left a member unchanged. Those are taken without parsing them
    /// again; the others are checked.
    pub fn from_text_parts_known(
        parts: TextParts,
        known: [bool; 5],
    ) -> Result<Tool, ToolTextError> {
        Tool::from_parts(parts, |i, tool, member, text| match known[i] {
            true => trusted(tool, member, text),
            false => checked(tool, member, text),
        })
    }

    /// [`Tool::from_text_parts`] for the text a plugin receives: the host hands plugins valid
    /// JSON text (the WIT contract) and checks what they hand back, so a guest takes it
    /// without parsing it again. Text with surrounding whitespace (not what the host sends)
    /// is checked after all.
    pub fn from_host_text_parts(parts: TextParts) -> Result<Tool, ToolTextError> {
        Tool::from_parts(parts, |_, tool, member, text| trusted(tool, member, text))
    }

    /// `read` takes the member's index in [`Member::ALL`], the tool's name, the member's WIT
    /// name and its text.
    fn from_parts(
        parts: TextParts,
        read: impl Fn(usize, &str, &'static str, String) -> Result<Json, ToolTextError>,
    ) -> Result<Tool, ToolTextError> {
        let TextParts {
            name,
            title,
            description,
            members,
            extra,
        } = parts;
        let mut tool = Tool {
            title,
            description,
            ..Tool::default()
        };
        for (i, (member, text)) in Member::ALL.into_iter().zip(members).enumerate() {
            if let Some(text) = text {
                *tool.member_mut(member) = Some(read(i, &name, member.wit_name(), text)?);
            }
        }
        if let Some(text) = extra {
            tool.extra = Members::from_object_text(&text).map_err(|e| {
                if e.is_data() {
                    ToolTextError::ExtraNotAnObject { tool: name.clone() }
                } else {
                    invalid(&name, "extra", e)
                }
            })?;
        }
        tool.name = name;
        Ok(tool)
    }

    /// The WIT record's parts: the members' text moves out, uncopied.
    pub fn into_text_parts(self) -> TextParts {
        let Tool {
            name,
            title,
            description,
            input_schema,
            output_schema,
            annotations,
            meta,
            icons,
            extra,
        } = self;
        let text = |raw: Option<Json>| raw.map(|raw| String::from(Box::<str>::from(raw)));
        TextParts {
            extra: (!extra.is_empty()).then(|| extra.to_object_text()),
            name,
            title,
            description,
            members: [
                text(input_schema),
                text(output_schema),
                text(annotations),
                text(meta),
                text(icons),
            ],
        }
    }
}

/// A tool as the WIT record carries it: every open-ended member as JSON text, in
/// [`Member::ALL`]'s order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextParts {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub members: [Option<String>; 5],
    pub extra: Option<String>,
}

fn checked(tool: &str, member: &'static str, text: String) -> Result<Json, ToolTextError> {
    RawValue::from_string(text).map_err(|e| invalid(tool, member, e))
}

fn trusted(tool: &str, member: &'static str, text: String) -> Result<Json, ToolTextError> {
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.is_empty() || trimmed.len() != text.len() {
        return checked(tool, member, text);
    }
    // SAFETY: the text is a `RawValue`'s (the host hands plugins only such text, and reads
    // back as known only text equal to what it sent), so valid JSON, and there is no
    // surrounding whitespace (tested just above). A host that broke the contract would get
    // invalid text back from a plugin, which it refuses.
    Ok(unsafe { RawValue::from_string_unchecked(text) })
}

fn invalid(tool: &str, member: &'static str, e: serde_json::Error) -> ToolTextError {
    ToolTextError::InvalidJson {
        tool: tool.to_owned(),
        member,
        reason: e.to_string(),
    }
}

impl PartialEq for Tool {
    /// Equal when every field and member has the same text.
    fn eq(&self, other: &Self) -> bool {
        let same = |a: Option<&RawValue>, b: Option<&RawValue>| {
            a.map(RawValue::get) == b.map(RawValue::get)
        };
        self.name == other.name
            && self.title == other.title
            && self.description == other.description
            && Member::ALL
                .into_iter()
                .all(|m| same(self.member(m), other.member(m)))
            && self.extra == other.extra
    }
}

impl Serialize for Tool {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let strings = [
            ("name", Some(&self.name)),
            ("title", self.title.as_ref()),
            ("description", self.description.as_ref()),
        ];
        for (key, value) in strings {
            if let Some(value) = value.filter(|_| !self.extra.contains_key(key)) {
                map.serialize_entry(key, value)?;
            }
        }
        for (key, raw) in self.json_members() {
            map.serialize_entry(key, raw)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Tool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ToolVisitor;
        impl<'de> Visitor<'de> for ToolVisitor {
            type Value = Tool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an MCP Tool object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tool, A::Error> {
                let mut tool = Tool::default();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value::<Json>()?;
                    tool.set(key, value);
                }
                Ok(tool)
            }
        }
        deserializer.deserialize_map(ToolVisitor)
    }
}

/// `s` as JSON text (a string literal), for building members.
pub fn json_string(s: &str) -> Json {
    let mut text = String::with_capacity(s.len() + 2);
    push_json_string(&mut text, s);
    RawValue::from_string(text).expect("a JSON string literal is valid JSON")
}

/// A value as JSON text, for building members.
pub fn json_text(value: &Value) -> Json {
    serde_json::value::to_raw_value(value).expect("a JSON value always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SENT: &str = r#"{"name":"echo","title":"Echo","description":"d","inputSchema":{"type":"object","properties":{"n":{"type":"number","default":1.0,"maximum":1e3}}},"outputSchema":{"type":"object"},"annotations":{"readOnlyHint":true},"_meta":{"k":{"deep":[-0.0,18446744073709551616]}},"icons":[{"src":"x"}],"x-vendor":"caf\u00e9"}"#;

    #[test]
    fn members_stay_the_text_sent_and_print_as_received() {
        let tool: Tool = serde_json::from_str(SENT).unwrap();
        assert_eq!(tool.name, "echo");
        assert_eq!(
            tool.input_schema.as_ref().unwrap().get(),
            r#"{"type":"object","properties":{"n":{"type":"number","default":1.0,"maximum":1e3}}}"#
        );
        assert_eq!(tool.extra.get("x-vendor").unwrap().get(), r#""caf\u00e9""#);
        assert_eq!(tool.to_json_text(), SENT);
    }

    #[test]
    fn wrong_types_stay_in_extra_and_nulls_vanish() {
        let tool = Tool::from_json(json!({"name": 5, "description": null, "icons": null})).unwrap();
        assert_eq!(tool.name, "");
        assert_eq!(tool.description, None);
        assert_eq!(tool.icons.map(|r| r.get().to_owned()), None);
        assert_eq!(tool.extra.get("name").map(RawValue::get), Some("5"));
        let tool = Tool::from_json(json!({"name": 5})).unwrap();
        assert_eq!(tool.to_json(), json!({"name": 5}));
        assert!(Tool::from_json(json!([1])).is_none());
        assert!(Tool::from_entry(&RawValue::from_string("\"x\"".into()).unwrap()).is_none());
    }

    #[test]
    fn a_repeated_key_replaces_the_earlier_one() {
        let tool: Tool = serde_json::from_str(r#"{"name":"a","name":5}"#).unwrap();
        assert_eq!(
            (tool.name.as_str(), tool.to_json_text()),
            ("", r#"{"name":5}"#.into())
        );
        let tool: Tool = serde_json::from_str(r#"{"name":5,"name":"a"}"#).unwrap();
        assert_eq!((tool.name.as_str(), tool.extra.len()), ("a", 0));
    }

    #[test]
    fn text_parts_round_trip_and_bad_text_names_tool_and_member() {
        let tool: Tool = serde_json::from_str(SENT).unwrap();
        let parts = tool.clone().into_text_parts();
        assert_eq!(parts.extra.as_deref(), Some(r#"{"x-vendor":"caf\u00e9"}"#));
        assert_eq!(Tool::from_text_parts(parts.clone()).unwrap(), tool);
        assert_eq!(Tool::from_host_text_parts(parts.clone()).unwrap(), tool);
        let mut bad = parts.clone();
        bad.members[2] = Some("{not json".into());
        let err = Tool::from_text_parts(bad).unwrap_err().to_string();
        assert!(
            err.starts_with("tool \"echo\": field annotations is not valid JSON text"),
            "{err}"
        );
        let mut bad = parts.clone();
        bad.extra = Some("[1]".into());
        assert_eq!(
            Tool::from_text_parts(bad).unwrap_err().to_string(),
            "tool \"echo\": field extra is not a JSON object"
        );
        // Surrounding whitespace is not what the host sends: checked, and trimmed.
        let mut spaced = parts;
        spaced.members[0] = Some(" {\"type\":\"object\"} ".into());
        let tool = Tool::from_host_text_parts(spaced).unwrap();
        assert_eq!(tool.input_schema.unwrap().get(), r#"{"type":"object"}"#);
    }

    #[test]
    fn parse_member_reads_one_member_and_names_it_when_too_deep() {
        let tool: Tool = serde_json::from_str(SENT).unwrap();
        assert_eq!(
            tool.parse_member(Member::Annotations).unwrap(),
            Some(json!({"readOnlyHint": true}))
        );
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let parts = TextParts {
            name: "t".into(),
            members: [Some(deep), None, None, None, None],
            ..TextParts::default()
        };
        let tool = Tool::from_text_parts(parts).unwrap();
        let err = tool
            .parse_member(Member::InputSchema)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("input-schema") && err.contains("recursion"),
            "{err}"
        );
    }
}
