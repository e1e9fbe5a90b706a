//! Findings as SARIF 2.1.0 (what GitHub code scanning reads): one run, a rule per rule id,
//! results with stable `partialFingerprints` (target + tool + rule) and locations pointing at
//! the line that names the target (a catalog entry) or the tool (a tool list), so that findings
//! show on the pull request that changed it.

use crate::model::{Finding, Severity};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Findings about one subject: a catalog target, or a tool list as a whole.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The catalog target's name; empty for a single tool list.
    pub target: String,
    pub findings: Vec<Finding>,
}

/// The SARIF log for `subjects`, read from `artifact` (a path relative to the repository root,
/// as code scanning expects) whose text is `text` (to find the lines that name things).
pub fn log(artifact: &str, text: &str, subjects: &[Subject]) -> Value {
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    for subject in subjects {
        for finding in &subject.findings {
            let next = rules.len();
            rules.entry(finding.rule.clone()).or_insert(next);
        }
    }
    // Rules in order of first appearance: results point at them by index.
    let mut ordered: Vec<(&String, &usize)> = rules.iter().collect();
    ordered.sort_by_key(|(_, index)| **index);
    let rule_list: Vec<Value> = ordered
        .iter()
        .map(|(id, _)| json!({"id": id, "shortDescription": {"text": id.replace('-', " ")}}))
        .collect();
    let mut results = Vec::new();
    for subject in subjects {
        for finding in &subject.findings {
            results.push(result(
                artifact,
                text,
                subject,
                finding,
                rules[&finding.rule],
            ));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mcp-probe",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/mcp-probe/mcp-probe",
                "rules": rule_list,
            }},
            "results": results,
        }],
    })
}

fn result(artifact: &str, text: &str, subject: &Subject, f: &Finding, rule_index: usize) -> Value {
    let tool = f.tool.as_deref().unwrap_or("");
    // The line naming the tool, else the line naming the target, else the first.
    let line = [tool, subject.target.as_str()]
        .iter()
        .filter(|name| !name.is_empty())
        .find_map(|name| line_naming(text, name))
        .unwrap_or(1);
    let qualified = match (subject.target.as_str(), tool) {
        ("", tool) => tool.to_owned(),
        (target, "") => target.to_owned(),
        (target, tool) => format!("{target}/{tool}"),
    };
    let mut location = json!({"physicalLocation": {
        "artifactLocation": {"uri": artifact},
        "region": {"startLine": line},
    }});
    if !qualified.is_empty() {
        location["logicalLocations"] = json!([{"fullyQualifiedName": qualified, "kind": "member"}]);
    }
    let fingerprint = Sha256::digest(format!("{}\0{tool}\0{}", subject.target, f.rule));
    json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        },
        "message": {"text": match tool {
            "" => f.message.clone(),
            tool => format!("{tool}: {}", f.message),
        }},
        "locations": [location],
        "partialFingerprints": {"mcpProbe/v1": hex::encode(fingerprint)},
        "properties": {"source": f.source},
    })
}

/// The 1-based line where `name` first appears as a quoted or bare value of a `name` key.
fn line_naming(text: &str, name: &str) -> Option<usize> {
    let quoted = [format!("\"{name}\""), format!("'{name}'")];
    text.lines()
        .position(|line| {
            let Some(at) = line.find("name") else {
                return false;
            };
            let rest = &line[at..];
            quoted.iter().any(|q| rest.contains(q.as_str()))
                || rest
                    .split([',', '}', '#'])
                    .next()
                    .and_then(|kv| kv.split_once(':'))
                    .is_some_and(|(_, v)| v.trim() == name)
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(tool: Option<&str>, rule: &str, severity: Severity) -> Finding {
        Finding {
            tool: tool.map(str::to_owned),
            rule: rule.into(),
            severity,
            message: "m".into(),
            source: "test".into(),
        }
    }

    #[test]
    fn results_point_at_the_naming_line_with_stable_fingerprints() {
        let catalog = "targets:\n  - name: fs\n    image: x\n  - {name: api, url: 'http://h'}\n";
        let subjects = [
            Subject {
                target: "fs".into(),
                findings: vec![finding(Some("t"), "r1", Severity::Error)],
            },
            Subject {
                target: "api".into(),
                findings: vec![
                    finding(None, "r2", Severity::Warning),
                    finding(Some("u"), "r1", Severity::Info),
                ],
            },
        ];
        let log = log("catalog.yaml", catalog, &subjects);
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 2);
        let results = run["results"].as_array().unwrap();
        let line = |r: &Value| r["locations"][0]["physicalLocation"]["region"]["startLine"].clone();
        assert_eq!((line(&results[0]), line(&results[1])), (json!(2), json!(4)));
        assert_eq!(results[2]["level"], "note");
        assert_eq!(results[2]["ruleIndex"], 0);
        assert_eq!(
            results[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "fs/t"
        );
        let again = super::log("catalog.yaml", catalog, &subjects);
        assert_eq!(again, log, "the same input gives the same fingerprints");
        assert_ne!(
            results[0]["partialFingerprints"], results[2]["partialFingerprints"],
            "target and tool are part of the fingerprint"
        );
    }
}
