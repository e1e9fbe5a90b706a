//! A server that dies at start: the one error line quotes the stderr line with the cause
//! (not Node's version banner, a usage hint or a closing brace), and names the set-up the
//! server asked for.

use crate::support::Workdir;

/// `mcp-probe discover` of a server that prints `stderr` and exits 1 before answering.
fn crash(stderr: &str) -> String {
    let dir = Workdir::new();
    let file = dir.write("stderr.txt", stderr).display().to_string();
    let script = format!("cat '{file}' >&2; exit 1");
    let out = dir.run(&["discover", "-o", "json", "--", "sh", "-c", &script]);
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(out.stdout.is_empty(), "no report");
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    assert!(text.starts_with("mcp-probe: error: "), "{text}");
    assert!(
        text.contains("the server exited (exit status: 1)"),
        "{text}"
    );
    text
}

fn assert_quotes(stderr: &str, cause: &str) -> String {
    let line = crash(stderr);
    assert!(
        line.contains(&format!("; server stderr: {cause}")),
        "expected {cause:?} in {line}"
    );
    line
}

#[test]
fn node_crash_quotes_the_error_above_the_banner() {
    let missing_module = "node:internal/modules/cjs/loader:1228\n  throw err;\n  ^\n\nError: Cannot find module 'better-sqlite3'\nRequire stack:\n- /app/index.js\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15) {\n  code: 'MODULE_NOT_FOUND',\n  requireStack: [ '/app/index.js' ]\n}\n\nNode.js v20.20.2\n";
    let line = assert_quotes(missing_module, "Error: Cannot find module 'better-sqlite3'");
    assert!(!line.contains("Node.js v20"), "{line}");
}

#[test]
fn python_traceback_quotes_the_exception() {
    let tail = "Traceback (most recent call last):\n  File \"/app/server.py\", line 3, in <module>\n    raise RuntimeError('STRIPE_SECRET_KEY must be set')\nRuntimeError: STRIPE_SECRET_KEY must be set\n";
    let line = assert_quotes(tail, "RuntimeError: STRIPE_SECRET_KEY must be set");
    assert!(
        line.contains("set it with `-e STRIPE_SECRET_KEY=…`"),
        "{line}"
    );
}

#[test]
fn usage_error_quotes_the_error_and_names_the_argument() {
    let clap = "error: the following required arguments were not provided:\n  --organization <ORG>\n\nUsage: azure-devops-mcp --organization <ORG>\n\nFor more information, try '--help'.\n";
    let line = assert_quotes(
        clap,
        "error: the following required arguments were not provided: --organization <ORG>",
    );
    assert!(
        line.contains("the server asks for --organization"),
        "{line}"
    );
    let argparse = "usage: server.py [-h] --read-write\nserver.py: error: the following arguments are required: --read-write\n";
    let line = assert_quotes(
        argparse,
        "server.py: error: the following arguments are required: --read-write",
    );
    assert!(line.contains("the server asks for --read-write"), "{line}");
}

#[test]
fn a_multi_line_object_is_quoted_from_its_first_line() {
    let stripe =
        "Starting Stripe MCP\n{\n  \"error\": \"Please provide an API key\",\n  \"code\": 1\n}\n";
    assert_quotes(
        stripe,
        "{ \"error\": \"Please provide an API key\", \"code\": 1 }",
    );
}
