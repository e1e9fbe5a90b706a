//! The catalog a scan reads: named targets, each an image, a URL or a local command.
//!
//! ```yaml
//! targets:
//!   - {name: fs, image: "ghcr.io/org/srv:1", args: ["--x"], env: {K: v}, transport: stdio}
//!   - {name: api, url: "http://h/mcp", headers: {Authorization: "Bearer …"}}
//!   - {name: local, command: ["node", "server.js"], env: {K: v}}
//! ```
//!
//! YAML or JSON (by the file's extension, else by its first character); an unknown key is
//! refused with the file, line and key, so that a typo never silently drops a setting.

use crate::runtime::kubernetes::TransportChoice;
use crate::target::{ImageTarget, Target};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A parsed catalog, targets in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub targets: Vec<CatalogTarget>,
}

/// One named target and how an image target runs.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogTarget {
    pub name: String,
    pub target: Target,
    /// Image targets: overrides of `--transport`, `--port` and `-n`.
    pub transport: Option<TransportChoice>,
    pub port: Option<u16>,
    pub namespace: Option<String>,
}

impl CatalogTarget {
    pub fn is_image(&self) -> bool {
        matches!(self.target, Target::Image(_))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read catalog {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    /// Syntax, a wrong type, or an unknown key: the parser's message names the line and key.
    #[error("catalog {path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    targets: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    image: Option<String>,
    url: Option<String>,
    command: Option<Vec<String>>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    secret_env: BTreeMap<String, String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    transport: Option<String>,
    port: Option<u16>,
    namespace: Option<String>,
}

impl Catalog {
    pub fn read(path: &Path) -> Result<Catalog, CatalogError> {
        let shown = path.display().to_string();
        let text = crate::input_file::read_to_string(path, crate::input_file::Kind::Catalog)
            .map_err(|source| CatalogError::Unreadable {
                path: shown.clone(),
                source,
            })?;
        let json = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => true,
            Some("yaml" | "yml") => false,
            _ => text.trim_start().starts_with('{'),
        };
        Catalog::parse(&text, json).map_err(|message| CatalogError::Invalid {
            path: shown,
            message,
        })
    }

    /// Parses catalog text; the error is one line naming where it went wrong.
    pub fn parse(text: &str, json: bool) -> Result<Catalog, String> {
        Catalog::parse_within(text, json, MAX_NODES)
    }

    /// [`Catalog::parse`] with a node limit of `max_nodes`.
    fn parse_within(text: &str, json: bool, max_nodes: usize) -> Result<Catalog, String> {
        let file: File = match json {
            true => {
                if json_nodes(text, max_nodes) > max_nodes {
                    return Err(too_many_nodes(max_nodes));
                }
                serde_json::from_str(text).map_err(|e| e.to_string())?
            }
            false => parse_yaml(text, max_nodes)?,
        };
        let mut seen = std::collections::HashSet::new();
        let mut targets = Vec::new();
        for (index, entry) in file.targets.into_iter().enumerate() {
            let at = format!("target {} ({:?})", index + 1, entry.name);
            if entry.name.trim().is_empty() {
                return Err(format!("target {}: an empty name", index + 1));
            }
            if !seen.insert(entry.name.clone()) {
                return Err(format!("{at}: the name is used twice"));
            }
            targets.push(entry.into_target().map_err(|e| format!("{at}: {e}"))?);
        }
        Ok(Catalog { targets })
    }
}

/// The most nodes (keys, scalars, lists and maps) a catalog may hold, YAML or JSON: room for
/// 100,000 targets of 50 nodes each (a target with a command, a few args and env is ~15).
pub const MAX_NODES: usize = 5_000_000;

fn too_many_nodes(limit: usize) -> String {
    format!("more than {limit} nodes (keys, values, lists and maps), the limit for a catalog")
}

/// YAML within the catalog's node limit; aliases, anchors and nesting keep the parser's
/// own bounds (billion laughs are refused).
fn parse_yaml(text: &str, max_nodes: usize) -> Result<File, String> {
    use serde_saphyr::budget::BudgetBreach;
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: max_nodes,
            // Every node but a scalar also ends: at most two events each, and the stream's.
            max_events: 2 * max_nodes + 16,
        },
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| match e.without_snippet() {
        serde_saphyr::Error::Budget {
            breach: BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. },
            ..
        } => too_many_nodes(max_nodes),
        _ => e.to_string().replace('\n', " "),
    })
}

