//! Hostile pods that try to put their `--secret-env` (or a catalog's `secret_env`) value into
//! mcp-probe's output: on stderr before dying, on stdout, split over two writes, in a
//! JSON-RPC error (also \u-escaped), in tool descriptions, server names and log notifications,
//! over stdio and HTTP. Every form of every secret is grepped out of stdout, stderr (`-v`,
//! `--log-format json`), the report, scan lines, cache entries, SARIF and lock files.

use crate::cluster::*;
use crate::support;
use base64::Engine;
use serde_json::Value;

/// Quotes, a slash and a backslash: its JSON-escaped form differs from it.
const SECRET: &str = r#"lk"9/Qz\x-4711-secret"#;
/// A PEM-like value: each line is a secret on its own.
const MULTILINE: &str = "-----BEGIN TEST KEY-----\nMIIEpem-line-one-7f3a\nMIIEpem-line-two-c9d1\n-----END TEST KEY-----";

fn fixture() -> Option<String> {
    support::require_program("python3")?;
    let path = support::repo_root().join("host/tests/fixtures/leaky_server.py");
    Some(path.display().to_string())
}

/// Every form of `secret` a leak could take: as is, JSON-escaped, base64, percent-encoded,
/// and each of its lines of some length.
fn forms(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap();
    let mut forms = vec![
        secret.to_owned(),
        json[1..json.len() - 1].to_owned(),
        base64::engine::general_purpose::STANDARD.encode(secret),
        percent_encode(secret),
    ];
    forms.extend(secret.lines().filter(|l| l.len() >= 12).map(str::to_owned));
    forms
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Fails when any form of `secret` is in `text` (named `what`).
fn assert_clean(what: &str, text: &str, secret: &str) {
    for form in forms(secret) {
        assert!(
            !text.contains(&form),
            "{form:?} leaked into {what}:\n{text}"
        );
    }
}

fn images(fixture: &str) -> Vec<(&'static str, kube_sim::Image)> {
    let http = format!("exec python3 {fixture} http \"$@\"");
    vec![
        ("leaky:1", image(&["python3", fixture])),
        ("leaky-http:1", shell_image(&http)),
    ]
}

/// `discover` of `leaky:1 MODE` over stdio with API_KEY=`secret`, and `extra` flags.
async fn leak(
    sim: &kube_sim::SimHandle,
    mode: &str,
    secret: &str,
    extra: &[&str],
) -> std::process::Output {
    let key = format!("API_KEY={secret}");
    let mut args = vec!["discover", "-o", "json", "--timeout", "30"];
    args.extend_from_slice(extra);
    args.extend(["--image", "leaky:1", "--transport", "stdio"]);
    args.extend(["--secret-env", &key, "--", mode]);
    probe(sim, &args).await
}

/// The message of the last stderr line, which must be the error line (text or JSON).
fn error_line(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    if let Some(message) = line.strip_prefix("mcp-probe: error: ") {
        return message.to_owned();
    }
    let json: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("{stderr}"));
    assert_eq!(json["level"], "ERROR", "{line}");
    json["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_pod_that_prints_its_secret_and_dies_leaks_nothing() {
    let Some(fixture) = fixture() else { return };
    let sim = sim(images(&fixture)).await;
    let cases = [
        // What it printed before the attach is in the pod's log only: either is shown.
        (
            "stderr-exit",
            SECRET,
            ": fatal: cannot log in with API_KEY=***",
        ),
        ("stderr-split", SECRET, ": fatal: API_KEY=*** refused"),
        ("stdout-exit", SECRET, "API_KEY=***"),
        ("multiline-exit", MULTILINE, ": ***"),
    ];
    for (mode, secret, shown) in cases {
        for extra in [&[][..], &["-v"], &["-v", "--log-format", "json"]] {
            let out = leak(&sim, mode, secret, extra).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{mode} {extra:?}: {stderr}");
            assert!(out.stdout.is_empty(), "{mode}: no report");
            assert_clean(&format!("stderr of {mode} {extra:?}"), &stderr, secret);
            let line = error_line(&out);
            assert!(line.contains(shown), "{mode} {extra:?}: {line}");
            if extra.is_empty() {
                assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
            }
        }
        // Scrubbing is not the whole story: the server did get its secret.
        let out = leak(&sim, mode, secret, &["-v"]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("***"), "{mode}: {stderr}");
    }
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_pods_stdout_is_labelled_as_its_log_not_its_stderr() {
    let Some(fixture) = fixture() else { return };
    let sim = sim(images(&fixture)).await;
    // Over HTTP nothing is attached: the tail is the pod's log (stdout and stderr).
    let key = format!("API_KEY={SECRET}");
    let args = [
        "--timeout",
        "20",
        "--image",
        "leaky-http:1",
        "--transport",
        "http",
        "--secret-env",
        &key,
        "--",
        "stdout-exit",
    ];
    let (code, line) = discover_err(&sim, &args).await;
    assert_eq!(code, 1, "{line}");
    assert_clean("the error line", &line, SECRET);
    assert!(line.contains("API_KEY=***"), "{line}");
    assert!(!line.contains("server stderr"), "{line}");
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_secret_in_a_json_rpc_error_stays_out() {
    let Some(fixture) = fixture() else { return };
    let sim = sim(images(&fixture)).await;
    for mode in ["rpc-error", "rpc-escaped"] {
        for extra in [&[][..], &["-v"], &["-vv", "--log-format", "json"]] {
            let out = leak(&sim, mode, SECRET, extra).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{mode}: {stderr}");
            assert_clean(&format!("stderr of {mode} {extra:?}"), &stderr, SECRET);
            // The \u-escaped form would decode to the secret: not there either.
            let escaped: String = SECRET
                .chars()
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect();
            assert!(!stderr.contains(&escaped), "{mode}: {stderr}");
            let line = error_line(&out);
            assert!(
                line.contains("JSON-RPC error -32000: bad API key ***"),
                "{line}"
            );
        }
    }
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_server_echoing_its_secret_is_reported_scrubbed_over_stdio_and_http() {
    let Some(fixture) = fixture() else { return };
    let sim = sim(images(&fixture)).await;
    let key = format!("API_KEY={SECRET}");
    for (image, transport) in [("leaky:1", "stdio"), ("leaky-http:1", "http")] {
        let args = [
            "discover",
            "-o",
            "json",
            "-v",
            "--timeout",
            "30",
            "--image",
            image,
            "--transport",
            transport,
            "--secret-env",
            &key,
            "--",
            "echo",
        ];
        let out = probe(&sim, &args).await;
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{transport}: {stderr}");
        assert_clean(&format!("the {transport} report"), &stdout, SECRET);
        assert_clean(&format!("the {transport} -v log"), &stderr, SECRET);
        let report: Value = serde_json::from_str(&stdout).unwrap();
        let description = report["tools"][0]["description"].as_str().unwrap();
        assert_eq!(description, "keys: *** | *** | ***", "{transport}");
        assert_eq!(report["server_info"]["name"], "leaky ***", "{transport}");
    }
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_scan_with_catalog_secret_env_leaks_into_no_output_cache_sarif_or_lock() {
    let Some(fixture) = fixture() else { return };
    let sim = sim(images(&fixture)).await;
    let other = "second-catalog-secret-77c1";
    let targets = serde_json::json!([
        {"name": "echo", "image": "leaky:1", "args": ["echo"], "transport": "stdio",
         "secret_env": {"API_KEY": SECRET}},
        {"name": "echo-http", "image": "leaky-http:1", "args": ["echo"], "transport": "http",
         "secret_env": {"API_KEY": other}},
        {"name": "dies", "image": "leaky:1", "args": ["stderr-exit"], "transport": "stdio",
         "secret_env": {"API_KEY": SECRET}},
        {"name": "rpc", "image": "leaky:1", "args": ["rpc-escaped"], "transport": "stdio",
         "secret_env": {"API_KEY": other}},
    ]);
    let file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::fs::write(
        file.path(),
        serde_json::json!({"targets": targets}).to_string(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (catalog, cache, locks) = (
        file.path().display().to_string(),
        path("cache"),
        path("locks"),
    );
    let runs: [&[&str]; 3] = [
        &["-o", "jsonl", "-v"],
        &["-o", "sarif", "--output-file", &path("scan.sarif")],
        &[
            "-o",
            "jsonl",
            "--log-format",
            "json",
            "--write-locks",
            &locks,
        ],
    ];
    let mut saw_lines = false;
    for extra in runs {
        let mut args = vec![
            "scan",
            catalog.as_str(),
            "--timeout",
            "30",
            "--cache-dir",
            &cache,
        ];
        args.extend_from_slice(extra);
        let out = probe(&sim, &args).await;
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {stderr}");
        for secret in [SECRET, other] {
            assert_clean(&format!("scan stdout {extra:?}"), &stdout, secret);
            assert_clean(&format!("scan stderr {extra:?}"), &stderr, secret);
        }
        if extra[1] == "jsonl" {
            let dies: Value = stdout
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .find(|l| l["name"] == "dies")
                .unwrap();
            let (error, tail) = (
                dies["error"].as_str().unwrap(),
                dies["log_tail"].as_str().unwrap(),
            );
            assert!(error.contains("API_KEY=***"), "{error}");
            assert!(tail.contains("API_KEY=***"), "{tail}");
            saw_lines = true;
        }
    }
    assert!(saw_lines);
    // Every file the scans wrote: cache entries, the SARIF file, the lock files.
    let mut files = 0;
    for entry in walk(dir.path()) {
        let text = std::fs::read_to_string(&entry).unwrap();
        for secret in [SECRET, other] {
            assert_clean(&entry.display().to_string(), &text, secret);
        }
        files += 1;
    }
    // Two answers cached, the SARIF file, two lock files.
    assert!(files >= 5, "{files} files");
    assert!(std::fs::read_dir(&locks).unwrap().count() >= 2);
    assert_empty(&sim).await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
