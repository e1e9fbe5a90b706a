//! The default pipeline shows the tools as the server sent them: whitespace, missing
//! descriptions and schemas stay as they are (the validator judges them), and lock says its
//! hashes cover the text as sent; a pipeline that asks the normalizer to rewrite gets that.

use crate::support::{stdout_json, Workdir};
use serde_json::{json, Value};

const SENT: &str = r#"{"tools":[
  {"name":"read_file","description":"Reads a file.\n\n  Returns its text.  \n","inputSchema":{"type":"object"}},
  {"name":" spaced ","title":" ","description":"\td"},
  {"name":"bare"}
]}"#;

fn rules_of(report: &Value, tool: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["tool"] == tool)
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn by_default_tools_are_reported_and_pinned_as_sent() {
    let dir = Workdir::new();
    let file = dir.write("tools.json", SENT).display().to_string();
    let out = dir.run(&["validate", &file, "-o", "json"]);
    let report = stdout_json(&out);
    let sent: Value = serde_json::from_str(SENT).unwrap();
    assert_eq!(
        report["tools"], sent["tools"],
        "verbatim, none filled or dropped"
    );
    // What a normalizer used to paper over, the validator now says.
    assert!(rules_of(&report, "bare").contains(&"input-schema-missing".to_owned()));
    assert!(rules_of(&report, "bare").contains(&"description-required".to_owned()));
    assert!(
        !report.to_string().contains("whitespace-trimmed"),
        "{report}"
    );

    let (doc, lock) = dir.lock(&file, &[]);
    assert_eq!(doc["covers"], "as-sent");
    assert_eq!(doc["pins"].as_object().unwrap().len(), 3);
    let out = dir.run(&["validate", &file, "--lock", &lock, "-o", "json"]);
    let report = stdout_json(&out);
    let pin_findings = report["findings"].as_array().unwrap().iter();
    let pin_findings: Vec<&Value> = pin_findings
        .filter(|f| f["rule"].as_str().unwrap().starts_with("pin"))
        .collect();
    assert!(pin_findings.is_empty(), "{pin_findings:?}");
}

#[test]
fn a_pipeline_that_asks_for_rewriting_gets_it_and_lock_says_so() {
    let dir = Workdir::new();
    let file = dir.write("tools.json", SENT).display().to_string();
    let pipeline = dir.write(
        "pipeline.toml",
        "[[stage]]\nplugin = \"builtin:normalize\"\nconfig = { rewrite = true }\n\n[[stage]]\nplugin = \"builtin:validate\"\n",
    );
    let pipeline = pipeline.display().to_string();
    let out = dir.run(&["validate", &file, "--pipeline", &pipeline, "-o", "json"]);
    let report = stdout_json(&out);
    assert_eq!(
        report["tools"][0]["description"],
        json!("Reads a file.\n\n  Returns its text.")
    );
    assert_eq!(report["tools"][1]["name"], "spaced");
    assert!(rules_of(&report, "spaced").contains(&"whitespace-trimmed".to_owned()));
    let (doc, _) = dir.lock(&file, &["--pipeline", &pipeline]);
    assert_eq!(doc["covers"], "normalized");
}
