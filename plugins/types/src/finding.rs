//! What a check says about one tool or a whole list.

use serde::{Deserialize, Serialize};

/// How bad a finding is. `Error` makes `validate` (and `discover` with a policy) exit 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    /// The lower-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Something a pipeline stage (or the host's own schema check) reports about a tool
/// (`tool` set) or the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Finding {
    /// The tool's name; `None` for findings about the list as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// A stable kebab-case rule id, e.g. `description-required`.
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    /// Who reported it: a plugin's name, or `host`. Empty inside a plugin (the WIT record has
    /// no such field); the host sets it when the finding comes back.
    #[serde(default)]
    pub source: String,
}

impl Finding {
    pub fn new(
        tool: Option<&str>,
        rule: &str,
        severity: Severity,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            tool: tool.map(str::to_owned),
            rule: rule.to_owned(),
            severity,
            message: message.into(),
            source: String::new(),
        }
    }

    /// The finding, attributed to `source`.
    pub fn from_source(mut self, source: &str) -> Self {
        self.source = source.to_owned();
        self
    }
}
