//! A server's text never drives the terminal: hostile tool names, descriptions, server info,
//! stderr, JSON-RPC error messages and catalog names (ESC sequences, OSC titles and links, BEL,
//! CR, LF, backspace, DEL, C1 controls, bidi and invisible characters) reach `-o table`, the
//! error line and the text logs escaped, one row per tool; `-o json` keeps them exact.

use crate::support;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;

/// Each class of hostile text, several of a kind.
const HOSTILE: [(&str, &str); 22] = [
    ("clear screen", "\u{1b}[2J\u{1b}[H"),
    ("erase line", "\u{1b}[2K\u{1b}[1A"),
    ("sgr colour", "\u{1b}[31;1mred"),
    ("osc title", "\u{1b}]0;owned\u{7}"),
    ("osc title st", "\u{1b}]2;owned\u{1b}\\"),
    (
        "osc 8 link",
        "\u{1b}]8;;https://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\",
    ),
    ("bell", "ring\u{7}\u{7}"),
    ("forged row", "\n  forged_tool  A forged row"),
    ("carriage return", "hidden\rshown"),
    ("backspace", "abc\u{8}\u{8}\u{8}xyz"),
    ("nul and del", "a\u{0}b\u{7f}"),
    ("8-bit csi", "csi\u{9b}2J"),
    ("8-bit osc", "\u{9d}0;owned\u{9c}"),
    ("next line", "a\u{85}b"),
    ("rlo", "abc\u{202e}fdp.exe"),
    ("lre and pdf", "\u{202a}x\u{202c}"),
    ("rle and lro", "\u{202b}y\u{202d}"),
    ("isolates", "\u{2066}a\u{2067}b\u{2068}c\u{2069}"),
    ("marks", "l\u{200e}r\u{200f}"),
    ("arabic mark", "n\u{61c}m"),
    ("zero width", "exec\u{200b}_shell"),
    ("tag characters", "tag\u{e0041}\u{e0042}"),
];

/// The characters a terminal must never receive from a server (a line feed ends our own lines).
fn unsafe_chars(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            let u = c as u32;
            (u < 0x20 && c != '\n')
                || (0x7f..=0x9f).contains(&u)
                || matches!(u, 0x061c | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2069)
                || matches!(u, 0xfeff | 0xe0000..=0xe007f)
        })
        .collect()
}

fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    let found = unsafe_chars(text);
    assert!(found.is_empty(), "{what}: raw {found:?} in:\n{text}");
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("forged")),
        "{what}: a forged line:\n{text}"
    );
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// A terminal_server.py config in `dir`, and the command that serves it.
fn server(dir: &support::Workdir, config: &Value) -> Vec<String> {
    let path = dir.write("server.json", config.to_string());
    vec![
        "python3".into(),
        fixture("terminal_server.py"),
        path.display().to_string(),
    ]
}

fn hostile_tools() -> Vec<Value> {
    HOSTILE
        .iter()
        .enumerate()
        .map(|(i, (_, text))| {
            json!({
                "name": format!("t{i:02}{text}"),
                "title": format!("T{text}"),
                "description": format!("d{i:02}{text} tail"),
                "inputSchema": {"type": "object", "properties": {
                    "p": {"type": "string", "description": format!("p{text}")}}},
                "annotations": {"readOnlyHint": true}
            })
        })
        .collect()
}

