//! `lock` and the validator must hash a tool alike: a lock written from a tool list never makes
//! the validator report a pin finding on that same list, whatever the tools hold (a
//! disagreement would be a false rug-pull alarm in every user's CI). A property over generated
//! tool lists as a server would send them: unicode and escapes, number literals such as `1.0`,
//! `1e3`, `-0.0` and integers past 64 bits, any key order, nested `_meta`, icons.

use mcp_probe::model::Tool;
use mcp_probe::plugins::{DiscoveryContext, Pipeline};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Number literals whose text and value differ in the ways JSON allows.
const NUMBERS: &[&str] = &[
    "0",
    "1.0",
    "1e3",
    "1E-7",
    "-0.0",
    "-0",
    "3.14159265358979323846",
    "18446744073709551616",
    "-9223372036854775809",
    "12345678901234567890123.5",
];

fn string_literal() -> impl Strategy<Value = String> {
    let plain = "[a-z_]{1,10}";
    let unicode = "\\PC{0,12}";
    let awkward = Just("quote \" backslash \\ nul \u{0} ctl \u{1f} sep \u{2028} é 😀".to_owned());
    prop_oneof![plain.prop_map(String::from), unicode, awkward]
        .prop_map(|s| serde_json::to_string(&s).unwrap())
}

fn number_literal() -> impl Strategy<Value = String> {
    prop::sample::select(NUMBERS).prop_map(str::to_owned)
}

/// A JSON object written out by hand, its members in the order generated.
fn object(members: Vec<(String, String)>) -> String {
    let inner: Vec<String> = members
        .into_iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::to_string(&k).unwrap()))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn property() -> impl Strategy<Value = String> {
    (string_literal(), number_literal(), any::<bool>()).prop_map(|(description, number, int)| {
        let kind = if int { "\"integer\"" } else { "\"number\"" };
        object(vec![
            ("type".into(), kind.into()),
            ("default".into(), number),
            ("description".into(), description),
        ])
    })
}

fn meta() -> impl Strategy<Value = String> {
    (number_literal(), string_literal()).prop_map(|(number, text)| {
        let inner = object(vec![("n".into(), number), ("s".into(), text.clone())]);
        object(vec![
            ("io.example/deep".into(), format!("[{inner},[{text}]]")),
            ("z".into(), "null".into()),
        ])
    })
}

/// One tool's JSON text; `index` keeps names unique.
fn tool(index: usize) -> impl Strategy<Value = String> {
    (
        string_literal(),
        prop::collection::vec(("[a-zA-Z]{1,6}", property()), 0..4),
        prop::option::of(meta()),
        any::<bool>(),
        any::<bool>(),
        "\\PC{0,6}",
    )
        .prop_flat_map(
            move |(description, properties, meta, icons, annotations, suffix)| {
                let name = serde_json::to_string(&format!("tool_{index}{suffix}")).unwrap();
                let schema = object(vec![
                    ("type".into(), "\"object\"".into()),
                    ("properties".into(), object(properties)),
                ]);
                let mut members = vec![
                    ("name".to_owned(), name),
                    ("description".into(), description),
                    ("inputSchema".into(), schema),
                ];
                if let Some(meta) = meta {
                    members.push(("_meta".into(), meta));
                }
                if icons {
                    let icon = r#"[{"src":"https://example.com/i.png","mimeType":"image/png","sizes":["48x48"]}]"#;
                    members.push(("icons".into(), icon.into()));
                }
                if annotations {
                    members.push((
                        "annotations".into(),
                        r#"{"readOnlyHint":true,"destructiveHint":false}"#.into(),
                    ));
                }
                Just(members).prop_shuffle().prop_map(object)
            },
        )
}

fn tool_list() -> impl Strategy<Value = String> {
    (1usize..5)
        .prop_flat_map(|n| (0..n).map(tool).collect::<Vec<_>>())
        .prop_map(|tools| format!("[{}]", tools.join(",")))
}

/// The tools of `text` as the session hands them to the pipeline.
fn parse(text: &str) -> Vec<Tool> {
    let entries: Vec<Value> = serde_json::from_str(text).expect("generated JSON parses");
    entries
        .into_iter()
        .map(|entry| Tool::from_json(entry).expect("an object"))
        .collect()
}

fn context() -> DiscoveryContext {
    DiscoveryContext {
        source: "generated".into(),
        discovery_method: "file".into(),
        server_info: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn validating_with_a_fresh_lock_gives_no_pin_finding(text in tool_list()) {
        let pipeline = Pipeline::builtin().expect("the built-in pipeline loads");
        let normalized = pipeline.normalize(parse(&text), &context()).unwrap();
        let lock = mcp_probe::lockfile::document(&normalized.tools).unwrap();
        let pins = lock["pins"].clone();
        prop_assert_eq!(pins.as_object().unwrap().len(), normalized.tools.len());
        let pinned = Pipeline::builtin().unwrap().with_policy(json!({ "pins": pins }));
        let processed = pinned.process(parse(&text), &context()).unwrap();
        let pin_findings: Vec<_> = processed
            .findings
            .iter()
            .filter(|f| f.rule.starts_with("pin-"))
            .collect();
        prop_assert!(pin_findings.is_empty(), "{:?} for {}", pin_findings, text);
    }
}

/// The property can fail: one changed byte of a definition is a pin mismatch.
#[test]
fn a_changed_definition_is_a_pin_mismatch() {
    let text = r#"[{"name":"echo","description":"Echoes.","inputSchema":{"type":"object"}}]"#;
    let pipeline = Pipeline::builtin().unwrap();
    let normalized = pipeline.normalize(parse(text), &context()).unwrap();
    let pins = mcp_probe::lockfile::document(&normalized.tools).unwrap()["pins"].clone();
    let pinned = Pipeline::builtin()
        .unwrap()
        .with_policy(json!({ "pins": pins }));
    let changed = text.replace("Echoes.", "Echoes!");
    let processed = pinned.process(parse(&changed), &context()).unwrap();
    assert!(
        processed.findings.iter().any(|f| f.rule == "pin-mismatch"),
        "{:?}",
        processed.findings
    );
}
