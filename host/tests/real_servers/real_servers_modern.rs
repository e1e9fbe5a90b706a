//! mcp-probe against real servers no one here wrote that speak both eras of MCP (revision
//! 2026-07-28, "modern", and the `initialize` handshake, "legacy"), checked against the MCP
//! Inspector CLI, which is run with `--protocol-era modern` (it fails on a server that does not
//! answer `server/discover`) for the modern era and ad hoc (legacy) for the legacy era.
//!
//! - PyPI `mcp-argocd` (FastMCP on the Python SDK): stdio and Streamable HTTP. It needs an
//!   Argo CD URL and token to start; a URL that never resolves and a dummy token do, since
//!   listing tools talks to no Argo CD.
//! - PyPI `kubectl-mcp-server` (FastMCP on the Python SDK): stdio and stateless Streamable
//!   HTTP, with every toolset. It loads no kubeconfig before a tool is called; it is pointed at
//!   an absent one under a scratch HOME, so no real cluster is ever in reach.
//! - npm `@takescake/1password-mcp` (TypeScript SDK v2): stdio only (it has no HTTP mode). A
//!   service account token is needed only when a tool runs; a dummy one is set.
//!
//! In each era mcp-probe must list exactly what the reference lists, and the two eras the same.

use crate::support;

use serde_json::Value;
use support::*;
use tokio::process::Command;

const MODERN_VERSION: &str = "2026-07-28";
/// The newest `initialize`-era revision, which mcp-probe offers and these servers accept.
const LEGACY_VERSION: &str = "2025-11-25";

/// A stdio server: its command line and the environment it needs (K=V), which both clients
/// pass the same way (`-e K=V`).
struct StdioServer {
    argv: Vec<String>,
    env: Vec<String>,
    /// How many tools it lists (pinned with the package version).
    tools: usize,
    /// Scratch HOME and the like, removed when the test ends.
    _scratch: Option<tempfile::TempDir>,
}

impl StdioServer {
    fn env_args(&self) -> Vec<&str> {
        self.env.iter().flat_map(|kv| ["-e", kv.as_str()]).collect()
    }

    /// The Inspector's arguments: `-e K=V ... CMD ARGS`.
    fn inspector_args(&self) -> Vec<&str> {
        let mut args = self.env_args();
        args.extend(self.argv.iter().map(String::as_str));
        args
    }

