//! A scan's results drawn at its end: the summary table and the SARIF log.

use super::baseline::is_drift_rule;
use super::TargetResult;
use crate::model::{Finding, Severity};
use crate::terminal::{one_line, safe};
use std::path::Path;

/// The SARIF log of a scan: findings per target, and each failure as an error finding.
pub fn sarif(catalog: &Path, results: &[TargetResult]) -> String {
    let subjects: Vec<crate::sarif::Subject> = results
        .iter()
        .map(|r| {
            let mut findings = r
                .report
                .as_ref()
                .map(|rep| rep.findings.clone())
                .unwrap_or_default();
            if !r.outcome.is_success() {
                findings.push(Finding {
                    tool: None,
                    rule: format!("scan-{}", r.outcome.as_str().replace('_', "-")),
                    severity: Severity::Error,
                    message: r.error.clone().unwrap_or_default(),
                    source: "host".into(),
                });
            }
            crate::sarif::Subject {
                target: r.name.clone(),
                findings,
            }
        })
        .collect();
    let text = crate::input_file::read_to_string(catalog, crate::input_file::Kind::Catalog)
        .unwrap_or_default();
    let artifact = catalog.display().to_string();
    let mut out = crate::sarif::log(&artifact, &text, &subjects).to_string();
    out.push('\n');
    out
}

/// One row per target, in catalog order; then each baseline finding (drift), one a line. Names
/// and errors are escaped for the terminal ([`crate::terminal`]).
pub fn table(results: &[TargetResult]) -> String {
    let names: Vec<_> = results.iter().map(|r| safe(&r.name)).collect();
    let width = names
        .iter()
        .map(|name| name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let drift_of = |r: &TargetResult| -> Vec<crate::model::Finding> {
        let findings = r.report.iter().flat_map(|rep| &rep.findings);
        findings
            .filter(|f| is_drift_rule(&f.rule))
            .cloned()
            .collect()
    };
    let mut out = format!(
        "{:width$}  {:19}  {:>5}  {:>6}  {:>5}  {:>8}  error\n",
        "name", "outcome", "tools", "errors", "drift", "ms"
    );
    let mut drift_lines = String::new();
    for (r, name) in results.iter().zip(&names) {
        let drift = drift_of(r);
        drift_lines.push_str(&crate::report::finding_lines(&drift));
        let drift = drift.len();
        let tools = r.report.as_ref().map_or(0, |rep| rep.tools.len());
        let errors = r.report.as_ref().map_or(0, |rep| {
            rep.findings
                .iter()
                .filter(|f| f.severity == crate::model::Severity::Error)
                .count()
        });
        let error: String = r.error.as_deref().unwrap_or("").chars().take(100).collect();
        let error = one_line(&error);
        let outcome = match r.cached {
            true => format!("{} (cached)", r.outcome.as_str()),
            false => r.outcome.as_str().to_owned(),
        };
        out.push_str(&format!(
            "{name:width$}  {outcome:19}  {tools:>5}  {errors:>6}  {drift:>5}  {:>8}  {error}\n",
            r.duration_ms
        ));
    }
    if !drift_lines.is_empty() {
        out.push_str("\nsince the baseline:\n");
        out.push_str(&drift_lines);
    }
    out
}
