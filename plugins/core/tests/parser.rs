//! The fallback parser on noisy transcripts of many kinds.

use mcp_probe_plugin_core::{parse, Member, ParseConfig, Parsed, Transcript};
use serde_json::{json, Value};

fn tool(name: &str) -> Value {
    json!({"name": name, "description": format!("{name} tool"), "inputSchema": {"type": "object"}})
}

fn result(id: u64, names: &[&str], next: Option<&str>) -> Value {
    let tools: Vec<Value> = names.iter().map(|n| tool(n)).collect();
    let mut result = json!({"tools": tools});
    if let Some(cursor) = next {
        result["nextCursor"] = json!(cursor);
    }
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn stdout(text: &str) -> Transcript {
    Transcript {
        stdout: text.into(),
        error: "EOF before the tools/list reply".into(),
        ..Transcript::default()
    }
}

fn run(transcript: &Transcript) -> Option<Parsed> {
    parse(transcript, &ParseConfig::default())
}

fn names(parsed: &Parsed) -> Vec<&str> {
    parsed.tools.iter().map(|t| t.name.as_str()).collect()
}

#[test]
fn json_rpc_lines_mixed_with_logs() {
    let text = format!(
        "Starting server v1.2 [pid 42]\n{}\nINFO [main] listening on stdio {{ready}}\n{}\nWARN deprecated option\n",
        json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}}}),
        result(2, &["read", "write"], None)
    );
    let parsed = run(&stdout(&text)).unwrap();
    assert_eq!(names(&parsed), ["read", "write"]);
    assert!(parsed.complete);
    assert_eq!(parsed.origin, "stdout: JSON-RPC tools/list result");
    assert_eq!(parsed.tools[0].description.as_deref(), Some("read tool"));
}

#[test]
fn content_length_framed_messages() {
    let frame = |v: Value| {
        let body = v.to_string();
        format!(
            "Content-Length: {}\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n{body}",
            body.len()
        )
    };
    let text = frame(json!({"jsonrpc": "2.0", "id": 1, "result": {}}))
        + &frame(result(2, &["a", "b", "c"], None));
    assert_eq!(names(&run(&stdout(&text)).unwrap()), ["a", "b", "c"]);
}

#[test]
fn pretty_printed_multi_line_response() {
    let text = format!(
        "debug: reply follows\n{}\n-- end --\n",
        serde_json::to_string_pretty(&result(7, &["x"], None)).unwrap()
    );
    let parsed = run(&stdout(&text)).unwrap();
    assert_eq!(names(&parsed), ["x"]);
    assert_eq!(
        parsed.tools[0].parse_member(Member::InputSchema).unwrap(),
        Some(json!({"type": "object"}))
    );
}

#[test]
fn bare_tools_object_printed_in_stderr_logs() {
    let transcript = Transcript {
        stdout: "garbage that is not json\n".into(),
        stderr_tail: format!(
            "2026-11-25T10:00:00Z INFO registered {}\n",
            json!({"tools": [tool("ping")]})
        ),
        ..Transcript::default()
    };
    let parsed = run(&transcript).unwrap();
    assert_eq!(names(&parsed), ["ping"]);
    assert_eq!(parsed.origin, "stderr: tool list printed in the output");
    let no_stderr = ParseConfig {
        scan_stderr: false,
        ..ParseConfig::default()
    };
    assert_eq!(parse(&transcript, &no_stderr), None);
}

#[test]
fn bare_array_of_tools_in_a_log_line() {
    let text = format!(
        "[INFO] [2026-11-25 10:00] tools: {}\n[1, 2, 3]\n",
        json!([tool("a"), tool("b")])
    );
    assert_eq!(names(&run(&stdout(&text)).unwrap()), ["a", "b"]);
}

#[test]
fn pages_joined_along_the_next_cursor_chain() {
    let text = [
        result(2, &["a", "b"], Some("p2")).to_string(),
        "log: fetching more".into(),
        result(3, &["c"], Some("p3")).to_string(),
        result(4, &["d"], None).to_string(),
    ]
    .join("\n");
    let parsed = run(&stdout(&text)).unwrap();
    assert_eq!(names(&parsed), ["a", "b", "c", "d"]);
    assert_eq!(parsed.pages, 3);
    assert!(parsed.complete);
}

#[test]
fn the_last_complete_listing_wins_over_an_earlier_one_and_a_truncated_one() {
    let truncated = result(9, &["new1", "new2"], None).to_string();
    let text = format!(
        "{}\n{}\n{}",
        result(2, &["old"], None),
        result(5, &["current"], None),
        &truncated[..truncated.len() - 20]
    );
    assert_eq!(names(&run(&stdout(&text)).unwrap()), ["current"]);
}

