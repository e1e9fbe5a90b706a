//! `mcp-probe schema NAME`: each printed JSON Schema accepts real documents of its kind (made by
//! the built binary, or the examples the repository ships) and refuses what the real reader
//! refuses.

use crate::support;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

use support::Workdir as Env;

/// What these tests ask of a run besides [`Env::run`].
trait SchemaRuns {
    fn json(&self, args: &[&str], code: i32) -> Value;
    fn schema(&self, name: &str) -> Schema;
}

impl SchemaRuns for Env {
    /// ARGS run to exit code `code`; stdout as JSON.
    fn json(&self, args: &[&str], code: i32) -> Value {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}; {stderr}"))
    }
    /// The schema `mcp-probe schema NAME` prints, compiled.
    fn schema(&self, name: &str) -> Schema {
        let schema = self.json(&["schema", name], 0);
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        let validator = jsonschema::draft202012::new(&schema)
            .unwrap_or_else(|e| panic!("{name}: not a valid schema: {e}"));
        Schema {
            name: name.to_owned(),
            validator,
        }
    }
}

struct Schema {
    name: String,
    validator: jsonschema::Validator,
}

impl Schema {
    fn accepts(&self, doc: &Value, what: &str) {
        let errors: Vec<String> = self
            .validator
            .iter_errors(doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} refuses {what}: {errors:#?}\n{doc:#}",
            self.name
        );
    }
    fn refuses(&self, doc: &Value, what: &str) {
        assert!(
            !self.validator.is_valid(doc),
            "{} accepts {what}: {doc:#}",
            self.name
        );
    }
    /// Accepts exactly what the real reader accepts.
    fn agrees(&self, doc: &Value, reader_accepts: bool, what: &str) {
        match reader_accepts {
            true => self.accepts(doc, what),
            false => self.refuses(doc, what),
        }
    }
}

fn example(path: &str) -> PathBuf {
    support::repo_root().join(path)
}

fn tools_file(env: &Env) -> PathBuf {
    env.write(
        "tools.json",
        json!({"tools": [
            {"name": "echo", "description": "Echoes", "inputSchema": {"type": "object"}},
            {"name": "bad name", "inputSchema": {"type": "object"}, "x-vendor": 1},
        ]})
        .to_string(),
    )
}

#[test]
fn result_schema_accepts_a_discover_report() {
    let env = Env::new();
    let schema = env.schema("result");
    let server = support::example_server_bin();
    let server = server.to_str().unwrap();
    for era in ["modern", "legacy"] {
        let report = env.json(
            &[
                "discover",
                "-o",
                "json",
                "--protocol-era",
                era,
                "--",
                server,
            ],
            0,
        );
        assert!(!report["tools"].as_array().unwrap().is_empty());
        schema.accepts(&report, &format!("the {era} report"));
        let mut broken = report.clone();
        broken["tools_supported"] = json!("yes");
        schema.refuses(&broken, "tools_supported as a string");
        broken.as_object_mut().unwrap().remove("tools");
        schema.refuses(&broken, "a report without tools");
    }
}

#[test]
fn validation_schema_accepts_what_validate_prints() {
    let env = Env::new();
    let schema = env.schema("validation");
    let tools = tools_file(&env);
    let output = env.json(&["validate", tools.to_str().unwrap(), "-o", "json"], 0);
    assert!(!output["findings"].as_array().unwrap().is_empty());
    schema.accepts(&output, "validate's output");
    let mut broken = output.clone();
    broken["findings"][0]["severity"] = json!("fatal");
    schema.refuses(&broken, "an unknown severity");
    // -o yaml is the same document.
    let out = env.run(&["validate", tools.to_str().unwrap(), "-o", "yaml"]);
    let yaml: Value = serde_saphyr::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(yaml, output);
}

