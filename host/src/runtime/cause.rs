//! Which line of a dead server's stderr says why it died.
//!
//! The last line is often not the cause: Node ends a crash with `Node.js v20.20.2`, a usage
//! error with its `--help` hint, a JavaScript error object with `}`, a Python traceback with
//! the exception line only after the frames. The cause is looked for in the order a person
//! reading the output would: an error statement (`TypeError: …`, `Error [ERR_X]: …`,
//! `error: …`, `panic: …`, `thread 'main' panicked at …`), then a line naming a failure
//! (`cannot`, `failed`, `missing`, `required`, …), then the last line that is not boilerplate.

/// The line of `tail` that most likely carries the cause, trimmed; `None` when it has no text.
pub fn cause_line(tail: &str) -> Option<String> {
    let lines: Vec<&str> = tail.lines().map(str::trim).collect();
    let meaningful = |line: &&str| !line.is_empty() && !is_boilerplate(line);
    let last_of = |test: fn(&str) -> bool| lines.iter().rposition(|l| meaningful(l) && test(l));
    let index = last_of(is_error_statement)
        .or_else(|| last_of(names_a_failure))
        .or_else(|| lines.iter().rposition(meaningful))
        .or_else(|| lines.iter().rposition(|l| !l.is_empty()))?;
    let start = object_start(&lines, index);
    if start != index || opens_object(lines[index]) {
        return Some(object_text(&lines, start));
    }
    Some(with_continuation(&lines, index))
}

/// A line that is the error itself, as runtimes and CLI parsers print it.
fn is_error_statement(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    let prefixes = [
        "error:",
        "error ",
        "fatal:",
        "fatal ",
        "panic:",
        "uncaught ",
    ];
    if prefixes.iter().any(|p| lower.starts_with(p)) || lower.contains(": error:") {
        return true;
    }
    if lower.starts_with("thread '") && lower.contains("panicked") {
        return true;
    }
    // `TypeError: …`, `ModuleNotFoundError: …`, `java.io.IOException: …`, `Error [ERR_X]: …`,
    // `error[E0001]: …`: a dotted identifier ending in Error/Exception, then a code or a colon.
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$'))
        .unwrap_or(line.len());
    let name = line[..name_end].to_ascii_lowercase();
    let rest = line[name_end..].trim_start();
    let after_code = match rest.strip_prefix('[') {
        Some(code) => code
            .split_once(']')
            .map_or("", |(_, after)| after.trim_start()),
        None => rest,
    };
    (name.ends_with("error") || name.ends_with("exception")) && after_code.starts_with(':')
}

/// A line that names a failure in words.
fn names_a_failure(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    const WORDS: [&str; 14] = [
        "error",
        "exception",
        "failed",
        "failure",
        "cannot",
        "can't",
        "could not",
        "unable to",
        "missing",
        "required",
        "not found",
        "no such",
        "denied",
        "invalid",
    ];
    WORDS.iter().any(|w| lower.contains(w))
}

/// Lines that never carry a cause: runtime banners, stack frames, hints, lone brackets.
fn is_boilerplate(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    let frame = lower.starts_with("at ") || lower.starts_with("file \"") || line == "^";
    let banner = lower.starts_with("node.js v") || lower.starts_with("traceback (most recent");
    let hint = lower.starts_with("for more information")
        || lower.starts_with("usage:")
        || lower.starts_with("try '")
        || lower.starts_with("run with `rust_backtrace")
        || lower.starts_with("note: run with");
    let bracket = line.chars().all(|c| "{}[](),;".contains(c));
    frame || banner || hint || bracket
}

