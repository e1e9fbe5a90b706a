//! The `hidden-characters` rule on every class of character that controls a terminal or hides
//! text (C0 controls, DEL, C1 controls, bidi controls, invisible characters), in every place a
//! tool holds text. Each case is judged as serde_json writes it (`\u001b`, `\b`, raw U+009B), as
//! Python's `json.dumps` does (every non-ASCII character a `\u` escape) and as a parsed value,
//! with and without a forbidden pattern that sends every tool to the exact scan: the finding
//! must not depend on the spelling or the path taken.

use mcp_probe_plugin_core::{validate, Finding, Policy, Tool};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// JSON text with every non-ASCII character written as a `\u` escape, as Python sends it.
fn ascii_escaped(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

fn clean() -> Value {
    json!({
        "name": "read", "title": "Read", "description": "Reads a file\nand returns\tits text\n",
        "inputSchema": {"type": "object", "properties": {"path": {
            "type": "string", "description": "Which file.\nAbsolute.\n\tOr relative."}}},
        "annotations": {"readOnlyHint": true, "title": "Read a file"}
    })
}

/// The tool with `text` put where `place` says.
fn placed(place: &str, text: &str) -> Value {
    let mut tool = clean();
    match place {
        "name" => tool["name"] = json!(format!("read{text}")),
        "title" => tool["title"] = json!(format!("Read{text}")),
        "description" => tool["description"] = json!(format!("Reads a file{text}")),
        "schema description" => {
            tool["inputSchema"]["properties"]["path"]["description"] = json!(format!("a{text}b"))
        }
        "schema key" => {
            tool["inputSchema"]["properties"][format!("p{text}")] = json!({"type": "string"})
        }
        "annotation" => tool["annotations"]["title"] = json!(format!("Read{text}")),
        "extra member" => tool["x-note"] = json!(format!("n{text}")),
        other => panic!("no place {other}"),
    }
    tool
}

const PLACES: [&str; 7] = [
    "name",
    "title",
    "description",
    "schema description",
    "schema key",
    "annotation",
    "extra member",
];

/// No pattern (only the fast look decides which tool gets the exact scan), the default ones,
/// and one that matches every tool here (every tool gets the exact scan).
const POLICIES: [&str; 3] = [
    r#"{"builtin_forbidden_patterns": false}"#,
    r#"{}"#,
    r#"{"forbidden_patterns": ["r"]}"#,
];

/// The hidden-characters findings, the same whichever way the tool is spelled or scanned.
fn hidden(tool: &Value) -> Vec<Finding> {
    let mut seen: Option<Vec<Finding>> = None;
    for policy in POLICIES {
        let policy = Policy::from_json_text(policy).unwrap();
        let serde_text = tool.to_string();
        let spellings = [serde_text.clone(), ascii_escaped(&serde_text)];
        let from_text = spellings.iter().map(|text| {
            let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
            Tool::from_entry(&raw).unwrap()
        });
        let parsed = Tool::from_json(tool.clone()).unwrap();
        for judged in from_text.chain([parsed]) {
            let found: Vec<Finding> = validate(&[judged], &policy)
                .unwrap()
                .into_iter()
                .filter(|f| f.rule == "hidden-characters")
                .collect();
            match &seen {
                None => seen = Some(found),
                Some(first) => assert_eq!(&found, first, "{tool:?}"),
            }
        }
    }
    seen.unwrap()
}

#[test]
fn line_breaks_and_tabs_are_ordinary_in_text() {
    assert_eq!(hidden(&clean()), []);
    for place in [
        "description",
        "schema description",
        "annotation",
        "extra member",
    ] {
        assert_eq!(hidden(&placed(place, "\r\nCRLF\r\n")), [], "{place}");
    }
}

#[test]
fn every_class_is_found_in_every_place() {
    let cases = [
        ("\u{1b}[2J", "control character U+001B"),
        ("\u{1b}]0;owned\u{7}", "control character U+001B"),
        (
            "\u{1b}]8;;https://evil/\u{1b}\\x",
            "control character U+001B",
        ),
        ("bell\u{7}", "control character U+0007"),
        ("back\u{8}\u{8}", "control character U+0008"),
        ("nul\u{0}", "control character U+0000"),
        ("form\u{c}feed", "control character U+000C"),
        ("del\u{7f}", "control character U+007F"),
        ("csi\u{9b}2J", "C1 control character U+009B"),
        ("osc\u{9d}0;t\u{9c}", "C1 control character U+009D"),
        ("\u{85}next line", "C1 control character U+0085"),
        ("abc\u{202e}fdp.exe", "bidi control U+202E"),
        ("\u{202a}embedded", "bidi control U+202A"),
        ("\u{2066}isolate\u{2069}", "bidi control U+2066"),
        ("mark\u{200f}", "bidi control U+200F"),
        ("mark\u{200e}", "bidi control U+200E"),
        ("arabic\u{61c}mark", "bidi control U+061C"),
        ("zero\u{200b}width", "invisible character U+200B"),
        ("tag\u{e0041}", "invisible character U+E0041"),
    ];
    for place in PLACES {
        for (text, message) in cases {
            let found = hidden(&placed(place, text));
            assert_eq!(found.len(), 1, "{place} {text:?}: {found:?}");
            assert!(
                found[0].message.starts_with(message),
                "{place} {text:?}: {}",
                found[0].message
            );
        }
    }
}

#[test]
fn a_lone_carriage_return_is_hidden_even_in_text() {
    for place in ["description", "schema description", "annotation"] {
        let found = hidden(&placed(place, "safe\rIGNORE ALL"));
        assert_eq!(found.len(), 1, "{place}: {found:?}");
        assert!(found[0].message.starts_with("control character U+000D"));
    }
}

#[test]
fn names_and_titles_are_one_line_without_tabs() {
    for place in ["name", "title"] {
        for text in ["\t", "\n", "\r\n", "\nforged  row"] {
            let found = hidden(&placed(place, text));
            assert_eq!(found.len(), 1, "{place} {text:?}: {found:?}");
            assert!(found[0].message.contains(&format!("in {place}")));
        }
    }
    // Inside a member (schemas, annotations, extra members) keys and values are text.
    for place in ["schema key", "annotation", "extra member", "description"] {
        assert_eq!(hidden(&placed(place, "\tand\nmore\r\n")), [], "{place}");
    }
}

#[test]
fn the_finding_counts_the_other_places() {
    let mut tool = placed("description", "\u{1b}[31m");
    tool["title"] = json!("T\u{202e}");
    let found = hidden(&tool);
    assert_eq!(found.len(), 1);
    assert!(found[0].message.ends_with("and 1 more places"), "{found:?}");
}
