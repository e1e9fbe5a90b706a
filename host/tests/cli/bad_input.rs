//! Bad input is exit 2 with one `mcp-probe: error: …` line: argument errors clap finds, a
//! pipeline naming a built-in that does not exist, and hostile `scan merge` input (huge or
//! contradictory totals, indexes past the total, duplicate names, lines that are not JSON),
//! which is refused at once, within bounded time and memory, leaving no output file behind.

use crate::support::{self, Workdir};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2, nothing on stdout and exactly one stderr line `mcp-probe: error: …`; the line.
fn one_line_error(out: &Output, what: &str) -> String {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{what}: {text}");
    assert!(out.stdout.is_empty(), "{what}: stdout {:?}", out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: one line: {text}");
    assert!(lines[0].starts_with("mcp-probe: error: "), "{what}: {text}");
    lines[0].to_owned()
}

fn probe(args: &[&str]) -> Output {
    Command::new(support::probe_bin())
        .args(args)
        .output()
        .expect("mcp-probe runs")
}

#[test]
fn argument_errors_are_one_line_of_ours_and_help_is_not_an_error() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["discover", "--bogus"],
            "unexpected argument '--bogus' found",
        ),
        (&["validatee"], "unrecognized subcommand 'validatee'"),
        (&["scan", "--jobs", "0", "c.yaml"], "0 is not in 1..=1024"),
        (
            &["scan", "c.yaml", "--shard", "4/4"],
            "expected K/N with 0 <= K < N",
        ),
        (&["scan"], "required arguments were not provided: <CATALOG>"),
        (&["lock"], "<TOOLS.json>"),
        (&["discover", "-o", "xml", "--", "x"], "invalid value 'xml'"),
        (
            &["scan", "c.yaml", "--cache-ttl", "soon"],
            "is not a duration",
        ),
        (&["-q", "-v", "plugins", "list"], "cannot be used with"),
        // One duration grammar for every flag.
        (
            &["discover", "--timeout", "0", "--", "x"],
            "must be above zero",
        ),
        (&["gc", "--older-than", "1mo"], "is not a duration"),
        (&["gc", "--older-than=-5m"], "is negative"),
        (
            &["scan", "c.yaml", "--cache-ttl", "400d"],
            "longer than a year",
        ),
    ];
    for (args, expected) in cases {
        let line = one_line_error(&probe(args), &format!("{args:?}"));
        assert!(line.contains(expected), "{args:?}: {line}");
        assert!(!line.contains("Usage:"), "{args:?}: {line}");
    }
    // A tip stays on the line.
    let line = one_line_error(&probe(&["validatee"]), "validatee");
    assert!(
        line.contains("(tip: a similar subcommand exists: 'validate')"),
        "{line}"
    );
    for args in [
        &["--help"][..],
        &["--version"],
        &["scan", "--help"],
        &["help", "lock"],
    ] {
        let out = probe(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(!out.stdout.is_empty() && out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn a_built_in_that_does_not_exist_is_bad_input() {
    let w = Workdir::new();
    let tools = w.write("tools.json", r#"{"tools": [{"name": "t"}]}"#);
    let tools = tools.to_str().unwrap();
    for name in [
        "builtin:nope",
        "builtin:",
        "builtin:Validate",
        "builtin:validate.wasm",
    ] {
        let pipeline = w.write("pipeline.toml", format!("[[stage]]\nplugin = \"{name}\"\n"));
        let pipeline = pipeline.to_str().unwrap();
        for args in [
            vec!["validate", tools, "--pipeline", pipeline],
            vec!["lock", tools, "--pipeline", pipeline, "-o", "out.lock.json"],
            vec!["validate", tools, "--plugin", name],
        ] {
            let line = one_line_error(&w.run(&args), &format!("{args:?}"));
            assert!(line.contains("no such built-in plugin"), "{args:?}: {line}");
        }
        assert!(!w.path("out.lock.json").exists());
    }
}

/// `scan merge FILES… --output-file OUT` in `w`: the output and whether OUT was written.
fn merge(w: &Workdir, shards: &[(&str, &str)]) -> (Output, bool) {
    let mut args = vec!["scan".to_owned(), "merge".to_owned()];
    for (name, text) in shards {
        args.push(w.write(name, text).display().to_string());
    }
    let out_file = w.path("merged.jsonl");
    let _ = std::fs::remove_file(&out_file);
    args.extend(["--output-file".into(), out_file.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = w.run(&args);
    (out, out_file.exists())
}

fn line(index: u64, total: u64, name: &str) -> String {
    format!(
        "{{\"index\":{index},\"total\":{total},\"name\":\"{name}\",\"outcome\":\"ok\",\"report\":{{\"findings\":[]}}}}\n"
    )
}

#[test]
fn hostile_merge_input_is_refused_at_once_as_bad_input() {
    let w = Workdir::new();
    let huge = line(0, 1_000_000_000_000, "a");
    let max = line(0, u64::MAX, "a");
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("a", line(3, 3, "x"))],
            "a:1: not a scan result line (index 3 is not below total 3)",
        ),
        (vec![("a", line(u64::MAX, 2, "x"))], "is not below total 2"),
        (vec![("a", line(0, 0, "x"))], "total 0"),
        (
            vec![("a", line(0, 2, "x")), ("b", line(1, 3, "y"))],
            "the shards disagree on the catalog's size (2 and 3 targets",
        ),
        (
            vec![("a", line(0, 2, "x")), ("b", line(1, 2, "x"))],
            "target name \"x\" appears twice",
        ),
        (
            vec![("a", line(1, 2, "x")), ("b", line(1, 2, "y"))],
            "target 1 appears twice",
        ),
        (
            vec![("a", "not json\n".into())],
            "a:1: not a scan result line",
        ),
        (vec![("a", "{\"total\": 2}\n".into())], "no index"),
        (
            vec![("a", "{\"index\": 0, \"total\": -2}\n".into())],
            "no total",
        ),
        (vec![("a", "[]\n".into())], "no index"),
    ];
    for (shards, expected) in &cases {
        let shards: Vec<(&str, &str)> = shards.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let (out, written) = merge(&w, &shards);
        let line = one_line_error(&out, expected);
        assert!(line.contains(expected), "{line}");
        assert!(!written, "{expected}: an output file was written");
    }
    // A huge total is a missing-targets failure (exit 1), named in a few indexes, at once.
    for text in [&huge, &max] {
        let started = Instant::now();
        let (out, written) = merge(&w, &[("h", text)]);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("mcp-probe: error: targets 1, 2, 3, 4, 5 and "),
            "{err}"
        );
        assert!(err.len() < 200, "{err}");
        assert!(!written);
    }
    let leftovers: Vec<String> = std::fs::read_dir(w.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