/// What to pass when `cause` asks for set-up: an environment variable it names
/// (`API_TOKEN`), or a command-line option (`--organization`).
pub fn setup_hint(cause: &str) -> Option<String> {
    let lower = cause.to_ascii_lowercase();
    let asks = [
        "missing",
        "required",
        "provide",
        "not set",
        "not provided",
        "must be set",
        "set ",
    ];
    if !asks.iter().any(|word| lower.contains(word)) {
        return None;
    }
    let words = || cause.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    let option = words().find(|w| w.len() > 3 && w.starts_with("--") && !w[2..].starts_with('-'));
    if let Some(option) = option {
        return Some(format!(
            "the server asks for {option}: pass it after `--`, or in a catalog's `command`"
        ));
    }
    let is_variable = |w: &&str| {
        w.len() >= 4
            && w.contains('_')
            && w.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && w.starts_with(|c: char| c.is_ascii_uppercase())
    };
    let variable = words().find(is_variable)?;
    Some(format!(
        "the server asks for {variable}: set it with `-e {variable}=…`, or in a catalog's `env`"
    ))
}

fn opens_object(line: &str) -> bool {
    line.ends_with('{') || line.ends_with('[')
}

/// How far `line` nests: brackets opened minus brackets closed.
fn nesting(line: &str) -> i32 {
    line.matches(['{', '[']).count() as i32 - line.matches(['}', ']']).count() as i32
}

/// The first line of the multi-line object (`{`, `Error: bad {`) the line at `index` is
/// inside, or `index` when it is inside none: the object is quoted whole, never only `{`
/// or one of its members.
fn object_start(lines: &[&str], index: usize) -> usize {
    let mut depth = 0;
    for i in (0..index).rev() {
        if lines[i].is_empty() {
            return index;
        }
        depth += nesting(lines[i]);
        if depth > 0 {
            return if opens_object(lines[i]) { i } else { index };
        }
    }
    index
}

/// The lines of the object opening at `start`, joined into one.
fn object_text(lines: &[&str], start: usize) -> String {
    let mut depth = 0;
    let mut joined = Vec::new();
    for line in &lines[start..] {
        depth += nesting(line);
        joined.push(*line);
        if depth <= 0 {
            break;
        }
    }
    joined.join(" ")
}

