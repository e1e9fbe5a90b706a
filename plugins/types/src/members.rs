//! An ordered set of JSON object members whose values stay text: a tool's `extra`.

use crate::Json;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;

/// JSON object members in the order the server sent them, each value as its JSON text. A key
/// is held once: a later member with the same key replaces the earlier one (as a JSON parser
/// that builds a map does), keeping the earlier one's place.
#[derive(Debug, Clone, Default)]
pub struct Members(Vec<(String, Json)>);

impl Members {
    pub fn new() -> Self {
        Members(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The member's JSON text.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets a member; an existing one with the same key is replaced in its place.
    pub fn insert(&mut self, key: impl Into<String>, value: Json) {
        let key = key.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Json> {
        let index = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(index).1)
    }

    /// Keeps the members for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.0.retain(|(k, _)| keep(k));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), &**v))
    }

    /// The members as one JSON object's text, values as they are.
    pub fn to_object_text(&self) -> String {
        let capacity = self.0.iter().map(|(k, v)| k.len() + v.get().len() + 4);
        let mut text = String::with_capacity(2 + capacity.sum::<usize>());
        text.push('{');
        for (i, (key, value)) in self.0.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            push_json_string(&mut text, key);
            text.push(':');
            text.push_str(value.get());
        }
        text.push('}');
        text
    }

    /// Reads one JSON object's text; an error when it is not valid JSON or not an object.
    pub fn from_object_text(text: &str) -> Result<Members, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// `s` as a JSON string literal, escaped as serde_json escapes it.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    let mut bytes = Vec::with_capacity(s.len() + 2);
    serde_json::to_writer(&mut bytes, s).expect("a string always serializes");
    out.push_str(std::str::from_utf8(&bytes).expect("serde_json writes UTF-8"));
}

impl PartialEq for Members {
    /// Equal when the same keys have the same JSON text, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(k, v)| other.get(k).is_some_and(|o| o.get() == v.get()))
    }
}

impl FromIterator<(String, Json)> for Members {
    fn from_iter<I: IntoIterator<Item = (String, Json)>>(iter: I) -> Self {
        let mut members = Members::new();
        for (key, value) in iter {
            members.insert(key, value);
        }
        members
    }
}

impl Serialize for Members {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (key, value) in self.iter() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Members::new();
                while let Some(key) = map.next_key::<String>()? {
                    members.insert(key, map.next_value::<Json>()?);
                }
                Ok(members)
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Members {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Members".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <serde_json::Map<String, serde_json::Value>>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_text_and_the_last_of_a_duplicate_key() {
        let members =
            Members::from_object_text(r#"{"b": 1.0, "a": "\u00e9", "b": [1e3]}"#).unwrap();
        assert_eq!(members.to_object_text(), r#"{"b":[1e3],"a":"\u00e9"}"#);
        assert_eq!(members.get("a").unwrap().get(), r#""\u00e9""#);
        assert!(Members::from_object_text("[1]").is_err());
        assert!(Members::from_object_text("{").is_err());
    }

    #[test]
    fn keys_are_escaped_and_equality_ignores_order() {
        let mut a = Members::new();
        a.insert("q\"", RawValue::from_string("1".into()).unwrap());
        a.insert("z", RawValue::from_string("true".into()).unwrap());
        let b = Members::from_object_text(&a.to_object_text()).unwrap();
        assert_eq!(a, b);
        let reordered = Members::from_object_text(r#"{"z":true,"q\"":1}"#).unwrap();
        assert_eq!(a, reordered);
        assert_ne!(
            a,
            Members::from_object_text(r#"{"z":true,"q\"":1.0}"#).unwrap()
        );
    }
}
