//! How each target of a scan ended: one typed outcome, never a silent empty list.

use crate::discover::{DiscoverError, FailureKind};
use crate::model::Severity;
use crate::report::Report;
use crate::runtime::kubernetes::KubeError;
use crate::runtime::{ErrorKind, RuntimeError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Tools were listed.
    Ok,
    /// The server answered, with zero tools.
    Empty,
    /// The server does not offer tools at all.
    NoToolsCapability,
    /// The server did not start or never served MCP (a missing program, a crash, a URL where
    /// nothing answers, a pod that would not run).
    StartFailed,
    /// The image could not be pulled or named.
    ImageError,
    /// The cluster refused what mcp-probe needs (RBAC).
    Forbidden,
    /// `--timeout` (or a request's timeout) passed.
    Timeout,
    /// The server spoke MCP, wrongly.
    ProtocolError,
    /// Ctrl-C or SIGTERM stopped it.
    Interrupted,
}

impl Outcome {
    /// Whether the scan counts the target as probed (exit 0): the server answered.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Outcome::Ok | Outcome::Empty | Outcome::NoToolsCapability
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Empty => "empty",
            Outcome::NoToolsCapability => "no_tools_capability",
            Outcome::StartFailed => "start_failed",
            Outcome::ImageError => "image_error",
            Outcome::Forbidden => "forbidden",
            Outcome::Timeout => "timeout",
            Outcome::ProtocolError => "protocol_error",
            Outcome::Interrupted => "interrupted",
        }
    }

    pub fn of_report(report: &Report) -> Outcome {
        match (report.tools_supported, report.tools.is_empty()) {
            (false, _) => Outcome::NoToolsCapability,
            (true, true) => Outcome::Empty,
            (true, false) => Outcome::Ok,
        }
    }

    pub fn of_error(err: &DiscoverError) -> Outcome {
        if err.kind() == ErrorKind::Interrupted {
            return Outcome::Interrupted;
        }
        match err {
            DiscoverError::Failed { kind, .. } => match kind {
                FailureKind::Timeout => Outcome::Timeout,
                FailureKind::NotServing => Outcome::StartFailed,
                FailureKind::Protocol => Outcome::ProtocolError,
            },
            DiscoverError::Runtime(RuntimeError::Kubernetes(kube)) => match kube {
                KubeError::Forbidden { .. } => Outcome::Forbidden,
                KubeError::Timeout { .. } => Outcome::Timeout,
                KubeError::Pod { reason, .. }
                    if reason.contains("Image") || reason.contains("ImagePull") =>
                {
                    Outcome::ImageError
                }
                _ => Outcome::StartFailed,
            },
            DiscoverError::Runtime(RuntimeError::Spawn { .. }) | DiscoverError::Url(_) => {
                Outcome::StartFailed
            }
            _ => Outcome::ProtocolError,
        }
    }
}

/// One target's line in the scan's JSON Lines output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetResult {
    /// The target's place in the catalog, from 0, and the catalog's size (so that merged
    /// shards can tell a missing target).
    pub index: usize,
    pub total: usize,
    pub name: String,
    pub outcome: Outcome,
    /// The one-line error, for every outcome but the successful ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The end of the server's stderr (a pod: its log) when it failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_tail: String,
    pub duration_ms: u64,
    /// Served from the scan cache (no probe ran); `cached_at` says when it was probed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_at: Option<String>,
    /// The discover report, when the server answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
}

/// What one target's result means for the scan's exit code. Ordered: the worst of all targets
/// decides (a failed target, then drift, then another error-severity finding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Clean,
    /// An error-severity finding that is no baseline's.
    Findings,
    /// A baseline finding at error severity (after the policy).
    Drift,
    /// The target did not answer.
    Failed,
}

impl Verdict {
    /// From whether the target answered and its findings' `(rule, severity)`.
    pub fn of<'a>(success: bool, findings: impl IntoIterator<Item = (&'a str, Severity)>) -> Self {
        if !success {
            return Verdict::Failed;
        }
        findings
            .into_iter()
            .filter(|(_, severity)| *severity == Severity::Error)
            .map(|(rule, _)| match super::baseline::is_drift_rule(rule) {
                true => Verdict::Drift,
                false => Verdict::Findings,
            })
            .max()
            .unwrap_or(Verdict::Clean)
    }
}

impl TargetResult {
    pub fn verdict(&self) -> Verdict {
        let findings = self.report.iter().flat_map(|r| &r.findings);
        Verdict::of(
            self.outcome.is_success(),
            findings.map(|f| (f.rule.as_str(), f.severity)),
        )
    }
}

/// The last lines of a log, at most `n`.
pub fn last_lines(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_get_their_kind() {
        let failed = |kind| DiscoverError::Failed {
            message: "m".into(),
            kind,
            log_tail: String::new(),
        };
        assert_eq!(
            Outcome::of_error(&failed(FailureKind::Timeout)),
            Outcome::Timeout
        );
        assert_eq!(
            Outcome::of_error(&failed(FailureKind::NotServing)),
            Outcome::StartFailed
        );
        assert_eq!(
            Outcome::of_error(&failed(FailureKind::Protocol)),
            Outcome::ProtocolError
        );
        assert_eq!(
            Outcome::of_error(&DiscoverError::Interrupted),
            Outcome::Interrupted
        );
        let pod = |reason: &str| {
            DiscoverError::Runtime(RuntimeError::Kubernetes(KubeError::Pod {
                image: "i".into(),
                reason: reason.into(),
                message: String::new(),
                pod: "p".into(),
            }))
        };
        assert_eq!(Outcome::of_error(&pod("ErrImagePull")), Outcome::ImageError);
        assert_eq!(
            Outcome::of_error(&pod("InvalidImageName")),
            Outcome::ImageError
        );
        assert_eq!(
            Outcome::of_error(&pod("CrashLoopBackOff")),
            Outcome::StartFailed
        );
        assert_eq!(last_lines("a\nb\n\nc\n", 2), "b\nc");
    }

    #[test]
    fn verdicts_rank_failure_over_drift_over_findings() {
        let e = Severity::Error;
        assert_eq!(Verdict::of(true, []), Verdict::Clean);
        assert_eq!(
            Verdict::of(true, [("baseline-tool-added", Severity::Warning)]),
            Verdict::Clean
        );
        assert_eq!(
            Verdict::of(true, [("prompt-injection", e)]),
            Verdict::Findings
        );
        let both = [("prompt-injection", e), ("baseline-tool-changed", e)];
        assert_eq!(Verdict::of(true, both), Verdict::Drift);
        assert_eq!(Verdict::of(false, both), Verdict::Failed);
        assert!(Verdict::Failed > Verdict::Drift && Verdict::Drift > Verdict::Findings);
    }
}
