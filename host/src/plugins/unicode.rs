//! The host's check for text that was not valid Unicode as the server sent it.
//!
//! The transport turns a lone UTF-16 surrogate escape into U+FFFD (so no parser refuses the
//! message, see `transport::Inbound::message`) and invalid UTF-8 decodes to U+FFFD as well.
//! Either way the text a client would show differs from what any rule can match exactly, so
//! every U+FFFD in a tool is reported: at error in a name (a name that is not what the
//! server's clients see cannot be gated on), at warning elsewhere.

use super::schema::SOURCE;
use crate::model::{Finding, Severity, Tool};

pub const RULE: &str = "invalid-unicode";

/// U+FFFD in a string's text.
fn holds_replacement(text: &str) -> bool {
    text.contains('\u{fffd}')
}

/// U+FFFD in JSON text: as a character, or as the escape `\ufffd` (the one the transport
/// writes). Backslashes occur only inside strings there, each one starting an escape.
fn json_holds_replacement(json: &str) -> bool {
    if holds_replacement(json) {
        return true;
    }
    let mut at = 0;
    while let Some(found) = json[at..].find('\\') {
        let escape = at + found;
        let hex = json.get(escape + 2..escape + 6);
        if json.as_bytes().get(escape + 1) == Some(&b'u')
            && hex.is_some_and(|h| h.eq_ignore_ascii_case("fffd"))
        {
            return true;
        }
        at = escape + 2;
    }
    false
}

/// One finding per tool whose text holds U+FFFD, naming the fields.
pub fn check_tools(tools: &[Tool]) -> Vec<Finding> {
    tools.iter().filter_map(check_tool).collect()
}

fn check_tool(tool: &Tool) -> Option<Finding> {
    let strings = [
        ("name", Some(tool.name.as_str())),
        ("title", tool.title.as_deref()),
        ("description", tool.description.as_deref()),
    ];
    let fields: Vec<&str> = strings
        .into_iter()
        .filter_map(|(field, text)| text.filter(|t| holds_replacement(t)).map(|_| field))
        .chain(
            tool.json_members()
                .filter(|(_, raw)| json_holds_replacement(raw.get()))
                .map(|(key, _)| key),
        )
        .collect();
    if fields.is_empty() {
        return None;
    }
    let severity = match fields[0] == "name" {
        true => Severity::Error,
        false => Severity::Warning,
    };
    let message = format!(
        "U+FFFD in {}: the server sent text that is not valid Unicode there (a lone UTF-16 \
         surrogate such as \\ud800, or bytes that are not UTF-8), shown as U+FFFD; a client \
         that keeps the raw text shows something else",
        fields.join(", ")
    );
    Some(Finding::new(Some(&tool.name), RULE, severity, message).from_source(SOURCE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(value: serde_json::Value) -> Tool {
        Tool::from_json(value).unwrap()
    }

    #[test]
    fn a_name_with_the_replacement_character_is_an_error() {
        let findings = check_tools(&[tool(json!({"name": "exec_shell\u{fffd}"}))]);
        assert_eq!(findings.len(), 1);
        assert_eq!(
            (findings[0].rule.as_str(), findings[0].severity),
            (RULE, Severity::Error)
        );
        assert_eq!(findings[0].tool.as_deref(), Some("exec_shell\u{fffd}"));
        assert!(findings[0].message.starts_with("U+FFFD in name:"));
    }

    #[test]
    fn other_fields_are_warnings_naming_each_field() {
        let raw = serde_json::value::RawValue::from_string(
            r#"{"name":"t","description":"a\ufffd","inputSchema":{"description":"\ufffd"},"x":"\uFFFD"}"#
                .into(),
        )
        .unwrap();
        let findings = check_tools(&[Tool::from_entry(&raw).unwrap()]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(
            findings[0]
                .message
                .starts_with("U+FFFD in description, inputSchema, x:"),
            "{}",
            findings[0].message
        );
        let clean = tool(json!({"name": "t", "description": "caf\u{e9} \\ufffd", "x": "\\ufffd"}));
        assert!(check_tools(&[clean]).is_empty());
    }
}
