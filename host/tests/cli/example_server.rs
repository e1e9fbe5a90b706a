//! mcp-probe against our example server (stdio and Streamable HTTP, paging, log noise),
//! checked against the MCP Inspector CLI where Inspector is installed.

use crate::support;

use support::*;
use tokio::process::Command;

fn example() -> String {
    example_server_bin().display().to_string()
}

const DEFAULT_TOOLS: [&str; 5] = [
    "echo",
    "get_weather",
    "search_files",
    "create_issue",
    "delete_branch",
];

/// Server flags, probe flags, and the era, version and decision the report must show.
type EraCase<'a> = (&'a [&'a str], &'a [&'a str], &'a str, &'a str, &'a str);

/// The example server speaks both eras: auto settles on the modern one; restricted to one era
/// (`--era`), or told which to speak (`--protocol-era`), the same tools come back in each.
#[tokio::test]
async fn both_eras_list_the_same_tools() {
    let server = example();
    let cases: [EraCase; 4] = [
        (&[], &[], "modern", "2026-07-28", "server/discover answered"),
        (
            &["--era", "legacy"],
            &[],
            "legacy",
            "2025-11-25",
            "server/discover answered JSON-RPC error -32601: Method not found: server/discover",
        ),
        (
            &["--era", "modern"],
            &[],
            "modern",
            "2026-07-28",
            "server/discover answered",
        ),
        (
            &[],
            &["--protocol-era", "legacy"],
            "legacy",
            "2025-11-25",
            "--protocol-era legacy",
        ),
    ];
    for (server_flags, probe_flags, era, version, decided_by) in cases {
        let mut args: Vec<&str> = probe_flags.to_vec();
        args.extend(["--", &server]);
        args.extend(server_flags);
        let report = discover(&args).await;
        let case = format!("{server_flags:?} {probe_flags:?}");
        assert_eq!(report["protocol_era"], era, "{case}");
        assert_eq!(report["protocol_version"], version, "{case}");
        assert_eq!(report["era_decided_by"], decided_by, "{case}");
        assert_eq!(
            report["server_info"]["name"], "mcp-example-server",
            "{case}"
        );
        assert_eq!(tool_names(&report), DEFAULT_TOOLS, "{case}");
        let hinted = report.get("cache_hints").is_some();
        assert_eq!(
            hinted,
            era == "modern",
            "{case}: cache hints only in the modern era"
        );
    }
}

#[tokio::test]
async fn stdio_default_tools() {
    let server = example();
    let report = discover(&["--", &server]).await;
    assert_eq!(report["discovery_method"], "local_mcp_stdio");
    assert_eq!(report["server_info"]["name"], "mcp-example-server");
    assert_eq!(report["protocol_version"], "2026-07-28");
    assert_eq!(report["tools_supported"], true);
    assert_eq!(
        tool_names(&report),
        [
            "echo",
            "get_weather",
            "search_files",
            "create_issue",
            "delete_branch"
        ]
    );
    // No prompts or resources offered: the report leaves them out.
    assert!(report.get("prompts").is_none() && report.get("resources").is_none());
    let reference = require!(inspector(&[&server], "tools/list").await);
    assert_same_items(&report["tools"], &reference, "tools");
}

/// Log lines on stdout between messages and 8 pages of 7 change nothing in the result.
#[tokio::test]
async fn stdio_pages_and_noise() {
    let server = example();
    let clean = discover(&["--", &server, "--tools", "50"]).await;
    let noisy = discover(&[
        "--",
        &server,
        "--tools",
        "50",
        "--page-size",
        "7",
        "--noise",
    ])
    .await;
    assert_eq!(tool_names(&noisy).len(), 50);
    assert_eq!(noisy["tools"], clean["tools"]);
    let reference = require!(
        inspector(
            &[&server, "--tools", "50", "--page-size", "7"],
            "tools/list"
        )
        .await
    );
    assert_same_items(&noisy["tools"], &reference, "tools");
}

#[tokio::test]
async fn stdio_prompts_and_resources() {
    let server = example();
    let report = discover(&[
        "--",
        &server,
        "--prompts",
        "--resources",
        "--page-size",
        "1",
    ])
    .await;
    let count = |key: &str| report[key].as_array().map(Vec::len);
    assert_eq!(count("prompts"), Some(2));
    assert_eq!(count("resources"), Some(1));
    assert_eq!(count("resource_templates"), Some(1));
    let reference = require!(inspector(&[&server, "--prompts"], "prompts/list").await);
    assert_same_items(&report["prompts"], &reference, "prompts");
}

/// Zero tools is a success with an empty list, not an error.
#[tokio::test]
async fn stdio_zero_tools() {
    let report = discover(&["--", &example(), "--tools", "0"]).await;
    assert_eq!(report["tools"], serde_json::json!([]));
}

/// One `session ID opened by CLIENT declaring CAPABILITIES` line of the example server's log.
struct Opened {
    session: String,
    client: String,
    declared: Vec<String>,
}

fn sessions_opened(log: &[String]) -> Vec<Opened> {
    log.iter()
        .filter_map(|line| {
            let rest = line.strip_prefix("session ")?;
            let (session, rest) = rest.split_once(" opened by ")?;
            let (client, capabilities) = rest.split_once(" declaring ")?;
            let capabilities: serde_json::Value = serde_json::from_str(capabilities).ok()?;
            let mut declared: Vec<String> = capabilities.as_object()?.keys().cloned().collect();
            declared.sort();
            Some(Opened {
                session: session.into(),
                client: client.into(),
                declared,
            })
        })
        .collect()
}

/// Streamable HTTP from the base URL, with pages; in the legacy era the session is deleted at
/// the end.
#[tokio::test]
async fn http_pages_and_session_cleanup() {
    let mut command = Command::new(example());
    let args = ["--http", "127.0.0.1:0", "--tools", "30", "--page-size", "4"];
    command.args(args).args(["--era", "legacy"]);
    let (server, ready) = Server::start(command, |l| l.starts_with("listening on ")).await;
    let endpoint = ready.trim_start_matches("listening on ").to_owned();
    let base = endpoint.trim_end_matches("/mcp");
    let report = discover(&["--url", base]).await;
    assert_eq!(report["discovery_method"], "url_streamable_http");
    assert_eq!(report["endpoint"], endpoint.as_str());
    assert_eq!(tool_names(&report).len(), 30);

    // mcp-probe declared its default capabilities, and deleted every session it opened.
    let log = server
        .stderr_when(|l| l.iter().any(|l| l.ends_with(" deleted")))
        .await;
    let opened = sessions_opened(&log);
    assert!(!opened.is_empty(), "no session was opened: {log:?}");
    for session in &opened {
        assert_eq!(session.client, "mcp-probe");
        assert_eq!(session.declared, ["elicitation", "roots", "sampling"]);
    }
    let deleted: Vec<_> = log
        .iter()
        .filter_map(|l| l.strip_suffix(" deleted"))
        .collect();
    let opened_ids: Vec<_> = opened
        .iter()
        .map(|o| format!("session {}", o.session))
        .collect();
    assert_eq!(
        opened_ids, deleted,
        "sessions left open on the server: {log:?}"
    );

    let reference = require!(inspector(&[&endpoint, "--transport", "http"], "tools/list").await);
    assert_same_items(&report["tools"], &reference, "tools");
    // The premise of comparing Inspector with `--capabilities roots` elsewhere: of the MCP
    // client capabilities it declares only `roots` (besides `extensions`: skills, tasks).
    let log = server
        .stderr_when(|l| sessions_opened(l).iter().any(|o| o.client != "mcp-probe"))
        .await;
    let inspector_sessions: Vec<_> = sessions_opened(&log)
        .into_iter()
        .filter(|o| o.client != "mcp-probe")
        .collect();
    assert_eq!(inspector_sessions.len(), 1, "{log:?}");
    let mut declared = inspector_sessions[0].declared.clone();
    declared.retain(|c| c != "extensions");
    assert_eq!(declared, ["roots"], "{log:?}");
}

/// The comparison itself must catch a differing definition, a missing tool and extra pages.
#[test]
fn comparison_catches_differences() {
    use serde_json::json;
    let reference = json!({"tools": [{"name": "a", "inputSchema": {"type": "object"}}]});
    let same = json!([{"name": "a", "inputSchema": {"type": "object"}}]);
    assert_same_items(&same, &reference, "tools");
    let changed = json!([{"name": "a", "inputSchema": {"type": "string"}}]);
    let extra = json!([{"name": "a", "inputSchema": {"type": "object"}}, {"name": "b"}]);
    for ours in [changed, extra, json!([])] {
        let outcome = std::panic::catch_unwind(|| assert_same_items(&ours, &reference, "tools"));
        assert!(outcome.is_err(), "{ours} passed as equal to {reference}");
    }
    // Pages the reference did not read are not compared.
    let one_page =
        json!({"tools": [{"name": "a", "inputSchema": {"type": "object"}}], "nextCursor": "1"});
    let two_pages = json!([{"name": "a", "inputSchema": {"type": "object"}}, {"name": "b"}]);
    assert_same_items(&two_pages, &one_page, "tools");
}

/// README's main command: the table lists every tool of the example server.
#[tokio::test]
async fn readme_table_command() {
    let mut command = Command::new(probe_bin());
    command.args(["discover", "-o", "table", "--", &example()]);
    let output = run(command).await;
    assert!(output.status.success(), "{output:?}");
    let table = String::from_utf8(output.stdout).expect("the table is UTF-8");
    for name in [
        "echo",
        "get_weather",
        "search_files",
        "create_issue",
        "delete_branch",
    ] {
        assert!(
            table.contains(name),
            "{name} missing from the table:\n{table}"
        );
    }
    assert!(table.contains("mcp-example-server"), "{table}");
}

/// Over HTTP the example server is spoken to in the modern era by default: pages as in the
/// legacy era, and no session is opened (the modern era has none).
#[tokio::test]
async fn http_modern_era_opens_no_session() {
    let mut command = Command::new(example());
    command.args(["--http", "127.0.0.1:0", "--tools", "30", "--page-size", "4"]);
    let (server, ready) = Server::start(command, |l| l.starts_with("listening on ")).await;
    let endpoint = ready.trim_start_matches("listening on ").to_owned();
    let report = discover(&["--url", &endpoint]).await;
    assert_eq!(report["protocol_era"], "modern");
    assert_eq!(report["era_decided_by"], "server/discover answered");
    assert_eq!(tool_names(&report).len(), 30);
    assert_eq!(report["cache_hints"]["tools/list"]["cache_scope"], "public");
    let log = server.stderr();
    assert!(sessions_opened(&log).is_empty(), "{log:?}");
}
