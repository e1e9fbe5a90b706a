//! The default validator: judges a tool list against a [`Policy`].

use crate::policy::{wildcard_match, Policy};
use crate::{pin, Finding, Tool};
use serde_json::Value;
use std::collections::BTreeSet;

/// Every finding the policy's rules produce for `tools`, tool by tool, then list-wide ones.
pub fn validate(tools: &[Tool], policy: &Policy) -> Vec<Finding> {
    let mut report = Report {
        policy,
        findings: Vec::new(),
    };
    let mut seen = BTreeSet::new();
    for tool in tools {
        let json = tool.to_json();
        check_tool(&mut report, tool, &json);
        if !seen.insert(tool.name.as_str()) {
            report.add(
                Some(&tool.name),
                "duplicate-name",
                "the name appears more than once in the list".into(),
            );
        }
        if let Some(pins) = &policy.pins {
            match pins.get(&tool.name) {
                None => report.add(
                    Some(&tool.name),
                    "pin-new-tool",
                    "a tool the lock file does not pin (new since it was written)".into(),
                ),
                Some(expected) => {
                    let actual = pin::tool_hash(&json);
                    if &actual != expected {
                        report.add(
                            Some(&tool.name),
                            "pin-mismatch",
                            format!(
                                "definition changed since it was pinned: sha256 {} (pinned {})",
                                &actual[..12],
                                &expected[..12]
                            ),
                        );
                    }
                }
            }
        }
    }
    if let Some(pins) = &policy.pins {
        for name in pins.keys().filter(|name| !seen.contains(name.as_str())) {
            report.add(
                Some(name),
                "pin-removed",
                "a pinned tool is no longer offered".into(),
            );
        }
    }
    if let Some(max) = policy.max_tools.filter(|max| tools.len() > *max) {
        report.add(
            None,
            "max-tools",
            format!(
                "{} tools, more than the policy's maximum of {max}",
                tools.len()
            ),
        );
    }
    report.findings
}

struct Report<'p> {
    policy: &'p Policy,
    findings: Vec<Finding>,
}

impl Report<'_> {
    /// Records a finding unless the policy turned the rule off.
    fn add(&mut self, tool: Option<&str>, rule: &str, message: String) {
        if let Some(severity) = self.policy.severity(rule) {
            self.findings
                .push(Finding::new(tool, rule, severity, message));
        }
    }

    fn enabled(&self, rule: &str) -> bool {
        self.policy.severity(rule).is_some()
    }
}

fn check_tool(report: &mut Report, tool: &Tool, json: &Value) {
    let policy = report.policy;
    let name = Some(tool.name.as_str());
    if !policy.name_pattern.is_match(&tool.name) {
        report.add(
            name,
            "name-pattern",
            format!(
                "name {:?} does not match {}",
                tool.name,
                policy.name_pattern.as_str()
            ),
        );
    }
    if policy.deny.iter().any(|p| wildcard_match(p, &tool.name)) {
        report.add(name, "tool-denied", "the policy denies this tool".into());
    }
    if let Some(allow) = &policy.allow {
        if !allow.iter().any(|p| wildcard_match(p, &tool.name)) {
            report.add(
                name,
                "tool-not-allowed",
                "not in the policy's allow list".into(),
            );
        }
    }
    match tool.description.as_deref().map(str::trim) {
        None | Some("") => report.add(name, "description-required", "no description".into()),
        Some(d) => {
            let length = d.chars().count();
            if length > policy.description_max_length {
                report.add(
                    name,
                    "description-too-long",
                    format!(
                        "description is {length} characters, more than {}",
                        policy.description_max_length
                    ),
                );
            }
        }
    }
    match &tool.input_schema {
        None => report.add(name, "input-schema-missing", "no inputSchema".into()),
        Some(schema) => {
            if let Some(problem) = object_schema_problem(schema) {
                report.add(
                    name,
                    "input-schema-invalid",
                    format!("inputSchema {problem}"),
                );
            }
        }
    }
    if let Some(problem) = tool.output_schema.as_ref().and_then(object_schema_problem) {
        report.add(
            name,
            "output-schema-invalid",
            format!("outputSchema {problem}"),
        );
    }
    check_annotations(report, tool);
    if report.enabled("hidden-characters") || report.enabled("prompt-injection") {
        check_text(report, tool, json);
    }
}

