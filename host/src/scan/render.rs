//! A scan's results drawn at its end: the summary table and the SARIF log.

use super::summary::Summary;
use crate::model::{Finding, Severity};
use crate::terminal::{one_line, safe};
use std::path::Path;

/// The SARIF log of a scan: findings per target, and each failure as an error finding.
pub fn sarif(catalog: &Path, results: Vec<Summary>) -> String {
    let subjects: Vec<crate::sarif::Subject> = results
        .into_iter()
        .map(|r| {
            let mut findings = r.findings;
            if !r.outcome.is_success() {
                findings.push(Finding {
                    tool: None,
                    rule: format!("scan-{}", r.outcome.as_str().replace('_', "-")),
                    severity: Severity::Error,
                    message: r.error.unwrap_or_default(),
                    source: "host".into(),
                });
            }
            crate::sarif::Subject {
                target: r.name,
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
pub fn table(results: &[Summary]) -> String {
    let names: Vec<_> = results.iter().map(|r| safe(&r.name)).collect();
    let width = names
        .iter()
        .map(|name| name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:width$}  {:19}  {:>5}  {:>6}  {:>5}  {:>8}  error\n",
        "name", "outcome", "tools", "errors", "drift", "ms"
    );
    let mut drift_lines = String::new();
    for (r, name) in results.iter().zip(&names) {
        // A table summary keeps the drift findings only (summary::Keep::Drift).
        drift_lines.push_str(&crate::report::finding_lines(&r.findings));
        let drift = r.findings.len();
        let (tools, errors) = (r.tools, r.error_findings);
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