#[test]
fn sse_event_stream_bodies() {
    let text = format!(
        "event: message\ndata: {}\n\n: keep-alive\n\nevent: message\nid: 17\ndata: {}\n\n",
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}),
        result(2, &["web_search"], None)
    );
    assert_eq!(names(&run(&stdout(&text)).unwrap()), ["web_search"]);
}

#[test]
fn structured_logs_with_json_inside_a_string() {
    let inner = result(2, &["nested"], None).to_string();
    let text = json!({"level": 30, "time": 1764109999, "msg": inner}).to_string() + "\n";
    assert_eq!(names(&run(&stdout(&text)).unwrap()), ["nested"]);
    let wrapped =
        json!({"level": "debug", "event": "send", "message": result(3, &["wrapped"], None)});
    assert_eq!(
        names(&run(&stdout(&wrapped.to_string())).unwrap()),
        ["wrapped"]
    );
}

#[test]
fn json_rpc_batch_array() {
    let batch = json!([{"jsonrpc": "2.0", "id": 1, "result": {}}, result(2, &["batched"], None)]);
    assert_eq!(
        names(&run(&stdout(&batch.to_string())).unwrap()),
        ["batched"]
    );
}

#[test]
fn parsed_messages_when_stdout_is_empty() {
    let transcript = Transcript {
        parsed_messages: vec![
            result(2, &["p1"], Some("c")).to_string(),
            result(3, &["p2"], None).to_string(),
        ],
        ..Transcript::default()
    };
    let parsed = run(&transcript).unwrap();
    assert_eq!(names(&parsed), ["p1", "p2"]);
}

#[test]
fn parsed_messages_repeating_stdout_are_not_counted_twice() {
    let page1 = result(2, &["a"], Some("c"));
    let page2 = result(3, &["b"], None);
    let transcript = Transcript {
        stdout: format!("{page1}\n{page2}\n"),
        parsed_messages: vec![page1.to_string()],
        ..Transcript::default()
    };
    assert_eq!(names(&run(&transcript).unwrap()), ["a", "b"]);
}

#[test]
fn requests_with_cursors_route_pages_of_interleaved_listings() {
    let request = |id: u64, cursor: Option<&str>| match cursor {
        Some(c) => {
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {"cursor": c}})
        }
        None => json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}),
    };
    let text = [
        request(1, None),
        result(1, &["a1"], Some("A")),
        request(2, None),
        result(2, &["b1"], Some("B")),
        request(3, Some("A")),
        result(3, &["a2"], None),
        request(4, Some("B")),
        result(4, &["b2"], Some("B2")),
    ]
    .map(|v| format!("--> {v}"))
    .join("\n");
    let parsed = run(&stdout(&text)).unwrap();
    // Listing B never finished, so the last complete one is A.
    assert_eq!(names(&parsed), ["a1", "a2"]);
    assert!(parsed.complete);
}

#[test]
fn a_broken_chain_is_partial_and_can_be_refused() {
    let text = result(2, &["first"], Some("more")).to_string();
    let parsed = run(&stdout(&text)).unwrap();
    assert_eq!(names(&parsed), ["first"]);
    assert!(!parsed.complete);
    let strict = ParseConfig {
        accept_partial: false,
        ..ParseConfig::default()
    };
    assert_eq!(parse(&stdout(&text), &strict), None);
}

#[test]
fn zero_tools_is_found_not_missing() {
    let parsed = run(&stdout(&result(2, &[], None).to_string())).unwrap();
    assert!(parsed.tools.is_empty());
}

#[test]
fn nothing_recognizable_gives_none() {
    let text = "[INFO] starting\n{\"level\":\"info\",\"msg\":\"ready\"}\n[\"a\",\"b\"]\n{\"tools\": [\"not\", \"objects\"]}\n[{\"id\": 1}]\nError: connection reset {\n";
    assert_eq!(run(&stdout(text)), None);
    assert_eq!(run(&Transcript::default()), None);
}

#[test]
fn hostile_deeply_nested_truncated_output_ends() {
    // A long document that never closes, with an opening every few bytes: the scan's work
    // bound must stop it rather than re-parse from each opening.
    let text = "{\"a\":[".repeat(200_000);
    assert_eq!(run(&stdout(&text)), None);
    let flat = format!(
        "{}{}",
        "[{\"x\":1},".repeat(100_000),
        result(2, &["after"], None)
    );
    assert_eq!(
        run(&stdout(&flat)),
        None,
        "the tail sits inside the unclosed array"
    );
}

#[test]
fn config_is_checked() {
    assert!(ParseConfig::from_json_text(Some(r#"{"scan_stderr": false}"#)).is_ok());
    assert!(ParseConfig::from_json_text(Some(r#"{"scan": false}"#)).is_err());
}
