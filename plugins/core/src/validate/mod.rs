//! The default validator: judges a tool list against a [`Policy`].
//!
//! A tool's JSON members are the text the server sent; a rule parses a member only as far as
//! it needs to. The costly rules, hidden characters and
//! forbidden patterns, first take one pass over all of a tool's text; only a tool where
//! something could match gets the exact per-string scan (which also finds where it is).

mod strings;
mod subject;

pub use strings::{first_hidden, surely_visible, Context, HiddenClass};

use crate::policy::{wildcard_match, Policy};
use crate::{pin, Finding, Tool};
use serde::de::IgnoredAny;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use strings::{render, visit_strings};

/// Every finding the policy's rules produce for `tools`, tool by tool, then list-wide ones.
/// A member a rule cannot read (nested deeper than serde_json reads) is an error naming the
/// tool and the member.
pub fn validate(tools: &[Tool], policy: &Policy) -> Result<Vec<Finding>, String> {
    judge(tools, policy)
}

/// What the rules need of one tool: read from its members' text, lazily (an extension trait
/// on the types crate's `Tool`).
trait Subject {
    fn name(&self) -> &str;
    fn description(&self) -> Option<&str>;
    /// `None` when the tool has no such schema, else the problem with it, if any.
    fn schema_problem(&self, which: SchemaKind) -> Result<Option<Option<String>>, String>;
    /// The annotation keys; `None` when annotations are absent or not an object. Without
    /// `need_keys` only whether the object is empty must be right.
    fn annotation_keys(&self, need_keys: bool) -> Result<Option<Keys>, String>;
    /// The needles (bits of `policy.needles`) that occur anywhere in the tool's text; `None`
    /// when it needs the exact scan whatever they are (a hidden character, a `\u` escape).
    fn needles_found(&self, policy: &Policy) -> Option<u64>;
    /// The tool's whole MCP JSON object.
    fn json(&self) -> Result<Value, String>;
}

#[derive(Clone, Copy)]
enum SchemaKind {
    Input,
    Output,
}

enum Keys {
    Parsed(BTreeMap<String, IgnoredAny>),
    /// An object known only to be empty or not (`true`: empty).
    Unread(bool),
}

impl Keys {
    fn is_empty(&self) -> bool {
        match self {
            Keys::Parsed(map) => map.is_empty(),
            Keys::Unread(empty) => *empty,
        }
    }
    fn contains(&self, key: &str) -> bool {
        match self {
            Keys::Parsed(map) => map.contains_key(key),
            Keys::Unread(_) => unreachable!("keys are read when some are required"),
        }
    }
}

