//! The validator's policy: a JSON document (see plugins/README.md) compiled into [`Policy`].

use crate::needles::NeedleSet;
use crate::Severity;
use regex_lite::Regex;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

/// Every rule the validator knows, with its default severity. Ids are stable: policies and
/// CI filters refer to them.
pub const RULES: &[(&str, Severity)] = &[
    ("name-pattern", Severity::Warning),
    ("duplicate-name", Severity::Warning),
    ("description-required", Severity::Warning),
    ("description-too-long", Severity::Warning),
    ("prompt-injection", Severity::Error),
    ("hidden-characters", Severity::Error),
    ("input-schema-missing", Severity::Warning),
    ("input-schema-invalid", Severity::Error),
    ("output-schema-invalid", Severity::Error),
    ("annotations-missing", Severity::Warning),
    ("annotation-required", Severity::Warning),
    ("max-tools", Severity::Error),
    ("tool-not-allowed", Severity::Error),
    ("tool-denied", Severity::Error),
    ("pin-mismatch", Severity::Error),
    ("pin-new-tool", Severity::Error),
    ("pin-removed", Severity::Warning),
    // Reported by the host's scan baselines (see BASELINE_RULES), not by the validator; here so
    // that one policy file sets every severity and stays valid for the validator.
    ("baseline-tool-added", Severity::Warning),
    ("baseline-tool-removed", Severity::Warning),
    ("baseline-tool-changed", Severity::Error),
    ("baseline-tool-renamed", Severity::Error),
    ("baseline-tool-reordered", Severity::Warning),
    ("baseline-target-new", Severity::Info),
];

/// The rules of [`RULES`] that `mcp-probe scan --baseline` reports, not the validator.
pub const BASELINE_RULES: &[&str] = &[
    "baseline-tool-added",
    "baseline-tool-removed",
    "baseline-tool-changed",
    "baseline-tool-renamed",
    "baseline-tool-reordered",
    "baseline-target-new",
];

pub const DEFAULT_NAME_PATTERN: &str = "^[A-Za-z0-9_.-]{1,128}$";
pub const DEFAULT_DESCRIPTION_MAX_LENGTH: usize = 10_000;

/// Prompt-injection markers checked unless `builtin_forbidden_patterns` is false, each with
/// needle groups: a text must contain a needle of every group before the regex runs (regex-lite
/// has no literal prefilter of its own, and this check runs on every tool).
pub const BUILTIN_FORBIDDEN_PATTERNS: &[(&str, Needles)] = &[
    (r"(?i)</?important>", &[&["important>"]]),
    (
        r"(?i)\b(ignore|disregard|forget|override)\s+(all\s+|any\s+)?(the\s+|your\s+)?(previous|prior|above|earlier|preceding|system)\s+(instructions|prompts?|rules|directions)",
        &[
            &["ignore", "disregard", "forget", "override"],
            &["instructions", "prompt", "rules", "directions"],
        ],
    ),
    (
        r"(?i)\bdo\s+not\s+(tell|inform|mention\s+(this\s+)?to|reveal\s+(this\s+)?to|notify)\s+the\s+user",
        &[
            &["user"],
            &["not"],
            &["tell", "inform", "mention", "reveal", "notify"],
        ],
    ),
    (
        r"(?i)</?(system|instructions?|secret)>",
        &[&["system>", "instruction", "secret>"]],
    ),
    (
        r"(?i)<\|im_start\|>|\[/?INST\]|<<SYS>>",
        &[&["im_start", "inst]", "<<sys>>"]],
    ),
];

/// Groups of needles (see [`ForbiddenPattern::needles`]).
pub type Needles = &'static [&'static [&'static str]];

/// One forbidden pattern. A built-in one compiles its regex on first use: most policies never
/// get past the needles, and a fresh plugin instance compiles its policy on every call.
#[derive(Debug, Clone)]
pub struct ForbiddenPattern {
    /// The pattern as written, for messages.
    pub source: String,
    /// One bit mask per needle group (bits of [`Policy::needles`]): a match needs a needle of
    /// every group. Empty: always search.
    groups: Vec<u64>,
    regex: OnceLock<Regex>,
}

impl ForbiddenPattern {
    fn builtin(source: &'static str, needles: Needles, set: &NeedleSet) -> Self {
        let mask = |group: &&[&str]| group.iter().fold(0, |mask, n| mask | set.bit(n));
        ForbiddenPattern {
            source: source.to_owned(),
            groups: needles.iter().map(mask).collect(),
            regex: OnceLock::new(),
        }
    }

    fn user(source: &str) -> Result<Self, PolicyError> {
        let regex = compile(source, "forbidden_patterns")?;
        Ok(ForbiddenPattern {
            source: source.to_owned(),
            groups: Vec::new(),
            regex: OnceLock::from(regex),
        })
    }

    /// Whether a text holding the needles `found` ([`NeedleSet::found_in`]) could match;
    /// `false` means no text within it can.
    pub fn may_match(&self, found: u64) -> bool {
        self.groups.iter().all(|group| group & found != 0)
    }

    /// The first match in `text`, which holds the needles `found`.
    pub fn find<'t>(&self, text: &'t str, found: u64) -> Option<&'t str> {
        if !self.may_match(found) {
            return None;
        }
        let regex = self.regex.get_or_init(|| {
            Regex::new(&self.source).expect("the built-in forbidden patterns compile")
        });
        regex.find(text).map(|m| m.as_str())
    }
}

