//! Every list is bounded: prompts and resources cost about their text (peak RSS within 10x the
//! replies), and one byte budget over all pages of all lists of a discovery
//! (`--max-discovery-bytes`) ends an endless or huge list with one line and exit 1.

use crate::support::{example_server_bin, probe_bin, run_measured};
use std::process::{Command, Output};

/// `discover -o json [PROBE_ARGS] -- example-server SERVER_ARGS`: its output and peak RSS in
/// bytes. The deadlines are generous: a debug build on two busy cores reads 10^6 entries
/// slowly, and an optional list that times out is only a warning.
fn discover(probe_args: &[&str], server_args: &[&str]) -> (Output, u64) {
    let mut command = Command::new(probe_bin());
    command
        .args(["discover", "-o", "json", "--timeout", "600"])
        .args(["--request-timeout", "600"])
        .args(probe_args)
        .arg("--")
        .arg(example_server_bin())
        .args(server_args);
    run_measured(command)
}

/// Exit 1, no report, and one `mcp-probe: error:` line naming `method` and the budget.
fn assert_over_budget(out: &Output, method: &str, budget: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "a report was printed");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with(&format!("mcp-probe: error: {method}: "))
            && stderr.contains(&format!("discovery budget of {budget}"))
            && stderr.contains("--max-discovery-bytes"),
        "names {method} and {budget}: {stderr}"
    );
}

/// The JSON text of a report's list, the lower bound of the replies' size that carried it.
fn list_bytes(report: &serde_json::Value, key: &str) -> usize {
    report[key].to_string().len()
}

/// 10^6 prompts in pages of 10 000 (about 25 MB of replies): all of them, within 10x their
/// replies' size.
#[test]
fn a_million_prompts_cost_about_their_text() {
    let (out, peak) = discover(&[], &["--prompts", "1000000", "--page-size", "10000"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let prompts = report["prompts"].as_array().map(Vec::len);
    assert_eq!(prompts, Some(1_000_000), "{}", report["findings"]);
    assert_eq!(report["prompts"][999_999]["name"], "prompt_999999");
    let replies = list_bytes(&report, "prompts");
    eprintln!("prompts: {replies} bytes of replies, peak RSS {peak}");
    assert!(
        peak <= 10 * replies as u64,
        "peak RSS {peak} over 10x the {replies} bytes of replies"
    );
}

/// 500 000 resources in pages of 10 000 (about 27 MB of replies), and the templates: all of
/// them, as sent, within 10x their replies' size.
#[test]
fn many_resources_cost_about_their_text() {
    let (out, peak) = discover(&[], &["--resources", "500000", "--page-size", "10000"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let resources = report["resources"].as_array().map(Vec::len);
    assert_eq!(resources, Some(500_000), "{}", report["findings"]);
    assert_eq!(
        report["resource_templates"].as_array().map(Vec::len),
        Some(1)
    );
    // Entries are printed as the server sent them.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(r#"{"name":"record_7","uri":"inventory://records/7"}"#),
        "entries keep their text"
    );
    let replies = list_bytes(&report, "resources");
    eprintln!("resources: {replies} bytes of replies, peak RSS {peak}");
    assert!(
        peak <= 10 * replies as u64,
        "peak RSS {peak} over 10x the {replies} bytes of replies"
    );
}

/// Endless pages of 200 KB end at the default budget of 64 MiB, well before the page cap,
/// within 10x the budget; endless pages of many small prompts likewise end at a budget.
#[test]
fn endless_pages_end_at_the_budget() {
    let endless = [
        "--page-size",
        "1",
        "--endless-pages",
        "--page-padding",
        "200000",
    ];
    let (out, peak) = discover(&[], &endless);
    assert_over_budget(&out, "tools/list", "64 MiB");
    eprintln!("endless pages: peak RSS {peak}");
    assert!(peak <= 10 * (64 << 20), "peak RSS {peak}");
    // No tools (that list ends), then endless pages of 10 000 prompts each.
    let (out, peak) = discover(
        &["--max-discovery-bytes", "8388608"],
        &[
            "--tools",
            "0",
            "--prompts",
            "10000",
            "--page-size",
            "10000",
            "--endless-pages",
        ],
    );
    assert_over_budget(&out, "prompts/list", "8 MiB");
    assert!(peak <= 10 * (8 << 20), "peak RSS {peak}");
}

/// A budget of its own holds for every list, whichever is the one that passes it.
#[test]
fn the_budget_ends_whichever_list_passes_it() {
    let budget = ["--max-discovery-bytes", "1048576"];
    // Tools, in one page or many.
    for page in ["0", "100"] {
        let (out, peak) = discover(&budget, &["--tools", "20000", "--page-size", page]);
        assert_over_budget(&out, "tools/list", "1 MiB");
        assert!(peak < 200 << 20, "peak RSS {peak}");
    }
    // Prompts and resources: optional lists, but past the budget the run fails all the same.
    let (out, _) = discover(&budget, &["--prompts", "100000", "--page-size", "5000"]);
    assert_over_budget(&out, "prompts/list", "1 MiB");
    let (out, _) = discover(&budget, &["--resources", "50000"]);
    assert_over_budget(&out, "resources/list", "1 MiB");
    // Endless pages of prompts: the tools are endless too, and pass it first.
    let (out, _) = discover(
        &["--max-discovery-bytes", "100000"],
        &["--prompts", "--page-size", "1", "--endless-pages"],
    );
    assert_over_budget(&out, "tools/list", "100000 bytes");
}

/// The budget counts all pages of all lists together: each list alone fits, both do not.
#[test]
fn the_budget_is_one_for_the_whole_discovery() {
    // About 0.9 MB of tools and 0.7 MB of prompts (pages of 1 000 entries).
    let tools = ["--tools", "5000", "--page-size", "1000"];
    let prompts = ["--prompts", "30000", "--page-size", "1000"];
    let budget = ["--max-discovery-bytes", "1200000"];
    let (out, _) = discover(&budget, &tools);
    assert_eq!(out.status.code(), Some(0), "tools alone fit");
    let (out, _) = discover(
        &budget,
        &["--tools", "1", "--prompts", "30000", "--page-size", "1000"],
    );
    assert_eq!(out.status.code(), Some(0), "prompts alone fit");
    let (out, _) = discover(&budget, &[&tools[..], &prompts[..2]].concat());
    assert_over_budget(&out, "prompts/list", "1200000 bytes");
}

/// The flag takes a positive number of bytes; anything else is bad input (exit 2).
#[test]
fn a_bad_budget_is_bad_input() {
    for bad in ["0", "-1", "64MiB", "", "1e6"] {
        let flag = format!("--max-discovery-bytes={bad}");
        let (out, _) = discover(&[&flag], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains("--max-discovery-bytes"), "{stderr}");
    }
}
