//! Rough timings of the core logic on hostile parser input and on 10 000 realistic tools
//! (for development; the host's benchmark gives the WASM-vs-native ratios).
use mcp_probe_plugin_core::{
    normalize, parse, validate, NormalizeConfig, ParseConfig, Policy, Tool, Transcript,
};
use serde_json::json;
use std::time::Instant;

fn main() {
    let cases = [
        "{\"a\":[".repeat(200_000),
        "[{\"x\":1},".repeat(100_000),
        format!("[{}", "{\"x\":1},".repeat(100_000)),
        "{\"a\":\"b\", ".repeat(100_000),
        "[[[[[[[[[[]]]]]]]]]".repeat(100_000),
    ];
    for text in cases {
        let t = Instant::now();
        let r = parse(
            &Transcript {
                stdout: text.clone(),
                ..Default::default()
            },
            &ParseConfig::default(),
        );
        println!(
            "parse {} hostile bytes: found={:?} {:?}",
            text.len(),
            r.is_some(),
            t.elapsed()
        );
    }
    let tools: Vec<Tool> = (0..10_000)
        .filter_map(|i| Tool::from_json(json!({
            "name": format!("  tool_{i} "), "title": format!("Tool {i}"),
            "description": format!("Reads record {i} from the orders database and returns it as JSON. Use it when the user asks about an order; it never writes."),
            "inputSchema": {"type": "object", "properties": {
                "id": {"type": "string", "description": "The order id"},
                "fields": {"type": "array", "items": {"type": "string"}, "description": "Which fields to return"}},
                "required": ["id"]},
            "annotations": {"readOnlyHint": true, "openWorldHint": false}
        })))
        .collect();
    let t = Instant::now();
    let normalized = normalize(tools, &NormalizeConfig::default());
    println!("normalize 10k tools: {:?}", t.elapsed());
    let policy = Policy::from_json_text(&std::env::var("POLICY").unwrap_or_default()).unwrap();
    let t = Instant::now();
    let findings = validate(&normalized.tools, &policy).unwrap();
    println!(
        "validate 10k tools: {:?} ({} findings)",
        t.elapsed(),
        findings.len()
    );
}