#[test]
fn policy_schema_agrees_with_the_validator() {
    let env = Env::new();
    let schema = env.schema("policy");
    let tools = tools_file(&env);
    let example_policy = example("examples/policy.json");
    let shipped: Value =
        serde_json::from_str(&std::fs::read_to_string(&example_policy).unwrap()).unwrap();
    let digest = "ab".repeat(32);
    let cases = [
        (shipped.clone(), "examples/policy.json"),
        (json!({}), "the empty policy"),
        (
            json!({"$schema": "x", "x-other-plugin": {"any": 1}}),
            "x- keys",
        ),
        (
            json!({"pins": {"echo": format!("sha256:{digest}")}}),
            "pins",
        ),
        (json!({"nmae_pattern": "^a$"}), "an unknown key"),
        (
            json!({"rules": {"no-such-rule": "error"}}),
            "an unknown rule",
        ),
        (json!({"rules": {"max-tools": "fatal"}}), "an unknown level"),
        (json!({"version": 2}), "version 2"),
        (json!({"pins": {"echo": "xyz"}}), "a pin that is no digest"),
        (json!({"max_tools": "many"}), "a string for a number"),
    ];
    let mut refused = 0;
    for (index, (policy, what)) in cases.iter().enumerate() {
        let path = env.write(&format!("policy{index}.json"), policy.to_string());
        let out = env.run(&[
            "validate",
            tools.to_str().unwrap(),
            "-o",
            "json",
            "--policy",
            path.to_str().unwrap(),
        ]);
        let code = out.status.code().unwrap();
        assert!(
            [0, 2, 3].contains(&code),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        refused += usize::from(code == 2);
        schema.agrees(policy, code != 2, what);
    }
    assert_eq!(refused, 6, "the validator refused each bad policy");
}

/// The catalog in the scan Job's ConfigMap.
fn shipped_catalog() -> String {
    let text = std::fs::read_to_string(example("examples/scan-job.yaml")).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    docs.iter()
        .find_map(|d| d["data"]["catalog.yaml"].as_str())
        .expect("a catalog in examples/scan-job.yaml")
        .to_owned()
}

#[test]
fn catalog_schema_agrees_with_the_catalog_reader() {
    use mcp_probe::scan::Catalog;
    let schema = Env::new().schema("catalog");
    let shipped = shipped_catalog();
    let image = r#"{name: fs, image: "ghcr.io/org/srv:1", args: ["--x"], env: {K: v}, secret_env: {S: t}, transport: stdio, port: 9000, namespace: ns}"#;
    let cases = [
        shipped.as_str(),
        // The examples of scan/catalog.rs's documentation.
        "targets:\n  - {name: api, url: \"http://h/mcp\", headers: {Authorization: \"Bearer x\"}}\n  - {name: local, command: [\"node\", \"server.js\"], env: {K: v}}",
        &format!("targets: [{image}]"),
        "targets: []",
        "targets:\n  - name: a\n    command: [x]\n    imgae: y\n",
        "targets: [{name: a, url: 'http://h', args: [x]}]",
        "targets: [{name: a, url: 'http://h', env: {K: v}}]",
        "targets: [{name: a, command: [x], headers: {K: v}}]",
        "targets: [{name: a, command: [x], url: 'http://h'}]",
        "targets: [{name: a}]",
        "targets: [{name: a, command: []}]",
        "targets: [{name: '  ', command: [x]}]",
        "targets: [{name: a, image: i, transport: tcp}]",
        "targets: [{name: a, image: i, port: 70000}]",
        "targets: [{name: a, image: i}]\nextra: 1",
    ];
    let mut refused = 0;
    for text in cases {
        let parsed = Catalog::parse(text, false);
        refused += usize::from(parsed.is_err());
        let doc: Value = serde_saphyr::from_str(text).unwrap();
        schema.agrees(&doc, parsed.is_ok(), text);
    }
    assert_eq!(refused, 11, "the reader refused each bad catalog");
    // JSON catalogs are the same documents.
    let json_text = r#"{"targets": [{"name": "l", "command": ["x"], "comand": 1}]}"#;
    assert!(Catalog::parse(json_text, true).is_err());
    schema.refuses(&serde_json::from_str(json_text).unwrap(), json_text);
}

/// The pipeline file README.md shows, as TOML.
fn readme_pipeline() -> String {
    let readme = std::fs::read_to_string(example("README.md")).unwrap();
    let section = &readme[readme.find("### Pipeline file").expect("the section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    section[start..][..section[start..].find("```").unwrap()].to_owned()
}

#[test]
fn pipeline_schema_agrees_with_the_pipeline_reader() {
    use mcp_probe::plugins::PipelineConfig;
    let env = Env::new();
    let schema = env.schema("pipeline");
    let readme = readme_pipeline();
    let cases: Vec<(&str, String)> = vec![
        ("readme.toml", readme),
        (
            "stages.json",
            r#"{"stages": [{"plugin": "builtin:validate", "world": "validator"}]}"#.into(),
        ),
        (
            "full.toml",
            "[[stage]]\nplugin = \"builtin:normalize\"\non-error = \"skip\"\ntimeout-ms = 1\nmemory-mib = 4096\n".into(),
        ),
        ("unknown.toml", "[[stage]]\nplugin = \"a.wasm\"\ntimeout = 5\n".into()),
        ("top.toml", "name = \"x\"\n[[stage]]\nplugin = \"a.wasm\"\n".into()),
        ("world.toml", "[[stage]]\nplugin = \"a\"\nworld = \"nope\"\n".into()),
        ("memory.toml", "[[stage]]\nplugin = \"a\"\nmemory-mib = 0\n".into()),
        ("memory-max.toml", "[[stage]]\nplugin = \"a\"\nmemory-mib = 4097\n".into()),
        ("timeout.toml", "[[stage]]\nplugin = \"a\"\ntimeout-ms = 0\n".into()),
        ("on-error.toml", "[[stage]]\nplugin = \"a\"\non-error = \"maybe\"\n".into()),
        ("blank.toml", "[[stage]]\nplugin = \" \"\n".into()),
        ("empty.toml", String::new()),
    ];
    let mut refused = 0;
    for (name, text) in &cases {
        let path = env.write(name, text);
        let loaded = PipelineConfig::load(&path);
        refused += usize::from(loaded.is_err());
        let doc: Value = if name.ends_with(".json") {
            serde_json::from_str(text).unwrap()
        } else {
            toml::from_str(text).unwrap()
        };
        schema.agrees(&doc, loaded.is_ok(), name);
    }
    assert_eq!(refused, 9, "the reader refused each bad pipeline");
}

#[test]
fn lock_schema_accepts_what_lock_writes() {
    let env = Env::new();
    let schema = env.schema("lock");
    let tools = tools_file(&env);
    let lock = env.path("tools.lock.json");
    let out = env.run(&[
        "lock",
        tools.to_str().unwrap(),
        "-o",
        lock.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&lock).unwrap();
    let written: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(written["pins"].as_object().unwrap().len(), 2);
    schema.accepts(&written, "the lock file written");
    let digest = "A".repeat(64);
    let cases = [
        json!({"pins": {"t": format!("sha256:{digest}")}}),
        json!({"pins": {}, "note": "unknown keys are ignored"}),
        json!({"version": 2, "pins": {}}),
        json!({"pins": {"t": "xyz"}}),
        json!({"pins": {}, "definitions": {"t": "xyz"}}),
        json!({"definitions": {}}),
        json!({"pins": 3}),
    ];
    for doc in &cases {
        let parsed = mcp_probe::lockfile::parse(&doc.to_string());
        schema.agrees(doc, parsed.is_ok(), &doc.to_string());
    }
    let path = Path::new(&lock);
    assert!(mcp_probe::lockfile::parse(&std::fs::read_to_string(path).unwrap()).is_ok());
}