    /// mcp-probe's arguments: `FLAGS -e K=V ... -- CMD ARGS`.
    fn probe_args<'a>(&'a self, flags: &[&'a str]) -> Vec<&'a str> {
        let mut args = flags.to_vec();
        args.extend(self.env_args());
        args.push("--");
        args.extend(self.argv.iter().map(String::as_str));
        args
    }
}

fn argocd_env() -> Vec<String> {
    vec![
        // .invalid never resolves (RFC 6761): nothing can reach a real Argo CD.
        "ARGOCD_URL=https://argocd.invalid".to_owned(),
        "ARGOCD_TOKEN=dummy-token-for-listing".to_owned(),
    ]
}

fn argocd_stdio() -> Option<StdioServer> {
    let bin = venv_bin("mcp-argocd")?;
    Some(StdioServer {
        argv: vec![bin.display().to_string()],
        env: argocd_env(),
        tools: 37,
        _scratch: None,
    })
}

/// A scratch HOME with no kubeconfig, and `KUBECONFIG` naming a file that does not exist.
fn kubectl_env() -> (tempfile::TempDir, Vec<String>) {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let home = scratch.path().display().to_string();
    let env = vec![
        format!("HOME={home}"),
        format!("XDG_CONFIG_HOME={home}/.config"),
        format!("KUBECONFIG={home}/absent-kubeconfig"),
    ];
    (scratch, env)
}

fn kubectl_stdio() -> Option<StdioServer> {
    let bin = venv_bin("kubectl-mcp")?;
    let (scratch, env) = kubectl_env();
    Some(StdioServer {
        // Every toolset (the default is core and helm, 26 tools): more definitions to compare.
        argv: vec![bin.display().to_string(), "--toolsets".into(), "all".into()],
        env,
        tools: 209,
        _scratch: Some(scratch),
    })
}

fn onepassword_stdio() -> Option<StdioServer> {
    let node = node()?;
    let script = npm_package_file("@takescake/1password-mcp", "bin/1password-mcp.js")?;
    Some(StdioServer {
        argv: vec![node.display().to_string(), script.display().to_string()],
        env: vec!["OP_SERVICE_ACCOUNT_TOKEN=ops_dummy-token-for-listing".to_owned()],
        tools: 15,
        _scratch: None,
    })
}

/// What a `--protocol-era auto` (or `modern`) run against a dual-era server must report.
fn assert_modern(report: &Value) {
    assert_eq!(
        report["protocol_era"], "modern",
        "era: {}",
        report["era_decided_by"]
    );
    assert_eq!(report["protocol_version"], MODERN_VERSION);
    // Each of these servers puts ttlMs and cacheScope on every modern-era result (and none on
    // a legacy one): a list answered without them was answered in the legacy era.
    let hints = &report["cache_hints"];
    for method in ["server/discover", "tools/list"] {
        assert!(
            hints[method]["ttl_ms"].is_u64(),
            "no cache hint for {method} in a modern-era report, so the server answered it as a \
             legacy-era result; era_decided_by: {}; cache_hints: {hints}",
            report["era_decided_by"]
        );
    }
}

/// The auto run (mcp-probe's default) of a dual-era server.
fn assert_auto_chose_modern(report: &Value) {
    assert_modern(report);
    let decided_by = report["era_decided_by"].as_str().unwrap_or_default();
    assert!(
        decided_by.starts_with("server/discover answered") && !decided_by.contains("error"),
        "era_decided_by: {decided_by}"
    );
}

fn assert_legacy_forced(report: &Value) {
    assert_eq!(report["protocol_era"], "legacy");
    assert_eq!(report["protocol_version"], LEGACY_VERSION);
    assert_eq!(report["era_decided_by"], "--protocol-era legacy");
}

/// Auto (no era flag): modern, and the tools the reference lists in the modern era.
async fn stdio_auto_matches_inspector(server: StdioServer) {
    let reference = require!(inspector_era(&server.inspector_args(), "tools/list", "modern").await);
    let report = discover(&server.probe_args(&[])).await;
    assert_eq!(report["discovery_method"], "local_mcp_stdio");
    assert_eq!(tool_names(&report).len(), server.tools);
    assert_same_items(&report["tools"], &reference, "tools");
    assert_auto_chose_modern(&report);
}

/// `--protocol-era legacy` lists what the reference lists in the legacy era, and
/// `--protocol-era modern` the very same.
async fn stdio_eras_list_the_same(server: StdioServer) {
    let reference = require!(inspector(&server.inspector_args(), "tools/list").await);
    let legacy = discover(&server.probe_args(&["--protocol-era", "legacy"])).await;
    assert_legacy_forced(&legacy);
    assert_eq!(tool_names(&legacy).len(), server.tools);
    assert_same_items(&legacy["tools"], &reference, "tools");
    let modern = discover(&server.probe_args(&["--protocol-era", "modern"])).await;
    assert_modern(&modern);
    assert_eq!(modern["era_decided_by"], "--protocol-era modern");
    assert_same_items(&modern["tools"], &reference, "tools");
    for list in ["prompts", "resources", "resource_templates"] {
        assert_eq!(modern[list], legacy[list], "{list} differ between the eras");
    }
}

#[tokio::test]
async fn argocd_stdio_auto_is_modern_and_matches_inspector() {
    stdio_auto_matches_inspector(require!(argocd_stdio())).await;
}

#[tokio::test]
async fn argocd_stdio_eras_list_the_same() {
    stdio_eras_list_the_same(require!(argocd_stdio())).await;
}

#[tokio::test]
async fn kubectl_stdio_auto_is_modern_and_matches_inspector() {
    stdio_auto_matches_inspector(require!(kubectl_stdio())).await;
}

#[tokio::test]
async fn kubectl_stdio_eras_list_the_same() {
    stdio_eras_list_the_same(require!(kubectl_stdio())).await;
}

/// The TypeScript SDK's `serveStdio` answers `server/discover` without fixing the era: the
/// first other request does, and an `initialize` fixes it to legacy. So the auto run must
/// not leave it an `initialize` (as the one that follows the probe after its grace) and then
/// go on as modern: its lists would be answered by the legacy-era instance.
#[tokio::test]
async fn onepassword_stdio_auto_is_modern_and_matches_inspector() {
    stdio_auto_matches_inspector(require!(onepassword_stdio())).await;
}

/// The TypeScript SDK v2 server started late, as npx fetching it would (idle for 1 s before
/// node starts, long past the probe's grace; then busy loading its modules): whatever the
/// `initialize` that follows the probe does to its era, it is started once, and it lists what
/// it lists in the modern era.
#[tokio::test]
async fn onepassword_started_slowly_is_started_once() {
    let server = require!(onepassword_stdio());
    let starts = tempfile::NamedTempFile::new().unwrap();
    let script = format!(
        "echo start >> '{}'; sleep 1; exec \"$@\"",
        starts.path().display()
    );
    let mut argv = vec!["sh".to_owned(), "-c".into(), script, "sh".into()];
    argv.extend(server.argv.iter().cloned());
    let slow = StdioServer {
        argv,
        env: server.env.clone(),
        tools: server.tools,
        _scratch: None,
    };
    let report = discover(&slow.probe_args(&[])).await;
    assert_eq!(tool_names(&report).len(), server.tools);
    let started = std::fs::read_to_string(starts.path()).unwrap();
    assert_eq!(
        started.lines().count(),
        1,
        "started {} times; era_decided_by: {}",
        started.lines().count(),
        report["era_decided_by"]
    );
    let by = report["era_decided_by"].as_str().unwrap_or_default();
    match report["protocol_era"].as_str() {
        // The initialize after the grace reached it first: the connection went legacy.
        Some("legacy") => {
            assert_eq!(
                report["eras_spoken"],
                serde_json::json!(["modern", "legacy"]),
                "{by}"
            );
        }
        _ => assert_modern(&report),
    }
}

#[tokio::test]
async fn onepassword_stdio_eras_list_the_same() {
    stdio_eras_list_the_same(require!(onepassword_stdio())).await;
}

/// A Python server on Streamable HTTP, killed when the test ends.
struct HttpServer {
    _server: Server,
    base: String,
    tools: usize,
    _scratch: Option<tempfile::TempDir>,
}

/// Starts `BIN ARGS --host 127.0.0.1 --port P` on a free port, once uvicorn says it listens.
/// Another test may take the port between our probe for it and the bind: retry.
async fn http_server(bin: &str, args: &[&str], env: &[String]) -> Option<(Server, String)> {
    let bin = venv_bin(bin)?;
    let mut failures = vec![];
    for _ in 0..3 {
        let port = free_port().to_string();
        let mut command = Command::new(&bin);
        command
            .args(args)
            .args(["--host", "127.0.0.1", "--port", &port]);
        for kv in env {
            let (key, value) = kv.split_once('=').unwrap();
            command.env(key, value);
        }
        let needle = format!("Uvicorn running on http://127.0.0.1:{port}");
        match Server::try_start(command, |line| line.contains(&needle)).await {
            Ok((server, _)) => return Some((server, format!("http://127.0.0.1:{port}"))),
            Err(failure) => failures.push(failure),
        }
    }
    panic!("{} did not start: {failures:#?}", bin.display());
}

async fn argocd_http() -> Option<HttpServer> {
    let args = ["--transport", "streamable-http"];
    let (server, base) = http_server("mcp-argocd", &args, &argocd_env()).await?;
    Some(HttpServer {
        _server: server,
        base,
        tools: 37,
        _scratch: None,
    })
}

async fn kubectl_http() -> Option<HttpServer> {
    let (scratch, env) = kubectl_env();
    let args = ["--transport", "http", "--toolsets", "all"];
    let (server, base) = http_server("kubectl-mcp", &args, &env).await?;
    Some(HttpServer {
        _server: server,
        base,
        tools: 209,
        _scratch: Some(scratch),
    })
}

/// Auto, given the bare base URL: modern on /mcp, and the reference's modern-era tools.
async fn http_auto_matches_inspector(server: HttpServer) {
    let endpoint = format!("{}/mcp", server.base);
    let reference =
        require!(inspector_era(&[&endpoint, "--transport", "http"], "tools/list", "modern").await);
    let report = discover(&["--url", &server.base]).await;
    assert_eq!(report["discovery_method"], "url_streamable_http");
    assert_eq!(report["endpoint"], endpoint.as_str());
    assert_eq!(tool_names(&report).len(), server.tools);
    assert_same_items(&report["tools"], &reference, "tools");
    assert_auto_chose_modern(&report);
}

/// `--protocol-era legacy` lists what the reference lists in the legacy era, and
/// `--protocol-era modern` the very same.
async fn http_eras_list_the_same(server: HttpServer) {
    let endpoint = format!("{}/mcp", server.base);
    let reference = require!(inspector(&[&endpoint, "--transport", "http"], "tools/list").await);
    let legacy = discover(&["--protocol-era", "legacy", "--url", &endpoint]).await;
    assert_eq!(legacy["discovery_method"], "url_streamable_http");
    assert_legacy_forced(&legacy);
    assert_eq!(tool_names(&legacy).len(), server.tools);
    assert_same_items(&legacy["tools"], &reference, "tools");
    let modern = discover(&["--protocol-era", "modern", "--url", &endpoint]).await;
    assert_modern(&modern);
    assert_eq!(modern["era_decided_by"], "--protocol-era modern");
    assert_same_items(&modern["tools"], &reference, "tools");
    for list in ["prompts", "resources", "resource_templates"] {
        assert_eq!(modern[list], legacy[list], "{list} differ between the eras");
    }
}

#[tokio::test]
async fn argocd_http_auto_is_modern_and_matches_inspector() {
    http_auto_matches_inspector(require!(argocd_http().await)).await;
}

#[tokio::test]
async fn argocd_http_eras_list_the_same() {
    http_eras_list_the_same(require!(argocd_http().await)).await;
}

#[tokio::test]
async fn kubectl_http_auto_is_modern_and_matches_inspector() {
    http_auto_matches_inspector(require!(kubectl_http().await)).await;
}

#[tokio::test]
async fn kubectl_http_eras_list_the_same() {
    http_eras_list_the_same(require!(kubectl_http().await)).await;
}