/// The nodes of JSON text counted as YAML's parser counts them (a scalar, key or not, a list,
/// a map: one each), up to just past `limit`. The text is not checked: that is serde_json's.
fn json_nodes(text: &str, limit: usize) -> usize {
    let mut nodes = 0;
    let mut in_scalar = false;
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        match byte {
            b'"' => {
                nodes += 1;
                while let Some(byte) = bytes.next() {
                    match byte {
                        b'\\' => {
                            bytes.next();
                        }
                        b'"' => break,
                        _ => {}
                    }
                }
                in_scalar = false;
            }
            b'{' | b'[' => {
                nodes += 1;
                in_scalar = false;
            }
            b'}' | b']' | b',' | b':' | b' ' | b'\t' | b'\n' | b'\r' => in_scalar = false,
            _ if !in_scalar => {
                nodes += 1;
                in_scalar = true;
            }
            _ => {}
        }
        if nodes > limit {
            break;
        }
    }
    nodes
}

impl Entry {
    fn into_target(self) -> Result<CatalogTarget, String> {
        let pairs = |map: BTreeMap<String, String>| map.into_iter().collect::<Vec<_>>();
        let image_only = [
            ("args", !self.args.is_empty()),
            ("secret_env", !self.secret_env.is_empty()),
            ("transport", self.transport.is_some()),
            ("port", self.port.is_some()),
            ("namespace", self.namespace.is_some()),
        ];
        if self.url.is_none() && !self.headers.is_empty() {
            return Err("`headers` applies to `url` targets".into());
        }
        let target = match (self.image, self.url, self.command) {
            (Some(image), None, None) => Target::Image(ImageTarget {
                image,
                args: self.args,
                env: pairs(self.env),
                secret_env: pairs(self.secret_env),
            }),
            (None, Some(url), None) => {
                only_with("url", &image_only)?;
                only_with("url", &[("env", !self.env.is_empty())])?;
                let headers = self
                    .headers
                    .into_iter()
                    .map(|(k, v)| {
                        crate::runtime::url::parse_header(&format!("{k}: {v}"))
                            .map_err(|e| format!("headers: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
                Target::Url { url, headers }
            }
            (None, None, Some(command)) => {
                only_with("command", &image_only)?;
                let Some((program, args)) = command.split_first() else {
                    return Err("`command` is empty".into());
                };
                Target::Command {
                    program: program.clone(),
                    args: args.to_vec(),
                    env: pairs(self.env),
                }
            }
            _ => return Err("give exactly one of `image`, `url` or `command`".into()),
        };
        let transport = match self.transport.as_deref() {
            None => None,
            Some("auto") => Some(TransportChoice::Auto),
            Some("stdio") => Some(TransportChoice::Stdio),
            Some("http") => Some(TransportChoice::Http),
            Some(other) => {
                return Err(format!(
                    "transport `{other}` (expected auto, stdio or http)"
                ))
            }
        };
        Ok(CatalogTarget {
            name: self.name,
            target,
            transport,
            port: self.port,
            namespace: self.namespace,
        })
    }
}

/// Refuses keys that only image targets take.
fn only_with(kind: &str, keys: &[(&str, bool)]) -> Result<(), String> {
    match keys.iter().find(|(_, set)| *set) {
        Some((key, _)) => Err(format!("`{key}` does not apply to `{kind}` targets")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_kind_of_target() {
        let yaml = r#"
targets:
  - {name: fs, image: "ghcr.io/org/srv:1", args: ["--x"], env: {K: v}, transport: stdio, port: 9000}
  - {name: api, url: "http://h/mcp", headers: {X-Tenant: t1}}
  - {name: local, command: ["node", "server.js"], env: {A: b}}
"#;
        let catalog = Catalog::parse(yaml, false).unwrap();
        assert_eq!(catalog.targets.len(), 3);
        let fs = &catalog.targets[0];
        assert!(fs.is_image());
        assert_eq!(
            (fs.transport, fs.port),
            (Some(TransportChoice::Stdio), Some(9000))
        );
        assert!(
            matches!(&catalog.targets[1].target, Target::Url { headers, .. } if headers.len() == 1)
        );
        assert!(matches!(&catalog.targets[2].target,
            Target::Command { program, args, .. } if program == "node" && args == &["server.js"]));
        let json = r#"{"targets": [{"name": "l", "command": ["x"]}]}"#;
        assert_eq!(Catalog::parse(json, true).unwrap().targets.len(), 1);
    }

    #[test]
    fn refuses_unknown_keys_with_their_line_and_misplaced_ones() {
        let yaml = "targets:\n  - name: a\n    command: [x]\n    imgae: y\n";
        let err = Catalog::parse(yaml, false).unwrap_err();
        assert!(err.contains("imgae") && err.contains('4'), "{err}");
        let json = "{\"targets\": [\n {\"name\": \"a\", \"comand\": [\"x\"]}]}";
        let err = Catalog::parse(json, true).unwrap_err();
        assert!(err.contains("comand") && err.contains("line 2"), "{err}");
        for (yaml, said) in [
            (
                "targets: [{name: a, url: 'http://h', args: [x]}]",
                "`args` does not apply",
            ),
            (
                "targets: [{name: a, command: [x], url: 'http://h'}]",
                "exactly one of",
            ),
            ("targets: [{name: a, command: []}]", "is empty"),
            (
                "targets: [{name: a, command: [x]}, {name: a, command: [y]}]",
                "used twice",
            ),
            (
                "targets: [{name: a, image: i, transport: tcp}]",
                "transport `tcp`",
            ),
        ] {
            let err = Catalog::parse(yaml, false).unwrap_err();
            assert!(err.contains(said), "{yaml}: {err}");
        }
    }

    /// A catalog of `n` command targets with args and env, in YAML and in JSON.
    fn big_catalog(n: usize) -> (String, String) {
        let mut yaml = String::from("targets:\n");
        let mut json = Vec::new();
        for i in 0..n {
            yaml.push_str(&format!(
                "  - name: srv-{i:06}\n    command: [python3, server.py, --port, \"{i}\"]\n    env: {{MODE: test, INDEX: \"{i}\"}}\n"
            ));
            json.push(format!(
                r#"{{"name":"srv-{i:06}","command":["python3","server.py","--port","{i}"],"env":{{"MODE":"test","INDEX":"{i}"}}}}"#
            ));
        }
        (yaml, format!("{{\"targets\":[{}]}}", json.join(",\n")))
    }

    #[test]
    fn a_catalog_of_100k_targets_is_read_in_yaml_and_json() {
        let (yaml, json) = big_catalog(100_000);
        for (text, is_json) in [(&yaml, false), (&json, true)] {
            let catalog = Catalog::parse(text, is_json).unwrap();
            assert_eq!(catalog.targets.len(), 100_000);
            assert_eq!(catalog.targets[99_999].name, "srv-099999");
        }
        assert!(json_nodes(&json, usize::MAX) < MAX_NODES);
    }

    #[test]
    fn json_nodes_count_as_yaml_nodes_do() {
        assert_eq!(json_nodes(r#"{"a": [1, true, "x,\"y"], "b": {}}"#, 100), 8);
        assert_eq!(json_nodes("[1,2,3]", 2), 3, "stops just past the limit");
    }

    #[test]
    fn hostile_catalogs_are_refused_quickly() {
        let started = std::time::Instant::now();
        // Past the node limit: a list of tiny scalars, in both syntaxes.
        // (Here 50,000; the real limit is counted alike.)
        let many = 50_010;
        let yaml = format!(
            "targets:\n  - name: a\n    command: [{}]\n",
            vec!["x"; many].join(",")
        );
        let json = format!(
            r#"{{"targets":[{{"name":"a","command":[{}]}}]}}"#,
            vec!["\"x\""; many].join(",")
        );
        for (text, is_json) in [(&yaml, false), (&json, true)] {
            assert!(Catalog::parse_within(text, is_json, 60_000).is_ok());
            let err = Catalog::parse_within(text, is_json, 50_000).unwrap_err();
            assert!(
                err.contains("more than 50000 nodes"),
                "{}",
                &err[..err.len().min(300)]
            );
        }
        // Billion laughs: aliases of aliases.
        let mut laughs =
            String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            laughs.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        laughs.push_str("targets:\n  - {name: x, command: *a9}\n");
        assert!(Catalog::parse(&laughs, false).is_err());
        let alias_args = "x: &x [a, b]\ntargets:\n  - {name: t, command: [c], args: [*x, *x]}\n";
        assert!(Catalog::parse(alias_args, false).is_err());
        // Deep nesting.
        let deep_yaml = format!("targets: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let deep_json = format!(
            r#"{{"targets": {}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(Catalog::parse(&deep_yaml, false).is_err());
        assert!(Catalog::parse(&deep_json, true).is_err());
        let deep_env = format!(
            "targets: [{{name: a, command: [x], env: {}{}}}]",
            "{a: ".repeat(5000),
            "}".repeat(5000)
        );
        assert!(Catalog::parse(&deep_env, false).is_err());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }
}
