//! The official MCP conformance suite (npm @modelcontextprotocol/conformance, Node 22):
//! mcp-probe as the client under test, and our example server as a server under test.
//!
//! The suite exits 0 even when no check ran, so the `Passed: N/M` line is what counts.

use crate::support;

use support::*;
use tokio::process::Command;

/// Runs the suite with ARGS in a scratch directory (it writes result files); returns
/// (passed, total) from its summary line, and the whole output for messages.
async fn conformance(args: &[&str]) -> Option<((u32, u32), String)> {
    let node = node()?;
    let suite = mcp_package_file("conformance", "dist/index.js")?;
    let scratch = std::env::temp_dir().join(format!(
        "mcp-probe-conformance-{}-{}",
        std::process::id(),
        args.join("-").replace(['/', ' ', ':'], "_")
    ));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut command = Command::new(node);
    command
        .arg(suite)
        .args(args)
        .arg("-o")
        .arg(&scratch)
        .current_dir(&scratch);
    let output = run(command).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some((
        passed_line(&text).unwrap_or_else(|| panic!("no `Passed:` line in: {text}")),
        text,
    ))
}

/// Parses `Passed: N/M, K failed, ...`.
fn passed_line(text: &str) -> Option<(u32, u32)> {
    let rest = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Passed: "))?;
    let (passed, rest) = rest.split_once('/')?;
    let total = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    Some((passed.parse().ok()?, total.parse().ok()?))
}

#[test]
fn passed_line_parses_the_summary() {
    assert_eq!(
        passed_line("x\nPassed: 2/3, 1 failed, 0 warnings\n"),
        Some((2, 3))
    );
    assert_eq!(passed_line("Passed: 0/0, 0 failed"), Some((0, 0)));
    assert_eq!(passed_line("no summary"), None);
}

/// Client scenarios that apply to a lister. (`tools_call`, `sse-retry` and the elicitation
/// scenario need a tool call; the `auth/*` ones need OAuth, which mcp-probe does not do.)
#[tokio::test]
async fn client_scenario_initialize() {
    let client = format!(
        "{} discover -o json --timeout 20 --url",
        probe_bin().display()
    );
    let ((passed, total), text) =
        require!(conformance(&["client", "--command", &client, "--scenario", "initialize"]).await);
    eprintln!("conformance client initialize: Passed {passed}/{total}");
    assert!(
        total > 0 && passed == total,
        "conformance initialize: {passed}/{total}\n{text}"
    );
}

/// Our example server, which tests and the README rely on, passes the server scenarios a
/// tools-only server can.
#[tokio::test]
async fn example_server_scenarios() {
    let mut command = Command::new(example_server_bin());
    command.args(["--http", "127.0.0.1:0"]);
    let (_server, ready) = Server::start(command, |l| l.starts_with("listening on ")).await;
    let url = ready.trim_start_matches("listening on ");
    for scenario in ["server-initialize", "ping", "tools-list"] {
        let ((passed, total), text) =
            require!(conformance(&["server", "--url", url, "--scenario", scenario]).await);
        eprintln!("conformance server {scenario}: Passed {passed}/{total}");
        assert!(
            total > 0 && passed == total,
            "{scenario}: {passed}/{total}\n{text}"
        );
    }
}
