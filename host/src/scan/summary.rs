//! What a scan keeps of each finished target: only what its end needs, so that its memory does
//! not grow with the report sizes of 100 000 targets. JSON Lines keep nothing per target (each
//! line is written as it arrives; the worst verdict is a running maximum); the table and SARIF
//! keep a [`Summary`] per target, without the tools.

use super::baseline::is_drift_rule;
use super::outcome::{Outcome, TargetResult, Verdict};
use crate::model::{Finding, Severity};

/// One finished target as the table or the SARIF log draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub index: usize,
    pub name: String,
    pub outcome: Outcome,
    pub cached: bool,
    pub duration_ms: u64,
    pub error: Option<String>,
    /// How many tools it listed, and how many of its findings are errors.
    pub tools: usize,
    pub error_findings: usize,
    /// The findings the output draws: the drift ones for the table, all for SARIF.
    pub findings: Vec<Finding>,
}

/// Which findings a [`Summary`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Nothing per target: the results were written as they came (JSON Lines).
    Nothing,
    /// The baseline (drift) findings: the table lists those under its rows.
    Drift,
    /// Every finding (SARIF).
    AllFindings,
}

impl Summary {
    pub fn of(result: &TargetResult, keep: Keep) -> Summary {
        let findings = result.report.iter().flat_map(|r| &r.findings);
        let error_findings = findings
            .clone()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let mut kept: Vec<Finding> = findings
            .filter(|f| match keep {
                Keep::Nothing => false,
                Keep::Drift => is_drift_rule(&f.rule),
                Keep::AllFindings => true,
            })
            .cloned()
            .collect();
        // Held to the end of the scan: no growth slack per target.
        kept.shrink_to_fit();
        Summary {
            index: result.index,
            name: result.name.clone(),
            outcome: result.outcome,
            cached: result.cached,
            duration_ms: result.duration_ms,
            error: result.error.clone(),
            tools: result.report.as_ref().map_or(0, |r| r.tools.len()),
            error_findings,
            findings: kept,
        }
    }
}

/// The scan's results as its end needs them: the worst verdict, and a summary per target
/// unless `keep` is [`Keep::Nothing`].
#[derive(Debug)]
pub struct Tally {
    keep: Keep,
    worst: Verdict,
    summaries: Vec<Summary>,
}

impl Tally {
    pub fn new(keep: Keep) -> Tally {
        Tally {
            keep,
            worst: Verdict::Clean,
            summaries: Vec::new(),
        }
    }

    pub fn add(&mut self, result: &TargetResult) {
        self.worst = self.worst.max(result.verdict());
        if self.keep != Keep::Nothing {
            self.summaries.push(Summary::of(result, self.keep));
        }
    }

    /// The worst verdict of every target added (the scan's exit code).
    pub fn worst(&self) -> Verdict {
        self.worst
    }

    /// The summaries in catalog order.
    pub fn into_summaries(mut self) -> Vec<Summary> {
        self.summaries.sort_by_key(|s| s.index);
        self.summaries
    }
}
