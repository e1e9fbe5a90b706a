//! `scan` keeps the list bounds of `discover`: a target past `--max-discovery-bytes` or with a
//! list not complete is a `protocol_error` naming it (the others are unharmed), and four
//! servers of 300 000 prompts each, side by side, stay within 10x their replies.

use crate::support::{self, run_measured};
use serde_json::{json, Value};
use std::process::Command;

fn scan(catalog: &std::path::Path, flags: &[&str]) -> (std::process::Output, u64) {
    let mut command = Command::new(support::probe_bin());
    command
        .arg("scan")
        .arg(catalog)
        .arg("--no-cache")
        .args(flags);
    run_measured(command)
}

/// The JSON lines of a scan, in catalog order.
fn lines(stdout: &[u8]) -> Vec<Value> {
    let mut lines: Vec<Value> = String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    lines.sort_by_key(|l| l["index"].as_u64());
    lines
}

fn catalog(dir: &tempfile::TempDir, targets: Vec<Value>) -> std::path::PathBuf {
    support::write_catalog(dir.path(), &targets)
}

#[test]
fn a_target_past_the_budget_or_not_complete_is_a_protocol_error() {
    let example = support::example_server_bin().display().to_string();
    let targets = vec![
        json!({"name": "small", "command": [&example, "--tools", "3", "--prompts"]}),
        json!({"name": "huge", "command": [&example, "--prompts", "100000"]}),
        json!({"name": "asks", "command": [&example, "--prompts",
            "--result-type", "prompts/list=\"input_required\""]}),
        json!({"name": "endless", "command": [&example, "--endless-pages",
            "--page-padding", "100000"]}),
    ];
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(&dir, targets);
    let (out, _) = scan(&catalog, &["-j", "4", "--max-discovery-bytes", "1048576"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines = lines(&out.stdout);
    assert_eq!(lines.len(), 4, "{stderr}");
    assert_eq!(lines[0]["outcome"], "ok", "{}", lines[0]);
    assert_eq!(
        lines[0]["report"]["prompts"].as_array().map(Vec::len),
        Some(2)
    );
    for (line, method, what) in [
        (&lines[1], "prompts/list", "discovery budget of 1 MiB"),
        (&lines[2], "prompts/list", r#"resultType "input_required""#),
        (&lines[3], "tools/list", "discovery budget of 1 MiB"),
    ] {
        let error = line["error"].as_str().unwrap_or_default();
        assert_eq!(line["outcome"], "protocol_error", "{line}");
        assert!(
            error.starts_with(&format!("{method}: ")) && error.contains(what),
            "{line}"
        );
        assert!(line.get("report").is_none(), "{line}");
    }
}

#[test]
fn four_servers_of_300k_prompts_side_by_side_stay_within_10x_their_replies() {
    let example = support::example_server_bin().display().to_string();
    let targets = (0..4)
        .map(|i| {
            json!({"name": format!("prompts-{i}"),
                "command": [&example, "--prompts", "300000", "--page-size", "10000"]})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(&dir, targets);
    // Generous deadlines: a debug build on two busy cores reads 1.2 million entries slowly.
    let flags = ["-j", "4", "--timeout", "600", "--request-timeout", "600"];
    let (out, peak) = scan(&catalog, &flags);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines = lines(&out.stdout);
    let replies: usize = lines
        .iter()
        .map(|line| {
            assert_eq!(line["outcome"], "ok", "{}", line["error"]);
            let prompts = &line["report"]["prompts"];
            assert_eq!(prompts.as_array().map(Vec::len), Some(300_000));
            prompts.to_string().len()
        })
        .sum();
    eprintln!("scan -j 4: {replies} bytes of prompts, peak RSS {peak}");
    assert!(
        peak <= 10 * replies as u64,
        "peak RSS {peak} over 10x the {replies} bytes of replies"
    );
}