/// MCP requires both schemas to be JSON Schema objects with `"type": "object"`.
fn object_schema_problem(schema: &Value) -> Option<String> {
    match schema {
        Value::Object(map) => match map.get("type") {
            Some(Value::String(t)) if t == "object" => None,
            Some(other) => Some(format!("has type {other}, not \"object\"")),
            None => Some("has no \"type\": \"object\"".into()),
        },
        other => Some(format!("is not a JSON object: {}", kind(other))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_annotations(report: &mut Report, tool: &Tool) {
    let name = Some(tool.name.as_str());
    let annotations = tool.annotations.as_ref().and_then(Value::as_object);
    if annotations.is_none_or(|a| a.is_empty()) {
        report.add(
            name,
            "annotations-missing",
            "no annotations (readOnlyHint, destructiveHint, ...)".into(),
        );
    }
    for key in &report.policy.required_annotations {
        if annotations.is_none_or(|a| !a.contains_key(key)) {
            report.add(
                name,
                "annotation-required",
                format!("annotation {key:?} is required by the policy"),
            );
        }
    }
}

/// Looks through every string (and object key) of the tool for hidden characters and
/// prompt-injection markers: tool poisoning often hides in a parameter's description.
fn check_text(report: &mut Report, tool: &Tool, json: &Value) {
    let policy = report.policy;
    let mut hidden: Option<(String, char)> = None;
    let mut hidden_count = 0;
    // One finding per pattern: the first place it matches.
    let mut injections: Vec<Option<(String, String)>> = vec![None; policy.forbidden_patterns.len()];
    visit_strings(json, &mut Vec::new(), &mut |path, text| {
        if !text.is_ascii() {
            if let Some(c) = text.chars().find(|c| is_hidden(*c)) {
                hidden_count += 1;
                hidden.get_or_insert_with(|| (render(path), c));
            }
        }
        let lowered = text.to_ascii_lowercase();
        for (pattern, slot) in policy.forbidden_patterns.iter().zip(injections.iter_mut()) {
            if slot.is_none() {
                if let Some(matched) = pattern.find(text, &lowered) {
                    *slot = Some((render(path), matched.chars().take(60).collect()));
                }
            }
        }
    });
    let name = Some(tool.name.as_str());
    if let Some((path, c)) = hidden {
        let more = match hidden_count {
            1 => String::new(),
            n => format!(" and {} more places", n - 1),
        };
        report.add(
            name,
            "hidden-characters",
            format!("invisible character U+{:04X} in {path}{more}", c as u32),
        );
    }
    for (pattern, slot) in policy.forbidden_patterns.iter().zip(injections) {
        if let Some((path, excerpt)) = slot {
            report.add(
                name,
                "prompt-injection",
                format!(
                    "{excerpt:?} in {path} matches forbidden pattern {}",
                    pattern.source
                ),
            );
        }
    }
}

/// A step on the way to a string inside the tool's JSON.
enum Step<'v> {
    Key(&'v str),
    Index(usize),
    /// The string is the object key itself (a property name).
    KeyItself,
}

/// Calls `visit` with each string and object key, and the path to it (rendered only on a hit).
fn visit_strings<'v>(
    value: &'v Value,
    path: &mut Vec<Step<'v>>,
    visit: &mut impl FnMut(&[Step<'v>], &'v str),
) {
    match value {
        Value::String(s) => visit(path, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                visit_strings(item, path, visit);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                path.push(Step::Key(key));
                path.push(Step::KeyItself);
                visit(path, key);
                path.pop();
                visit_strings(item, path, visit);
                path.pop();
            }
        }
        _ => {}
    }
}

fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) if out.is_empty() => out.push_str(key),
            Step::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::KeyItself => out.push_str(" (key)"),
        }
    }
    out
}

/// Zero-width characters, invisible operators, BOM, Unicode tag characters, bidi overrides.
pub fn is_hidden(c: char) -> bool {
    matches!(c as u32,
        0x200B..=0x200D | 0x2060..=0x2064 | 0xFEFF | 0xE0000..=0xE007F
        | 0x202A..=0x202E | 0x2066..=0x2069)
}
