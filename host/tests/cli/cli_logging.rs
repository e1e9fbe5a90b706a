//! The global logging flags through the real binary: `NO_COLOR` and a non-terminal stderr turn
//! colour off, `-q` hides what `-v` shows, `--log-format json` makes the final error one JSON
//! line carrying the exit code.

use crate::support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn probe(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-probe"));
    command.args(args).stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("mcp-probe runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `-v` discovery of the example server with stderr on a new terminal; what it printed there.
fn verbose_discovery_on_a_terminal(no_color: Option<&str>) -> Vec<u8> {
    let server = support::example_server_bin();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-probe"));
    command
        .args(["discover", "-v", "-o", "json", "--"])
        .arg(&server)
        .stdout(Stdio::null())
        .env_remove("NO_COLOR");
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let (status, seen) = support::stderr_on_a_terminal(command);
    assert!(status.success());
    seen
}

#[test]
fn no_color_or_no_terminal_means_no_escape_codes() {
    let coloured = verbose_discovery_on_a_terminal(None);
    assert!(
        coloured.contains(&0x1b),
        "a terminal gets colour:\n{}",
        String::from_utf8_lossy(&coloured)
    );
    let plain = verbose_discovery_on_a_terminal(Some("1"));
    assert!(
        String::from_utf8_lossy(&plain).contains("mcp_probe::"),
        "-v logged"
    );
    assert!(
        !plain.contains(&0x1b),
        "NO_COLOR=1:\n{}",
        String::from_utf8_lossy(&plain)
    );
    let piped = Command::new(env!("CARGO_BIN_EXE_mcp-probe"))
        .args(["discover", "-v", "-o", "json", "--"])
        .arg(support::example_server_bin())
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(piped.status.success());
    assert!(stderr(&piped).contains("mcp_probe::"));
    assert!(!piped.stderr.contains(&0x1b), "{}", stderr(&piped));
}

struct Files {
    _dir: tempfile::TempDir,
    tools: PathBuf,
    /// A plugin cache others may write: refused with a warning.
    unsafe_cache: PathBuf,
    lock: PathBuf,
}

fn files() -> Files {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let tools = dir.path().join("tools.json");
    std::fs::write(
        &tools,
        r#"{"tools": [{"name": "echo", "description": "Echoes", "inputSchema": {"type": "object"}}]}"#,
    )
    .unwrap();
    let unsafe_cache = dir.path().join("cache");
    std::fs::create_dir(&unsafe_cache).unwrap();
    std::fs::set_permissions(&unsafe_cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let lock = dir.path().join("out.lock.json");
    Files {
        _dir: dir,
        tools,
        unsafe_cache,
        lock,
    }
}

#[test]
fn warnings_show_by_default_and_quiet_hides_them() {
    let f = files();
    let tools = f.tools.to_str().unwrap();
    let cache = [("MCP_PROBE_CACHE_DIR", f.unsafe_cache.as_path())];
    let verbose = probe(&["validate", tools, "-o", "json", "-v"], &cache);
    assert_eq!(verbose.status.code(), Some(0), "{}", stderr(&verbose));
    assert!(
        stderr(&verbose).contains("WARN") && stderr(&verbose).contains("unusable"),
        "{}",
        stderr(&verbose)
    );
    // By default warnings show (without debug lines); -q leaves only errors.
    let default = probe(&["validate", tools, "-o", "json"], &cache);
    assert_eq!(default.status.code(), Some(0));
    let shown = stderr(&default);
    assert!(
        shown.contains("WARN") && shown.contains("unusable"),
        "{shown}"
    );
    assert!(!shown.contains("DEBUG"), "{shown}");
    for flags in [&["-q"][..], &["--quiet"]] {
        let mut args = vec!["validate", tools, "-o", "json"];
        args.extend(flags);
        let out = probe(&args, &cache);
        assert_eq!(out.status.code(), Some(0), "{flags:?}");
        assert_eq!(stderr(&out), "", "{flags:?}: nothing but errors");
    }
    // Notes go too: lock's count of pins.
    let lock = f.lock.to_str().unwrap();
    let noted = probe(&["lock", tools, "-o", lock], &[]);
    assert!(
        stderr(&noted).contains("pinned 1 tools"),
        "{}",
        stderr(&noted)
    );
    let quiet = probe(&["-q", "lock", tools, "-o", lock], &[]);
    assert!(quiet.status.success());
    assert_eq!(stderr(&quiet), "");
    // Both at once is a usage error.
    let both = probe(&["validate", tools, "-q", "-v"], &[]);
    assert_eq!(both.status.code(), Some(2));
}

/// The one JSON line on stderr, checked for its shape; returns its message.
fn json_error(out: &Output, code: i32) -> String {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {text}");
    let line: Value = serde_json::from_str(lines[0]).expect("a JSON object line");
    assert_eq!(line["level"], "ERROR", "{line}");
    assert_eq!(line["exit_code"], code, "{line}");
    line["message"].as_str().expect("a message").to_owned()
}

#[test]
fn json_errors_are_one_line_with_the_exit_code() {
    let f = files();
    let missing = f.tools.with_file_name("missing.json");
    let missing = missing.to_str().unwrap();
    // Bad input (2), the flag before or after the command.
    let out = probe(&["--log-format", "json", "validate", missing], &[]);
    assert!(json_error(&out, 2).contains("cannot read tool list"));
    let out = probe(&["validate", missing, "--log-format=json"], &[]);
    assert!(json_error(&out, 2).contains("missing.json"));
    // A usage error clap finds, before the flags are read.
    let out = probe(&["--log-format", "json", "validate", "--no-such-flag"], &[]);
    assert!(json_error(&out, 2).contains("--no-such-flag"));
    // A failure (1): the server cannot be started.
    let out = probe(
        &[
            "discover",
            "--log-format",
            "json",
            "--",
            "/nonexistent/server",
        ],
        &[],
    );
    let code = out.status.code().unwrap();
    assert!(code == 1 || code == 2, "{}", stderr(&out));
    assert!(json_error(&out, code).contains("/nonexistent/server"));
    // Text stays the default.
    let out = probe(&["validate", missing], &[]);
    assert!(
        stderr(&out).starts_with("mcp-probe: error: cannot read tool list"),
        "{}",
        stderr(&out)
    );
    // With -v the logs are JSON lines too, `message` at the top as in the error line.
    let tools = f.tools.to_str().unwrap();
    let out = probe(
        &[
            "--log-format",
            "json",
            "-v",
            "validate",
            tools,
            "-o",
            "json",
        ],
        &[("MCP_PROBE_CACHE_DIR", f.unsafe_cache.as_path())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<Value> = stderr(&out)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "WARN"
            && l["message"]
                .as_str()
                .is_some_and(|m| m.contains("unusable"))),
        "{lines:#?}"
    );
}
