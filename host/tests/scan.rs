//! `mcp-probe scan`: a catalog mixing good, failing and hanging local servers ends with a line
//! and the right outcome for each, bounded by the slowest batch, nothing left running; Ctrl-C
//! mid-scan exits 130 with only complete lines written; a bad catalog is bad input.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn python_fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    path.display().to_string()
}

/// Processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) {
            found.push(cmdline);
        }
    }
    found
}

/// The JSON lines of a scan, by catalog index; each line must be whole JSON.
fn lines_by_index(text: &str) -> Vec<Value> {
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    lines.sort_by_key(|l| l["index"].as_u64().unwrap());
    lines
}

fn scan(catalog: &Path, flags: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(support::probe_bin())
        .arg("scan")
        .arg(catalog)
        .args(flags)
        .output()
        .expect("run mcp-probe");
    (out, started.elapsed())
}

#[test]
fn fifty_targets_each_get_their_outcome_within_the_slowest_batch() {
    if support::require_program("python3").is_none() {
        return;
    }
    let example = support::example_server_bin().display().to_string();
    let era = python_fixture("era_server.py");
    let port = support::free_port();
    let mut targets = Vec::new();
    let mut expected = Vec::new();
    for i in 1..=20 {
        targets.push(serde_json::json!({"name": format!("good-{i}"),
            "command": [&example, "--tools", i.to_string()]}));
        expected.push(("ok", i));
    }
    for i in 0..5 {
        targets.push(serde_json::json!({"name": format!("empty-{i}"),
            "command": [&example, "--tools", "0"]}));
        expected.push(("empty", 0));
        targets.push(serde_json::json!({"name": format!("crash-{i}"),
            "command": ["sh", "-c", "echo dying >&2; exit 3"]}));
        expected.push(("start_failed", 0));
        targets.push(serde_json::json!({"name": format!("missing-{i}"),
            "command": [format!("/nonexistent/server-{i}")]}));
        expected.push(("start_failed", 0));
    }
    for i in 0..8 {
        targets.push(serde_json::json!({"name": format!("hang-{i}"),
            "command": ["sleep", "4321.5"]}));
        expected.push(("timeout", 0));
    }
    for i in 0..4 {
        targets.push(serde_json::json!({"name": format!("wrong-{i}"),
            "command": ["python3", &era, "no-mutual"]}));
        expected.push(("protocol_error", 0));
    }
    for i in 0..3 {
        targets.push(serde_json::json!({"name": format!("url-{i}"),
            "url": format!("http://127.0.0.1:{port}/mcp")}));
        expected.push(("start_failed", 0));
    }
    assert_eq!(targets.len(), 50);
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.json");
    std::fs::write(
        &catalog,
        serde_json::json!({"targets": targets}).to_string(),
    )
    .unwrap();
    let (out, took) = scan(&catalog, &["-j", "8", "--timeout", "3"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A target failed: exit 1, and nothing else on stderr (no progress bar off a terminal).
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let lines = lines_by_index(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines.len(), 50, "a line per target");
    for (i, (line, (outcome, tools))) in lines.iter().zip(&expected).enumerate() {
        assert_eq!(line["index"], i, "{line}");
        assert_eq!(line["name"], targets[i]["name"], "{line}");
        assert_eq!(line["outcome"], *outcome, "{line}");
        if *outcome == "ok" || *outcome == "empty" {
            assert_eq!(
                line["report"]["tools"].as_array().unwrap().len(),
                *tools,
                "{line}"
            );
            assert!(line.get("error").is_none(), "{line}");
        } else {
            assert!(
                line["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{line}"
            );
            assert!(line.get("report").is_none(), "{line}");
        }
    }
    // The server's stderr comes with its failure.
    assert_eq!(lines[21]["name"], "crash-0");
    assert_eq!(lines[21]["log_tail"], "dying", "{}", lines[21]);
    // The eight 3 s timeouts ran side by side: one batch, not 24 s in a row.
    assert!(took < Duration::from_secs(12), "took {took:?}");
    assert!(processes_with("4321.5").is_empty(), "servers left running");
}

#[test]
fn an_interrupted_scan_exits_130_with_complete_lines_and_no_servers() {
    let example = support::example_server_bin().display().to_string();
    let mut targets = Vec::new();
    for i in 0..3 {
        targets.push(serde_json::json!({"name": format!("good-{i}"), "command": [&example]}));
    }
    for i in 0..10 {
        targets
            .push(serde_json::json!({"name": format!("hang-{i}"), "command": ["sleep", "5432.5"]}));
    }
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.yaml");
    let yaml = format!("targets: {}\n", serde_json::json!(targets));
    std::fs::write(&catalog, yaml).unwrap();
    let output = dir.path().join("out.jsonl");
    let child = Command::new(support::probe_bin())
        .arg("scan")
        .arg(&catalog)
        .args(["-j", "4", "--timeout", "60", "--output-file"])
        .arg(&output)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The good ones finish; hanging ones fill every slot.
    let waited = Instant::now();
    while processes_with("5432.5").len() < 4 && waited.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let signalled = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(stderr.trim(), "mcp-probe: error: interrupted");
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
    let text = std::fs::read_to_string(&output).expect("the lines so far are kept");
    assert!(text.ends_with('\n'), "only whole lines");
    let lines = lines_by_index(&text);
    let goods = lines.iter().filter(|l| l["outcome"] == "ok").count();
    assert_eq!(goods, 3, "{text}");
    assert!(
        lines
            .iter()
            .all(|l| l["outcome"] == "ok" || l["outcome"] == "interrupted"),
        "{text}"
    );
    assert!(processes_with("5432.5").is_empty(), "servers left running");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
}

#[test]
fn a_bad_catalog_is_bad_input_naming_the_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("c.yaml");
    std::fs::write(
        &catalog,
        "targets:\n  - name: a\n    command: [x]\n    evn: {A: b}\n",
    )
    .unwrap();
    let (out, _) = scan(&catalog, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("c.yaml") && stderr.contains("evn") && stderr.contains('4'),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    let (out, _) = scan(&dir.path().join("missing.yaml"), &[]);
    assert_eq!(out.status.code(), Some(2));
}

/// What a line says about its target, without timings.
fn essence(line: &Value) -> (u64, String, String, Vec<String>) {
    let tools = line["report"]["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (
        line["index"].as_u64().unwrap(),
        line["name"].as_str().unwrap().to_owned(),
        line["outcome"].as_str().unwrap().to_owned(),
        tools,
    )
}

#[test]
fn four_shards_merged_equal_one_unsharded_run() {
    let example = support::example_server_bin().display().to_string();
    let targets: Vec<Value> = (0..40)
        .map(|i| match i % 10 {
            7 => serde_json::json!({"name": format!("t{i}"), "command": ["/nonexistent/srv"]}),
            _ => serde_json::json!({"name": format!("t{i}"),
                "command": [&example, "--tools", (i % 6).to_string()]}),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.json");
    std::fs::write(
        &catalog,
        serde_json::json!({"targets": targets}).to_string(),
    )
    .unwrap();
    let (whole, _) = scan(&catalog, &[]);
    assert_eq!(whole.status.code(), Some(1), "t7, t17, … fail");
    let whole = lines_by_index(&String::from_utf8_lossy(&whole.stdout));
    let mut shard_files = Vec::new();
    for k in 0..4 {
        let out = Command::new(support::probe_bin())
            .arg("scan")
            .arg(&catalog)
            .env("JOB_COMPLETION_INDEX", k.to_string())
            .env("MCP_PROBE_SHARDS", "4")
            .output()
            .unwrap();
        let lines = lines_by_index(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(lines.len(), 10, "shard {k}");
        assert!(
            lines.iter().all(|l| l["index"].as_u64().unwrap() % 4 == k),
            "shard {k}"
        );
        let file = dir.path().join(format!("shard-{k}.jsonl"));
        std::fs::write(&file, &out.stdout).unwrap();
        shard_files.push(file);
    }
    let merged = Command::new(support::probe_bin())
        .args(["scan", "merge"])
        .args(&shard_files)
        .output()
        .unwrap();
    assert_eq!(
        merged.status.code(),
        Some(1),
        "the merged result has the failures too"
    );
    let text = String::from_utf8_lossy(&merged.stdout);
    let merged: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let order: Vec<u64> = merged
        .iter()
        .map(|l| l["index"].as_u64().unwrap())
        .collect();
    assert_eq!(order, (0..40).collect::<Vec<u64>>(), "catalog order");
    let merged: Vec<_> = merged.iter().map(essence).collect();
    let whole: Vec<_> = whole.iter().map(essence).collect();
    assert_eq!(merged, whole);
    // A shard missing, or given twice: refused, naming what is wrong.
    let out = Command::new(support::probe_bin())
        .args(["scan", "merge"])
        .args(&shard_files[..3])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("are missing"));
    let out = Command::new(support::probe_bin())
        .args(["scan", "merge"])
        .args(&shard_files)
        .arg(&shard_files[0])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("appears twice"));
}

/// The official SARIF 2.1.0 schema, from the npm package that ships it (tests/install-deps.sh).
fn sarif_schema() -> Option<jsonschema::Validator> {
    let path = support::require_path(
        support::deps_dir().join("node_modules/@microsoft/sarif-multitool-linux/sarif-2.1.0.json"),
        "the SARIF 2.1.0 schema (@microsoft/sarif-multitool-linux)",
    )?;
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Some(jsonschema::validator_for(&schema).expect("the SARIF schema compiles"))
}

fn assert_valid_sarif(schema: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = schema
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "not valid SARIF 2.1.0: {errors:?}");
}

#[test]
fn scan_and_validate_write_valid_sarif_located_at_their_entries() {
    let Some(schema) = sarif_schema() else {
        return;
    };
    let example = support::example_server_bin().display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.yaml");
    let yaml = format!(
        "targets:\n  - name: good\n    command: [{example:?}]\n  - name: gone\n    command: [/nonexistent/x]\n"
    );
    std::fs::write(&catalog, yaml).unwrap();
    let (out, _) = scan(&catalog, &["-o", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one SARIF document");
    assert_valid_sarif(&schema, &doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let failure = results
        .iter()
        .find(|r| r["ruleId"] == "scan-start-failed")
        .expect("the failed target");
    assert_eq!(failure["level"], "error");
    assert_eq!(
        failure["locations"][0]["physicalLocation"]["region"]["startLine"], 4,
        "the `gone` entry"
    );
    let finding = results
        .iter()
        .find(|r| r["ruleId"] == "annotations-missing")
        .expect("a finding");
    assert_eq!(
        finding["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "good/search_files"
    );
    assert_eq!(
        finding["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    // Stable: a second run fingerprints every result the same.
    let (again, _) = scan(&catalog, &["-o", "sarif"]);
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    let prints = |d: &Value| -> Vec<Value> {
        d["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"].clone())
            .collect()
    };
    assert_eq!(prints(&doc), prints(&again));
    // The schema is not a rubber stamp.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!schema.is_valid(&broken));

    // validate -o sarif on a saved tool list.
    let tools = dir.path().join("tools.json");
    std::fs::write(
        &tools,
        "{\"tools\": [\n  {\"name\": \"nodesc\", \"inputSchema\": {\"type\": \"object\"}}\n]}\n",
    )
    .unwrap();
    let out = Command::new(support::probe_bin())
        .args(["validate", "-o", "sarif"])
        .arg(&tools)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one SARIF document");
    assert_valid_sarif(&schema, &doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty(), "{doc}");
    assert!(
        results
            .iter()
            .all(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"] == 2),
        "{doc}"
    );
}

/// `completions bash` is a script bash really completes with: `mcp-probe sc<TAB>` gives `scan`.
#[test]
fn bash_completion_completes_commands_and_flags() {
    let bash = require!(support::require_program("bash"));
    let out = Command::new(support::probe_bin())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("mcp-probe.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let complete = |words: &str| {
        // The function `complete -F` registered, called as bash calls it: command, word, previous.
        let line = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; \
             f=$(complete -p mcp-probe); f=${{f#*-F }}; f=${{f%% *}}; \
             $f mcp-probe \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = Command::new(&bash).args(["-c", &line]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        format!("{}{stderr}", String::from_utf8_lossy(&out.stdout))
    };
    let commands = complete("mcp-probe sc");
    assert!(commands.lines().any(|l| l == "scan"), "{commands}");
    let discover = complete("mcp-probe disc");
    assert!(discover.lines().any(|l| l == "discover"), "{discover}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--image-jobs") && text.contains("--protocol-era"),
        "every flag is in it"
    );
    let out = Command::new(support::probe_bin())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Secrets in a catalog (header values, URL credentials) appear in no line, table or SARIF of
/// a scan, whether the target answers or not.
#[test]
fn catalog_secrets_never_reach_the_output() {
    let port = support::free_port();
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("c.json");
    let targets = serde_json::json!({"targets": [
        {"name": "h", "url": format!("http://127.0.0.1:{port}/mcp"),
         "headers": {"Authorization": "Bearer hdr-s3cr3t-value"}},
        {"name": "u", "url": format!("http://user:url-s3cr3t-pass@127.0.0.1:{port}/mcp")},
    ]});
    std::fs::write(&catalog, targets.to_string()).unwrap();
    for format in ["jsonl", "table", "sarif"] {
        let (out, _) = scan(&catalog, &["-o", format, "--timeout", "5"]);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{all}");
        assert!(all.contains("127.0.0.1"), "the targets are reported: {all}");
        for secret in ["hdr-s3cr3t-value", "url-s3cr3t-pass"] {
            assert!(!all.contains(secret), "{format}: {secret} in {all}");
        }
    }
}