/// The rule for tool names. The default pattern is checked without a regex: regex-lite runs
/// `{1,128}` as a 128-state automaton over every character of every name.
#[derive(Debug, Clone)]
pub struct NamePattern {
    source: String,
    /// `None`: the default pattern.
    regex: Option<Regex>,
}

impl NamePattern {
    fn new(source: Option<&str>) -> Result<Self, PolicyError> {
        let source = source.unwrap_or(DEFAULT_NAME_PATTERN);
        let regex = match source {
            DEFAULT_NAME_PATTERN => None,
            other => Some(compile(other, "name_pattern")?),
        };
        Ok(NamePattern {
            source: source.to_owned(),
            regex,
        })
    }

    pub fn is_match(&self, name: &str) -> bool {
        match &self.regex {
            Some(regex) => regex.is_match(name),
            // ^[A-Za-z0-9_.-]{1,128}$: ASCII only, so characters are bytes.
            None => {
                (1..=128).contains(&name.len())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            }
        }
    }

    /// The pattern as written, for messages.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// The policy file as written. Unknown keys are refused so that a typo is not a silent no-op;
/// keys starting with `x-` are left to other validator plugins. Public for its JSON Schema
/// (`mcp-probe schema policy`) only: [`Policy::from_json_text`] reads it.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(transform = schema::policy_file))]
#[serde(deny_unknown_fields, default)]
pub struct PolicyFile {
    #[serde(rename = "$schema")]
    _schema: Option<Value>,
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 1)))]
    version: Option<u32>,
    name_pattern: Option<String>,
    description_max_length: Option<usize>,
    forbidden_patterns: Vec<String>,
    builtin_forbidden_patterns: Option<bool>,
    max_tools: Option<usize>,
    allow: Option<Vec<String>>,
    deny: Vec<String>,
    required_annotations: Vec<String>,
    pins: Option<BTreeMap<String, crate::pin::PinHashes>>,
    rules: BTreeMap<String, Level>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
enum Level {
    Off,
    Info,
    Warning,
    Error,
}

/// What the checks of [`Policy::from_json_text`] add to the derived schema.
#[cfg(feature = "schema")]
mod schema {
    use serde_json::{json, Value};

    pub fn policy_file(schema: &mut schemars::Schema) {
        // `x-` members are removed before the unknown-key check.
        schema.insert("patternProperties".into(), json!({"^x-": true}));
        let Some(Value::Object(properties)) = schema.get_mut("properties") else {
            return;
        };
        let rules: Vec<&str> = super::RULES.iter().map(|(id, _)| *id).collect();
        if let Some(Value::Object(rules_schema)) = properties.get_mut("rules") {
            rules_schema.insert("propertyNames".into(), json!({"enum": rules}));
        }
        if let Some(Value::Object(pins)) = properties.get_mut("pins") {
            pins.insert(
                "additionalProperties".into(),
                crate::pin::pin_hashes_schema(),
            );
        }
    }
}

/// A policy that could not be read; the validator returns it as its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid policy: {}", self.0)
    }
}

impl std::error::Error for PolicyError {}

/// A compiled policy, ready to judge tool lists.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name_pattern: NamePattern,
    /// In characters; turn the limit off with the rule `description-too-long: off`.
    pub description_max_length: usize,
    /// Each pattern with its source text, for messages.
    pub forbidden_patterns: Vec<ForbiddenPattern>,
    /// The needles of the built-in patterns in use.
    pub needles: NeedleSet,
    pub max_tools: Option<usize>,
    /// `None`: every name is allowed. Entries may use `*` and `?` wildcards.
    pub allow: Option<Vec<String>>,
    pub deny: Vec<String>,
    pub required_annotations: Vec<String>,
    /// Tool name → the lower-case hex SHA-256 of each definition pinned under it (several
    /// when the server listed the name more than once); `None`: no pin checks at all.
    pub pins: Option<BTreeMap<String, Vec<String>>>,
    severities: BTreeMap<&'static str, Option<Severity>>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_json_text("{}").expect("the default policy compiles")
    }
}

