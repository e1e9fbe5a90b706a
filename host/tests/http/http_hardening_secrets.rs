//! Credentials never printed: a matrix of failing and succeeding `mcp-probe discover --url`
//! runs of the built binary against hostile scripted servers on 127.0.0.1 (several echo the
//! credentials they receive back in bodies, JSON-RPC errors, tool descriptions, redirect
//! targets), each run plain, with `-v`, with `-vv`, with `-vv` and `RUST_LOG=trace`, with `-vv`
//! and JSON logs, with `-o table` and with `--output-file`. Every output stream of every run (stdout, stderr, the
//! report file) is searched for the secrets: URL userinfo and `-H` values.

use crate::http_support;

use http_support::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::Command;
use tokio::sync::mpsc::UnboundedSender;

/// The URL password, two `-H` values, and what reqwest sends for `user:PASSWORD`.
const PASSWORD: &str = "pw-SECRET-1111";
const API_KEY: &str = "key-SECRET-2222";
const BEARER: &str = "tok-SECRET-3333";
const BASIC: &str = "dXNlcjpwdy1TRUNSRVQtMTExMQ==";

/// Everything the servers received that could be a credential, as the servers saw it.
fn echoed(seen: &Seen) -> String {
    format!(
        "key={} auth={}",
        seen.header("x-api-key").unwrap_or("-"),
        seen.header("authorization").unwrap_or("-")
    )
}

fn result(seen: &Seen, result: Value) -> axum::response::Response {
    json_reply(&json!({"jsonrpc": "2.0", "id": seen.json()["id"], "result": result}))
}

/// A Streamable HTTP MCP server; its tool's description repeats the credentials it got.
fn mcp_server(seen: &Seen) -> axum::response::Response {
    match (seen.method.as_str(), seen.rpc_method().as_deref()) {
        ("POST", Some("initialize")) => result(
            seen,
            json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                "serverInfo": {"name": "echoing", "version": "1"}}),
        ),
        ("POST", Some("tools/list")) => result(
            seen,
            json!({"tools": [{"name": "echo", "description": format!("I saw {}", echoed(seen)),
                "inputSchema": {"type": "object"}}]}),
        ),
        ("POST", _) => status(202, ""),
        ("DELETE", _) => status(200, ""),
        _ => status(405, ""),
    }
}

/// A legacy SSE MCP server at /sse (each stream names its own `/messages?s=N`); 404 elsewhere,
/// with the credentials in the body. With `post_status`, the POSTs to its endpoint fail with
/// that status.
fn legacy_server(post_status: Option<u16>) -> impl Fn(&Seen) -> axum::response::Response {
    let streams: Arc<Mutex<Vec<UnboundedSender<String>>>> = Arc::default();
    move |seen: &Seen| match (seen.method.as_str(), seen.target.as_str()) {
        ("GET", "/sse") => {
            let (tx, response) = sse_channel();
            let mut streams = streams.lock().unwrap();
            let endpoint = format!("/messages?s={}", streams.len());
            tx.send(format!("event: endpoint\ndata: {endpoint}\n\n"))
                .unwrap();
            streams.push(tx);
            response
        }
        ("POST", target) if target.starts_with("/messages?s=") => {
            if let Some(code) = post_status {
                return status(code, &format!("refused {}", echoed(seen)));
            }
            let message = seen.json();
            if message.get("method").is_some() && message.get("id").is_some() {
                let result = match message["method"].as_str() {
                    Some("initialize") => json!({"protocolVersion": "2024-11-05",
                        "capabilities": {"tools": {}}, "serverInfo": {"name": "legacy"}}),
                    _ => json!({"tools": [{"name": "echo",
                        "description": format!("I saw {}", echoed(seen))}]}),
                };
                let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": result});
                let index: usize = target["/messages?s=".len()..].parse().unwrap();
                let streams = streams.lock().unwrap();
                let _ = streams[index].send(event(&reply));
                let _ = streams[index].send(format!("data: noise {}\n\n", echoed(seen)));
            }
            status(202, "Accepted")
        }
        _ => status(
            404,
            &format!("Cannot {} {}: {}", seen.method, seen.target, echoed(seen)),
        ),
    }
}

/// A port nothing listens on (it was free a moment ago).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `http://user:PASSWORD@127.0.0.1:PORT` for a base URL `http://127.0.0.1:PORT`.
fn with_userinfo(base: &str) -> String {
    format!("http://user:{PASSWORD}@{}", &base["http://".len()..])
}

/// One run of the matrix: how it is invoked and what it must end with.
struct Case {
    name: &'static str,
    url: String,
    extra: Vec<String>,
    code: i32,
    /// Must appear in stderr (for failures) or stdout (for successes).
    says: String,
}

