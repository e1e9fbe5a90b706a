//! What a scan holds per finished target, measured by a counting allocator: in JSON Lines
//! mode nothing (the memory after 10 000 results is that after 1 000), for the table a
//! summary far smaller than the result, for SARIF that and the findings it prints. The results are real: the example server's,
//! probed once by the real binary and repeated under new names.

#[macro_use]
#[path = "support/mod.rs"]
mod support;

use mcp_probe::scan::{Keep, Tally, TargetResult, Verdict};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

/// One real scan line of the example server (with `--tools 40`, so the report is large).
fn real_result() -> TargetResult {
    let dir = tempfile::tempdir().unwrap();
    let server = support::example_server_bin();
    let target = serde_json::json!({"name": "x", "command": [server, "--tools", "40"]});
    let catalog = support::write_catalog(dir.path(), &[target]);
    let out = std::process::Command::new(support::probe_bin())
        .args(["scan", "--no-cache"])
        .arg(&catalog)
        .output()
        .unwrap();
    support::assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Adds `n` results (each a fresh copy, dropped after) and returns the bytes still held.
fn add(tally: &mut Tally, template: &TargetResult, from: usize, n: usize) -> isize {
    let before = live();
    for index in from..from + n {
        let mut result = template.clone();
        result.index = index;
        result.name = format!("target-{index:06}");
        tally.add(&result);
    }
    live() - before
}

#[test]
fn a_scan_holds_per_target_only_what_its_end_needs() {
    let template = real_result();
    let result_bytes = serde_json::to_string(&template).unwrap().len() as isize;
    assert!(template.report.as_ref().unwrap().tools.len() == 40);
    assert!(result_bytes > 10_000, "{result_bytes}");

    // JSON Lines: nothing per target, however many.
    let mut tally = Tally::new(Keep::Nothing);
    let first = add(&mut tally, &template, 0, 1_000);
    let more = add(&mut tally, &template, 1_000, 9_000);
    assert!(
        first < 1024 && more < 1024,
        "held {first} then {more} bytes"
    );
    assert_eq!(tally.worst(), Verdict::Clean);

    // The table: a summary per target, a small fraction of the result.
    let mut tally = Tally::new(Keep::Drift);
    let per_target = add(&mut tally, &template, 0, 2_000) / 2_000;
    assert!(
        per_target < 400 && per_target * 20 < result_bytes,
        "table: {per_target} bytes per target, of a {result_bytes}-byte result"
    );
    let summaries = tally.into_summaries();
    assert_eq!(summaries.len(), 2_000);
    assert_eq!(
        (summaries[1_999].tools, summaries[1_999].findings.len()),
        (40, 0)
    );
    assert_eq!(summaries[7].name, "target-000007");

    // SARIF: the findings (which the log prints) and the same small summary, not the tools.
    let findings = &template.report.as_ref().unwrap().findings;
    assert!(!findings.is_empty());
    let finding_bytes: isize = findings
        .iter()
        .map(|f| {
            (std::mem::size_of_val(f)
                + f.rule.len()
                + f.message.len()
                + f.source.len()
                + f.tool.as_ref().map_or(0, String::len)) as isize
        })
        .sum();
    let mut tally = Tally::new(Keep::AllFindings);
    let per_target = add(&mut tally, &template, 0, 2_000) / 2_000;
    assert!(
        per_target < finding_bytes + 400,
        "SARIF: {per_target} bytes per target, its findings {finding_bytes}"
    );
    assert_eq!(tally.into_summaries()[0].findings, *findings);
}