impl Policy {
    /// Reads a policy; empty text or `{}` is the built-in default policy.
    pub fn from_json_text(text: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile = if text.trim().is_empty() {
            PolicyFile::default()
        } else {
            let value: Value =
                serde_json::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
            let Value::Object(mut members) = value else {
                return Err(PolicyError("the policy must be a JSON object".into()));
            };
            // `x-` members belong to other validator plugins sharing the policy file.
            members.retain(|key, _| !key.starts_with("x-"));
            serde_json::from_value(Value::Object(members))
                .map_err(|e| PolicyError(e.to_string()))?
        };
        if let Some(version) = file.version.filter(|v| *v != 1) {
            return Err(PolicyError(format!(
                "version {version} is not supported (only 1)"
            )));
        }
        let name_pattern = NamePattern::new(file.name_pattern.as_deref())?;
        let builtins = match file.builtin_forbidden_patterns.unwrap_or(true) {
            true => BUILTIN_FORBIDDEN_PATTERNS,
            false => &[],
        };
        let mut distinct: Vec<&'static str> = Vec::new();
        for needle in builtins
            .iter()
            .flat_map(|(_, groups)| groups.iter().copied().flatten())
        {
            if !distinct.contains(needle) {
                distinct.push(needle);
            }
        }
        let needles = NeedleSet::new(distinct);
        let mut forbidden_patterns: Vec<ForbiddenPattern> = builtins
            .iter()
            .map(|(source, groups)| ForbiddenPattern::builtin(source, groups, &needles))
            .collect();
        for pattern in &file.forbidden_patterns {
            forbidden_patterns.push(ForbiddenPattern::user(pattern)?);
        }
        let mut severities: BTreeMap<&'static str, Option<Severity>> =
            RULES.iter().map(|(id, sev)| (*id, Some(*sev))).collect();
        for (rule, level) in &file.rules {
            let Some((id, _)) = RULES.iter().find(|(id, _)| id == rule) else {
                let known: Vec<&str> = RULES.iter().map(|(id, _)| *id).collect();
                return Err(PolicyError(format!(
                    "unknown rule {rule:?} in rules (known: {})",
                    known.join(", ")
                )));
            };
            severities.insert(id, level.severity());
        }
        let pins = match file.pins {
            None => None,
            Some(pins) => Some(
                pins.into_iter()
                    .map(|(name, hashes)| Ok((name.clone(), pin_digests(&name, &hashes)?)))
                    .collect::<Result<_, PolicyError>>()?,
            ),
        };
        Ok(Policy {
            name_pattern,
            description_max_length: file
                .description_max_length
                .unwrap_or(DEFAULT_DESCRIPTION_MAX_LENGTH),
            forbidden_patterns,
            needles,
            max_tools: file.max_tools,
            allow: file.allow,
            deny: file.deny,
            required_annotations: file.required_annotations,
            pins,
            severities,
        })
    }

    /// The severity of `rule` under this policy; `None` when it is turned off.
    pub fn severity(&self, rule: &str) -> Option<Severity> {
        self.severities.get(rule).copied().flatten()
    }
}

impl Level {
    fn severity(self) -> Option<Severity> {
        match self {
            Level::Off => None,
            Level::Info => Some(Severity::Info),
            Level::Warning => Some(Severity::Warning),
            Level::Error => Some(Severity::Error),
        }
    }
}

fn compile(pattern: &str, key: &str) -> Result<Regex, PolicyError> {
    Regex::new(pattern).map_err(|e| PolicyError(format!("{key}: bad pattern {pattern:?}: {e}")))
}

/// Accepts `sha256:`-prefixed and upper-case hex, one hash or a non-empty list of them;
/// insists on 64 hex digits.
fn pin_digests(name: &str, hashes: &crate::pin::PinHashes) -> Result<Vec<String>, PolicyError> {
    hashes
        .digests()
        .map_err(|why| PolicyError(format!("pins: {name:?}: {why}")))
}

/// `*` matches any run of characters, `?` any one; everything else matches itself.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ni));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ni = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_patterns_compile_and_their_needles_are_lower_case() {
        for (source, needles) in BUILTIN_FORBIDDEN_PATTERNS {
            compile(source, "builtin").unwrap();
            for needle in needles.iter().flat_map(|group| group.iter()) {
                assert_eq!(*needle, needle.to_ascii_lowercase(), "{source}");
            }
        }
    }

    #[test]
    fn default_name_check_agrees_with_the_regex() {
        let fast = NamePattern::new(None).unwrap();
        let regex = compile(DEFAULT_NAME_PATTERN, "name_pattern").unwrap();
        let long = "a".repeat(128);
        let too_long = "a".repeat(129);
        let names = [
            "",
            "a",
            "read_file.v2-x",
            "read file",
            "ünï",
            "a\n",
            "x/y",
            "-",
            &long,
            &too_long,
        ];
        for name in names {
            assert_eq!(fast.is_match(name), regex.is_match(name), "{name:?}");
        }
    }
}