fn case(name: &'static str, url: String, code: i32, says: &str) -> Case {
    Case {
        name,
        url,
        extra: vec![],
        code,
        says: says.to_owned(),
    }
}

/// One way of running each case: its name, extra flags and environment.
type Variant = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

const VARIANTS: &[Variant] = &[
    ("plain", &[], &[]),
    ("-v", &["-v"], &[]),
    ("-vv", &["-vv"], &[]),
    ("-vv RUST_LOG=trace", &["-vv"], &[("RUST_LOG", "trace")]),
    ("-vv json", &["--log-format", "json", "-vv"], &[]),
    ("table", &["-o", "table"], &[]),
    ("file", &["--output-file", "REPORT"], &[]),
];

struct Output {
    code: Option<i32>,
    /// stdout, stderr and the report file, together.
    everything: String,
    stdout: String,
    stderr: String,
}

async fn run(case: &Case, variant: &Variant, dir: &std::path::Path) -> Output {
    let (name, flags, env) = variant;
    let report = dir.join(format!("{}-{}.out", case.name, name.replace(' ', "_")));
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-probe"));
    command
        .args(["discover", "--url", &case.url])
        .args(["-H", &format!("X-Api-Key: {API_KEY}")])
        .args(["-H", &format!("X-Forwarded-Authorization: Bearer {BEARER}")])
        .args(&case.extra)
        .args(match case.extra.iter().any(|a| a == "--timeout") {
            true => &[][..],
            false => &["--timeout", "20"][..],
        })
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for flag in flags.iter() {
        command.arg(if *flag == "REPORT" {
            report.to_str().unwrap()
        } else {
            flag
        });
    }
    for (key, value) in env.iter() {
        command.env(key, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .unwrap_or_else(|_| panic!("{} {name}: no exit within 60 s", case.name))
        .expect("mcp-probe runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let file = std::fs::read_to_string(&report).unwrap_or_default();
    Output {
        code: output.status.code(),
        everything: format!("{stdout}\n{stderr}\n{file}"),
        stdout: stdout + &file,
        stderr,
    }
}

/// The message of `--log-format json`'s final error line, checked for its shape.
fn json_error(line: &str, code: i32, what: &str) -> String {
    let value: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{what}: the last line is not JSON ({e}): {line}"));
    assert_eq!(value["level"], "ERROR", "{what}: {line}");
    assert_eq!(value["exit_code"], code, "{what}: {line}");
    value["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_run_prints_a_credential() {
    let (ok, ok_log) = serve(mcp_server).await;
    let (legacy, _) = serve(legacy_server(None)).await;
    let (legacy_403, _) = serve(legacy_server(Some(403))).await;
    let (unauthorized, _) =
        serve(|seen| status(401, &format!("bad credentials: {}", echoed(seen)))).await;
    let (broken, _) =
        serve(|seen| status(500, &format!("<h1>boom</h1>\n<pre>{}</pre>", echoed(seen)))).await;
    let (rpc_error, _) = serve(|seen| {
        json_reply(&json!({"jsonrpc": "2.0", "id": seen.json()["id"],
            "error": {"code": -32001, "message": format!("refused {}", echoed(seen))}}))
    })
    .await;
    let (elsewhere, elsewhere_log) = serve(mcp_server).await;
    let to = elsewhere.clone();
    let (redirecting, _) = serve(move |seen| {
        let location = format!("{to}/mcp?{}", echoed(seen).replace(' ', "&"));
        with_header(status(307, ""), "location", &location)
    })
    .await;
    let (not_mcp, _) =
        serve(|seen| status(404, &format!("nothing here for {}", echoed(seen)))).await;
    // Answers initialize, then leaves every other request's event stream open and silent.
    let held: Arc<Mutex<Vec<UnboundedSender<String>>>> = Arc::default();
    let (hanging, _) = serve(move |seen| match seen.rpc_method().as_deref() {
        Some("initialize") => mcp_server(seen),
        Some("notifications/initialized") => status(202, ""),
        _ => {
            let (tx, response) = sse_channel();
            held.lock().unwrap().push(tx);
            response
        }
    })
    .await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://user:{PASSWORD}@{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            sockets.push(socket);
        }
    });
    let port = free_port();

    let cases = vec![
        case("ok", with_userinfo(&ok), 0, "echo"),
        case("ok-legacy-sse", with_userinfo(&legacy), 0, "echo"),
        case(
            "refused",
            format!("http://user:{PASSWORD}@127.0.0.1:{port}/"),
            1,
            "cannot connect",
        ),
        Case {
            extra: vec!["--request-timeout".into(), "0.5".into()],
            ..case("silent", silent_url, 1, "no reply within 500ms")
        },
        case("401", with_userinfo(&unauthorized), 1, "HTTP 401"),
        case("500", with_userinfo(&broken), 1, "HTTP 500"),
        case(
            "500-on-sse-path",
            format!("{}/sse", with_userinfo(&broken)),
            1,
            "HTTP 500",
        ),
        case(
            "403-on-legacy-post",
            with_userinfo(&legacy_403),
            1,
            "HTTP 403",
        ),
        case("json-rpc-error", with_userinfo(&rpc_error), 1, "-32001"),
        case(
            "cross-origin",
            with_userinfo(&redirecting),
            1,
            "another origin",
        ),
        case(
            "nothing-answers",
            with_userinfo(&not_mcp),
            1,
            "no MCP server answered",
        ),
        Case {
            extra: vec![
                "--request-timeout".into(),
                "5".into(),
                "--timeout".into(),
                "1".into(),
            ],
            ..case("deadline", with_userinfo(&hanging), 1, "tools/list")
        },
        case(
            "invalid-url",
            format!("http://user:{PASSWORD}@127.0.0.1:99999/"),
            2,
            "invalid URL \"http://***:***@127.0.0.1:99999/\"",
        ),
        case(
            "no-host",
            format!("http://user:{PASSWORD}@/mcp"),
            2,
            "invalid URL",
        ),
        case(
            "scheme",
            format!("ftp://user:{PASSWORD}@127.0.0.1/"),
            2,
            "use http:// or https://",
        ),
        case(
            "no-scheme",
            format!("user:{PASSWORD}@127.0.0.1:1"),
            2,
            "***:***@127.0.0.1:1",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut runs = 0;
    for case in &cases {
        let outputs = futures_util::future::join_all(
            VARIANTS
                .iter()
                .map(|variant| run(case, variant, dir.path())),
        )
        .await;
        for (variant, output) in VARIANTS.iter().zip(outputs) {
            runs += 1;
            let what = format!("{} ({})", case.name, variant.0);
            assert_eq!(
                output.code,
                Some(case.code),
                "{what}: exit code; stderr: {}",
                output.stderr
            );
            for secret in [PASSWORD, API_KEY, BEARER, BASIC, "SECRET"] {
                assert!(
                    !output.everything.contains(secret),
                    "{what}: {secret} printed:\n{}",
                    output.everything
                );
            }
            let json_logs = variant.1.contains(&"json");
            let last = output.stderr.trim_end().lines().last().unwrap_or("");
            // A JSON error line escapes quotes: its message is compared instead.
            let error = match json_logs && case.code != 0 {
                true => json_error(last, case.code, &what),
                false => output.stderr.clone(),
            };
            let shown = if case.code == 0 {
                &output.stdout
            } else {
                &error
            };
            assert!(
                shown.contains(&case.says),
                "{what}: expected {:?} in:\n{shown}",
                case.says
            );
            if json_logs {
                for line in output.stderr.lines() {
                    assert!(
                        serde_json::from_str::<Value>(line).is_ok(),
                        "{what}: not a JSON line: {line}"
                    );
                }
            }
            if case.code != 0 && !json_logs {
                assert!(last.starts_with("mcp-probe: error: "), "{what}: {last}");
            }
            if variant.0.starts_with("-v") && case.code != 2 {
                // The logs ran: there was something to leak.
                assert!(
                    output.stderr.contains("mcp_probe::"),
                    "{what}: no log lines"
                );
            }
        }
    }
    assert_eq!(runs, cases.len() * VARIANTS.len());

    // The credentials did go where they were meant to: on every request to the origin named.
    let log = ok_log.lock().unwrap();
    assert!(!log.is_empty());
    for seen in log.iter() {
        assert_eq!(seen.header("x-api-key"), Some(API_KEY));
        assert_eq!(
            seen.header("authorization"),
            Some(format!("Basic {BASIC}").as_str())
        );
    }
    // The reports say where the server was, credentials hidden, and what it echoed, hidden.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("ok-file.out")).unwrap())
            .unwrap();
    let port = ok.rsplit(':').next().unwrap();
    assert_eq!(
        report["endpoint"],
        format!("http://***:***@127.0.0.1:{port}/mcp")
    );
    assert_eq!(
        report["tools"][0]["description"],
        "I saw key=*** auth=Basic ***"
    );
    // Nothing was sent to the origin the redirect named.
    assert!(elsewhere_log.lock().unwrap().is_empty());
}