fn judge(tools: &[Tool], policy: &Policy) -> Result<Vec<Finding>, String> {
    let mut report = Report {
        policy,
        findings: Vec::new(),
    };
    let text_rules = report.enabled("hidden-characters") || report.enabled("prompt-injection");
    let mut seen = HashSet::with_capacity(tools.len());
    // Each pinned name's distinct hashes as listed now: every definition of a name is
    // checked, whichever one a client keeps.
    let mut offered: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for tool in tools {
        // Built at most once per tool, and only for the exact text scan or a pin.
        let mut json: Option<Value> = None;
        check_tool(&mut report, tool)?;
        if text_rules {
            let exact = match tool.needles_found(policy) {
                None => true,
                Some(found) => policy.forbidden_patterns.iter().any(|p| p.may_match(found)),
            };
            if exact {
                let json = json.insert(tool.json()?);
                check_text(&mut report, tool.name(), json);
            }
        }
        let name = tool.name();
        let first = seen.insert(name);
        if !first {
            report.add(
                Some(name),
                "duplicate-name",
                "the name appears more than once in the list".into(),
            );
        }
        if let Some(pins) = &policy.pins {
            match pins.get(name) {
                None if first => report.add(
                    Some(name),
                    "pin-new-tool",
                    "a tool the lock file does not pin (new since it was written)".into(),
                ),
                None => {}
                Some(expected) => {
                    let json = match json {
                        Some(json) => json,
                        None => tool.json()?,
                    };
                    let actual = pin::value_hash(&json);
                    let offered = offered.entry(name).or_default();
                    if !offered.contains(&actual) {
                        if !expected.contains(&actual) {
                            report.add(Some(name), "pin-mismatch", mismatch(&actual, expected));
                        }
                        offered.push(actual);
                    }
                }
            }
        }
    }
    if let Some(pins) = &policy.pins {
        pins_gone(&mut report, pins, &offered);
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
    Ok(report.findings)
}

/// `pin-mismatch`: a definition `actual` that none of the name's pins has.
fn mismatch(actual: &str, pinned: &[String]) -> String {
    let pinned: Vec<&str> = pinned.iter().map(|hash| &hash[..12]).collect();
    format!(
        "definition changed since it was pinned: sha256 {} (pinned {})",
        &actual[..12],
        pinned.join(", ")
    )
}

/// `pin-removed`: a pinned name no longer offered, or (without a mismatch under the name,
/// which is the change already) some of its pinned definitions no longer offered.
fn pins_gone(
    report: &mut Report,
    pins: &BTreeMap<String, Vec<String>>,
    offered: &BTreeMap<&str, Vec<String>>,
) {
    for (name, pinned) in pins {
        let Some(now) = offered.get(name.as_str()) else {
            report.add(
                Some(name),
                "pin-removed",
                "a pinned tool is no longer offered".into(),
            );
            continue;
        };
        let changed = now.iter().any(|hash| !pinned.contains(hash));
        let gone = pinned.iter().filter(|hash| !now.contains(hash)).count();
        if !changed && gone > 0 {
            report.add(
                Some(name),
                "pin-removed",
                format!(
                    "{gone} of the {} definitions pinned under this name are no longer offered",
                    pinned.len()
                ),
            );
        }
    }
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

fn check_tool(report: &mut Report, tool: &Tool) -> Result<(), String> {
    let policy = report.policy;
    let tool_name = tool.name();
    let name = Some(tool_name);
    if !policy.name_pattern.is_match(tool_name) {
        report.add(
            name,
            "name-pattern",
            format!(
                "name {:?} does not match {}",
                tool_name,
                policy.name_pattern.as_str()
            ),
        );
    }
    if policy.deny.iter().any(|p| wildcard_match(p, tool_name)) {
        report.add(name, "tool-denied", "the policy denies this tool".into());
    }
    if let Some(allow) = &policy.allow {
        if !allow.iter().any(|p| wildcard_match(p, tool_name)) {
            report.add(
                name,
                "tool-not-allowed",
                "not in the policy's allow list".into(),
            );
        }
    }
    match tool.description().map(str::trim) {
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
    match tool.schema_problem(SchemaKind::Input)? {
        None => report.add(name, "input-schema-missing", "no inputSchema".into()),
        Some(Some(problem)) => report.add(
            name,
            "input-schema-invalid",
            format!("inputSchema {problem}"),
        ),
        Some(None) => {}
    }
    if let Some(Some(problem)) = tool.schema_problem(SchemaKind::Output)? {
        report.add(
            name,
            "output-schema-invalid",
            format!("outputSchema {problem}"),
        );
    }
    let need_keys = !policy.required_annotations.is_empty();
    check_annotations(report, tool_name, tool.annotation_keys(need_keys)?);
    Ok(())
}

/// MCP requires both schemas to be JSON Schema objects with `"type": "object"`.
fn object_schema_problem(schema: &Value) -> Option<String> {
    match schema {
        Value::Object(map) => type_problem(map.get("type")),
        other => Some(format!("is not a JSON object: {}", kind(other))),
    }
}

/// The problem with an object schema's `type` member (`None`: it has none).
fn type_problem(schema_type: Option<&Value>) -> Option<String> {
    match schema_type {
        Some(Value::String(t)) if t == "object" => None,
        Some(other) => Some(format!("has type {other}, not \"object\"")),
        None => Some("has no \"type\": \"object\"".into()),
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

fn check_annotations(report: &mut Report, tool: &str, annotations: Option<Keys>) {
    let name = Some(tool);
    if annotations.as_ref().is_none_or(Keys::is_empty) {
        report.add(
            name,
            "annotations-missing",
            "no annotations (readOnlyHint, destructiveHint, ...)".into(),
        );
    }
    for key in &report.policy.required_annotations {
        if annotations.as_ref().is_none_or(|a| !a.contains(key)) {
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
fn check_text(report: &mut Report, tool: &str, json: &Value) {
    let policy = report.policy;
    let mut hidden: Option<(String, char, HiddenClass)> = None;
    let mut hidden_count = 0;
    // One finding per pattern: the first place it matches.
    let mut injections: Vec<Option<(String, String)>> = vec![None; policy.forbidden_patterns.len()];
    visit_strings(json, &mut Vec::new(), &mut |path, text| {
        let context = Context::at(path);
        if !surely_visible(text, context) {
            if let Some((c, class)) = first_hidden(text, context) {
                hidden_count += 1;
                hidden.get_or_insert_with(|| (render(path), c, class));
            }
        }
        let found = policy.needles.found_in(text);
        for (pattern, slot) in policy.forbidden_patterns.iter().zip(injections.iter_mut()) {
            if slot.is_none() {
                if let Some(matched) = pattern.find(text, found) {
                    *slot = Some((render(path), matched.chars().take(60).collect()));
                }
            }
        }
    });
    let name = Some(tool);
    if let Some((path, c, class)) = hidden {
        let more = match hidden_count {
            1 => String::new(),
            n => format!(" and {} more places", n - 1),
        };
        report.add(
            name,
            "hidden-characters",
            format!("{} U+{:04X} in {path}{more}", class.as_str(), c as u32),
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