/// The line at `index`, and when it ends in `:` (`error: … not provided:`, `panicked at
/// src/main.rs:4:5:`) the lines that complete it, up to a blank line.
fn with_continuation(lines: &[&str], index: usize) -> String {
    let mut text = lines[index].to_owned();
    if text.ends_with(':') {
        let rest = lines[index + 1..]
            .iter()
            .take_while(|l| !l.is_empty() && !is_boilerplate(l));
        for line in rest.take(3) {
            text.push(' ');
            text.push_str(line);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::cause_line;

    fn cause(tail: &str) -> String {
        cause_line(tail).unwrap()
    }

    #[test]
    fn node_crashes_quote_the_error_not_the_version_banner() {
        let missing_module = "node:internal/modules/cjs/loader:1228\n  throw err;\n  ^\n\nError: Cannot find module 'better-sqlite3'\nRequire stack:\n- /app/index.js\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)\n    at Module._load (node:internal/modules/cjs/loader:1051:27) {\n  code: 'MODULE_NOT_FOUND',\n  requireStack: [ '/app/index.js' ]\n}\n\nNode.js v20.20.2\n";
        assert_eq!(
            cause(missing_module),
            "Error: Cannot find module 'better-sqlite3'"
        );
        let esm = "node:internal/errors:496\n    ErrorCaptureStackTrace(err);\n    ^\n\nError [ERR_MODULE_NOT_FOUND]: Cannot find package 'zod' imported from /app/x.js\n    at new NodeError (node:internal/errors:405:5) {\n  code: 'ERR_MODULE_NOT_FOUND'\n}\n\nNode.js v20.20.2";
        assert_eq!(
            cause(esm),
            "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'zod' imported from /app/x.js"
        );
        let type_error = "file:///app/dist/index.js:12\nconst x = cfg.key.trim();\n                  ^\n\nTypeError: Cannot read properties of undefined (reading 'trim')\n    at file:///app/dist/index.js:12:19\n\nNode.js v22.1.0\n";
        assert_eq!(
            cause(type_error),
            "TypeError: Cannot read properties of undefined (reading 'trim')"
        );
    }

    #[test]
    fn python_tracebacks_quote_the_exception_line() {
        let tail = "Traceback (most recent call last):\n  File \"/app/server.py\", line 3, in <module>\n    import duckdb\nModuleNotFoundError: No module named 'duckdb'\n";
        assert_eq!(cause(tail), "ModuleNotFoundError: No module named 'duckdb'");
        let chained = "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'HOME'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"x.py\", line 4\nRuntimeError: set MOTHERDUCK_TOKEN\n";
        assert_eq!(cause(chained), "RuntimeError: set MOTHERDUCK_TOKEN");
        let argparse = "usage: server.py [-h] --read-write\nserver.py: error: the following arguments are required: --read-write\n";
        assert_eq!(
            cause(argparse),
            "server.py: error: the following arguments are required: --read-write"
        );
    }

    #[test]
    fn usage_errors_quote_the_error_not_the_hint() {
        let clap = "error: the following required arguments were not provided:\n  --organization <ORG>\n\nUsage: azure-devops-mcp --organization <ORG>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            cause(clap),
            "error: the following required arguments were not provided: --organization <ORG>"
        );
        let rust_panic = "thread 'main' panicked at src/main.rs:4:5:\nno config\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            cause(rust_panic),
            "thread 'main' panicked at src/main.rs:4:5: no config"
        );
        let go = "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4]\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:9 +0x1d\nexit status 2\n";
        assert_eq!(
            cause(go),
            "panic: runtime error: invalid memory address or nil pointer dereference"
        );
    }

    #[test]
    fn a_multi_line_object_is_quoted_whole_from_its_first_line() {
        let stripe =
            "Starting server\n{\n  \"error\": \"Please provide an API key\",\n  \"code\": 1\n}\n";
        assert_eq!(
            cause(stripe),
            "{ \"error\": \"Please provide an API key\", \"code\": 1 }"
        );
        let pino = "{\"level\":30,\"msg\":\"starting\"}\nconfig invalid {\n  path: 'pandacss.config.ts'\n}\n";
        assert_eq!(cause(pino), "config invalid { path: 'pandacss.config.ts' }");
    }

    #[test]
    fn set_up_the_server_asks_for_is_named() {
        let hint = |cause: &str| super::setup_hint(cause);
        assert_eq!(
            hint("error: the following required arguments were not provided: --organization <ORG>")
                .unwrap(),
            "the server asks for --organization: pass it after `--`, or in a catalog's `command`"
        );
        assert_eq!(
            hint("fatal: missing API_TOKEN").unwrap(),
            "the server asks for API_TOKEN: set it with `-e API_TOKEN=…`, or in a catalog's `env`"
        );
        assert!(hint("RuntimeError: STRIPE_SECRET_KEY must be set")
            .unwrap()
            .contains("-e STRIPE_SECRET_KEY=…"));
        assert!(
            hint("server.py: error: the following arguments are required: --read-write")
                .unwrap()
                .contains("--read-write")
        );
        assert_eq!(
            hint("TypeError: Cannot read properties of undefined (reading 'trim')"),
            None
        );
        assert_eq!(hint("Error: connect ECONNREFUSED 127.0.0.1:5432"), None);
    }

    #[test]
    fn otherwise_the_last_line_with_text() {
        assert_eq!(
            cause("starting\nfatal: missing API_TOKEN\n"),
            "fatal: missing API_TOKEN"
        );
        assert_eq!(cause("one\ntwo\n\n"), "two");
        assert_eq!(cause("listening\n}\n"), "listening");
        assert_eq!(cause("}\n"), "}");
        assert_eq!(cause_line("\n \n"), None);
    }
}