fn discover(dir: &support::Workdir, command: &[String], flags: &[&str]) -> Output {
    let mut args = vec!["discover"];
    args.extend(flags);
    args.push("--");
    args.extend(command.iter().map(String::as_str));
    dir.run(&args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one error line on stderr, checked safe; returns it.
fn error_line(out: &Output, code: i32) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert_terminal_safe("stderr", &out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("mcp-probe: error: "), "{stderr}");
    lines[0].to_owned()
}

#[test]
fn discover_table_escapes_every_hostile_name_and_description() {
    require!(support::require_program("python3"));
    let dir = support::Workdir::new();
    let command = server(
        &dir,
        &json!({
            "tools": hostile_tools(),
            "server_info": {"name": "srv\u{1b}]0;owned\u{7}", "version": "1\u{202e}0\n  forged_info"},
        }),
    );
    let out = discover(&dir, &command, &["-o", "table"]);
    // Exit 3: the findings (names outside the pattern, hidden characters) are errors.
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_terminal_safe("table", &out.stdout);
    assert_terminal_safe("stderr", &out.stderr);
    let table = text(&out.stdout);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("  t") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .collect();
    assert_eq!(rows.len(), HOSTILE.len(), "one row per tool:\n{table}");
    for shown in [
        "t00\\x1b[2J\\x1b[H",
        "\\x1b]0;owned\\x07",
        "t07\\n  forged_tool  A forged row",
        "hidden\\rshown",
        "abc\\x08\\x08\\x08xyz",
        "a\\x00b\\x7f",
        "csi\\u{9b}2J",
        "abc\\u{202e}fdp.exe",
        "\\u{2066}a\\u{2067}b\\u{2068}c\\u{2069}",
        "exec\\u{200b}_shell",
        "tag\\u{e0041}\\u{e0042}",
        "server:    srv\\x1b]0;owned\\x07 1\\u{202e}0\\n  forged_info",
    ] {
        assert!(table.contains(shown), "{shown} not shown in:\n{table}");
    }
    // A finding quoting a hostile name is escaped too.
    assert!(
        table.contains("t00\\x1b[2J\\x1b[H: name-pattern: name \"t00"),
        "{table}"
    );

    let out = discover(&dir, &command, &["-o", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tools = report["tools"].as_array().unwrap();
    assert_eq!(tools.len(), HOSTILE.len());
    for (i, (label, hostile)) in HOSTILE.iter().enumerate() {
        assert_eq!(tools[i]["name"], format!("t{i:02}{hostile}"), "{label}");
        assert_eq!(tools[i]["description"], format!("d{i:02}{hostile} tail"));
    }
    assert_eq!(
        report["server_info"]["version"],
        "1\u{202e}0\n  forged_info"
    );
    // JSON is data: the bidi and C1 characters are kept as sent, controls are JSON escapes.
    let raw = text(&out.stdout);
    assert!(raw.contains("abc\u{202e}fdp.exe") && raw.contains("csi\u{9b}2J"));
    assert!(!out.stdout.contains(&0x1b) && raw.contains("\\u001b[2J"));
    // YAML is data too: its own escapes for controls (`\e`, `\x9B`), the text otherwise exact.
    let out = discover(&dir, &command, &["-o", "yaml"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    assert!(
        !out.stdout.contains(&0x1b) && !yaml.contains('\u{9b}'),
        "{yaml}"
    );
    assert!(yaml.contains("abc\u{202e}fdp.exe"), "{yaml}");
}

#[test]
fn a_dying_servers_hostile_stderr_is_one_escaped_error_line() {
    require!(support::require_program("python3"));
    let dir = support::Workdir::new();
    for (label, hostile) in HOSTILE {
        // The last stderr line is the one the error quotes; a line feed would split it.
        let last = hostile.replace('\n', "");
        let stderr = format!("starting\n{hostile}\nfatal: {last} end\n");
        let command = server(&dir, &json!({"stderr": stderr, "die": true}));
        let out = discover(&dir, &command, &["-o", "table", "--timeout", "20"]);
        let line = error_line(&out, 1);
        assert!(line.contains("server stderr: fatal: "), "{label}: {line}");
        assert!(line.ends_with(" end"), "{label}: {line}");
    }
}

#[test]
fn hostile_json_rpc_error_messages_are_one_escaped_error_line() {
    require!(support::require_program("python3"));
    let dir = support::Workdir::new();
    for key in ["init_error", "list_error"] {
        for (label, hostile) in HOSTILE {
            let message = format!("bad{hostile}\nmcp-probe: error: forged second line");
            let command = server(&dir, &json!({ key: message }));
            let out = discover(&dir, &command, &["-o", "table", "--timeout", "20"]);
            let line = error_line(&out, 1);
            assert!(line.contains("bad"), "{key} {label}: {line}");
            assert!(line.contains("forged second line"), "{key} {label}: {line}");
        }
    }
    // One shown escaped, exactly.
    let command = server(
        &dir,
        &json!({"list_error": "x\u{1b}]0;t\u{7}\u{202e}y\u{9b}"}),
    );
    let line = error_line(&discover(&dir, &command, &["-o", "table"]), 1);
    assert!(line.contains("x\\x1b]0;t\\x07\\u{202e}y\\u{9b}"), "{line}");
}

#[test]
fn verbose_logs_of_hostile_stderr_and_stdout_stay_escaped_lines() {
    require!(support::require_program("python3"));
    let dir = support::Workdir::new();
    let all: String = HOSTILE.iter().map(|(_, text)| *text).collect();
    let command = server(
        &dir,
        &json!({
            "tools": hostile_tools(),
            "stderr": format!("{all}\nWARN mcp_probe: forged\n"),
            "stdout_noise": all.replace('\n', " "),
        }),
    );
    let out = discover(&dir, &command, &["-o", "json", "-vv"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_terminal_safe("-vv stderr", &out.stderr);
    let logs = text(&out.stderr);
    assert!(logs.contains("\\x1b]8;;https://evil.example/"), "{logs}");
    assert!(logs.contains("\\u{202e}"), "{logs}");
    // Every line is a log line of ours: none starts with what the server wrote.
    for line in logs.lines() {
        assert!(
            line.contains("mcp_probe"),
            "a line that is not a log line: {line:?}"
        );
        assert!(!line.starts_with("WARN mcp_probe: forged"), "{line}");
    }
}

#[test]
fn validate_table_escapes_findings_and_json_keeps_the_text() {
    let dir = support::Workdir::new();
    let tools = dir.write("tools.json", json!({"tools": hostile_tools()}).to_string());
    let tools = tools.to_str().unwrap();
    let out = dir.run(&["validate", tools, "-o", "table"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_terminal_safe("validate table", &out.stdout);
    let table = text(&out.stdout);
    assert!(
        table.ends_with(&format!("{} tools; ", HOSTILE.len()))
            || table.contains(&format!("\n{} tools; ", HOSTILE.len())),
        "{table}"
    );
    assert!(table.contains("t08hidden\\rshown: "), "{table}");
    let out = dir.run(&["validate", tools, "-o", "json"]);
    let processed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(processed["tools"][14]["name"], "t14abc\u{202e}fdp.exe");
}

#[test]
fn scan_table_escapes_hostile_target_names_and_errors() {
    require!(support::require_program("python3"));
    let dir = support::Workdir::new();
    let good = server(
        &dir,
        &json!({"tools": [{"name": "ok", "description": "fine",
        "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": true}}]}),
    );
    let dying = |hostile: &str| -> Vec<String> {
        let script = format!(
            "import sys; sys.stderr.write({:?}); sys.exit(1)",
            format!("fatal {hostile}")
        );
        vec!["python3".into(), "-c".into(), script]
    };
    let targets: Vec<Value> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, (_, hostile))| {
            let command = if i % 2 == 0 {
                good.clone()
            } else {
                dying(hostile)
            };
            json!({"name": format!("n{i:02}{hostile}"), "command": command})
        })
        .collect();
    let catalog = dir.write("catalog.json", json!({ "targets": targets }).to_string());
    let catalog = catalog.to_str().unwrap();
    let out = dir.run(&[
        "scan",
        catalog,
        "--no-cache",
        "-o",
        "table",
        "--timeout",
        "20",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_terminal_safe("scan table", &out.stdout);
    assert_terminal_safe("scan stderr", &out.stderr);
    let table = text(&out.stdout);
    let rows = table.lines().filter(|l| l.starts_with('n')).count();
    assert_eq!(
        rows,
        HOSTILE.len() + 1,
        "a header and a row per target:\n{table}"
    );
    assert!(
        table.contains("n07\\n  forged_tool  A forged row"),
        "{table}"
    );
    assert!(table.contains("n14abc\\u{202e}fdp.exe"), "{table}");
    // The JSON lines keep the names exact.
    let out = dir.run(&[
        "scan",
        catalog,
        "--no-cache",
        "-o",
        "jsonl",
        "--timeout",
        "20",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let names: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for (i, (_, hostile)) in HOSTILE.iter().enumerate() {
        assert!(names.contains(&format!("n{i:02}{hostile}")), "{names:?}");
    }
}

/// A built-in component copied to a file whose name is hostile.
fn hostile_plugin(dir: &support::Workdir, hostile: &str) -> PathBuf {
    let dist = support::repo_root().join("plugins/dist/validate.wasm");
    let path = dir.path(&format!("p{}.wasm", hostile.replace(['/', '\0'], "_")));
    std::fs::copy(dist, &path).unwrap();
    path
}

#[test]
fn plugins_tables_escape_hostile_file_names() {
    let dir = support::Workdir::new();
    let mut stages = Vec::new();
    let mut files = Vec::new();
    for (_, hostile) in HOSTILE {
        let path = hostile_plugin(&dir, hostile);
        stages.push(json!({"plugin": path.display().to_string()}));
        files.push(path);
    }
    let pipeline = dir.write("pipeline.json", json!({ "stage": stages }).to_string());
    let out = dir.run(&[
        "plugins",
        "list",
        "--pipeline",
        pipeline.to_str().unwrap(),
        "-o",
        "table",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_terminal_safe("plugins list", &out.stdout);
    let rows = text(&out.stdout)
        .lines()
        .filter(|l| l.contains("stage "))
        .count();
    assert_eq!(rows, HOSTILE.len(), "{}", text(&out.stdout));
    for file in &files {
        let out = dir.run(&["plugins", "check", file.to_str().unwrap(), "-o", "table"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_terminal_safe("plugins check", &out.stdout);
        assert_eq!(
            text(&out.stdout).lines().count(),
            6,
            "{}",
            text(&out.stdout)
        );
    }
}

/// Drops the colour sequences (`ESC [ … m`) the log formatter itself writes on a terminal.
fn without_colour(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\u{1b}[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find(|c: char| !(c.is_ascii_digit() || c == ';'));
        match end {
            Some(end) if after[end..].starts_with('m') => rest = &after[end + 1..],
            // Not a colour: kept, for the check to find.
            _ => {
                out.push_str("\u{1b}[");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn coloured_logs_on_a_terminal_carry_only_their_own_colour_codes() {
    require!(support::require_program("python3"));
    let dir = support::Workdir::new();
    let all: String = HOSTILE.iter().map(|(_, text)| *text).collect();
    let command = server(
        &dir,
        &json!({"tools": hostile_tools(), "stderr": all, "list_error": format!("bad{all}")}),
    );
    let mut probe = std::process::Command::new(support::probe_bin());
    probe
        .args(["discover", "-v", "-o", "json", "--"])
        .args(&command)
        .env("MCP_PROBE_CACHE_DIR", dir.path("cache"))
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::null());
    let (status, seen) = support::stderr_on_a_terminal(probe);
    assert_eq!(status.code(), Some(1));
    let seen = text(&seen);
    assert!(seen.contains("\u{1b}["), "a terminal gets colour:\n{seen}");
    // The terminal turns our line feeds into CR LF.
    let plain = without_colour(&seen).replace("\r\n", "\n");
    assert_terminal_safe("coloured -v stderr", plain.as_bytes());
    assert!(
        plain.contains("\\x1b[2J") && plain.contains("mcp-probe: error: "),
        "{plain}"
    );
}

/// What `hidden-characters` says of each `HOSTILE` tool: the class and first character, in
/// the first place the rule looks (the description, where a line feed is ordinary).
const HIDDEN_FINDING: [&str; 22] = [
    "control character U+001B in description",
    "control character U+001B in description",
    "control character U+001B in description",
    "control character U+001B in description",
    "control character U+001B in description",
    "control character U+001B in description",
    "control character U+0007 in description",
    "control character U+000A in name",
    "control character U+000D in description",
    "control character U+0008 in description",
    "control character U+0000 in description",
    "C1 control character U+009B in description",
    "C1 control character U+009D in description",
    "C1 control character U+0085 in description",
    "bidi control U+202E in description",
    "bidi control U+202A in description",
    "bidi control U+202B in description",
    "bidi control U+2066 in description",
    "bidi control U+200E in description",
    "bidi control U+061C in description",
    "invisible character U+200B in description",
    "invisible character U+E0041 in description",
];

#[test]
fn the_builtin_validator_names_each_hidden_class() {
    require!(support::require_program("python3"));
    let dir = support::Workdir::new();
    let command = server(&dir, &json!({"tools": hostile_tools()}));
    let out = discover(&dir, &command, &["-o", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    for (i, expected) in HIDDEN_FINDING.iter().enumerate() {
        let name = format!("t{i:02}{}", HOSTILE[i].1);
        let hidden: Vec<&Value> = findings
            .iter()
            .filter(|f| f["rule"] == "hidden-characters" && f["tool"] == name.as_str())
            .collect();
        assert_eq!(hidden.len(), 1, "{}: {findings:?}", HOSTILE[i].0);
        let message = hidden[0]["message"].as_str().unwrap();
        assert!(message.starts_with(expected), "{}: {message}", HOSTILE[i].0);
        assert_eq!(hidden[0]["severity"], "error");
    }
    // A clean tool beside them: no finding, and tab, LF and CR LF in its text are ordinary.
    let clean = json!({"name": "read", "title": "Read", "inputSchema": {"type": "object",
        "properties": {"p": {"type": "string", "description": "a\n\tb\r\nc"}}},
        "description": "Reads.\r\n\tIndented.\n", "annotations": {"readOnlyHint": true}});
    let command = server(&dir, &json!({ "tools": [clean] }));
    let out = discover(&dir, &command, &["-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}
