//! Times the fallback parser on hostile shapes (not a test: see tests/parser.rs for behaviour).
use mcp_probe_plugin_core::{parse, ParseConfig, Transcript};
fn main() {
    let cases = [
        "{\"a\":[".repeat(200_000),
        "[{\"x\":1},".repeat(100_000),
        format!("[{}", "{\"x\":1},".repeat(100_000)),
        "{\"a\":\"b\", ".repeat(100_000),
        "[[[[[[[[[[]]]]]]]]]".repeat(100_000),
    ];
    for text in cases {
        let t = std::time::Instant::now();
        let r = parse(
            &Transcript {
                stdout: text.clone(),
                ..Default::default()
            },
            &ParseConfig::default(),
        );
        println!(
            "{} bytes: found={:?} {:?}",
            text.len(),
            r.is_some(),
            t.elapsed()
        );
    }
}
