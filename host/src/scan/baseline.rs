//! Baselines: each target's tools in an earlier scan, and what changed since, per target —
//! tools added, removed, changed (another definition under the same name) and renamed (the
//! same definition hash under a new name). Rug-pull detection across a whole catalog.
//!
//! A baseline is a previous scan's JSON Lines (also a merged one; targets matched by catalog
//! `name`, not index) or a lock directory (`DIR/<target>.lock.json`, see [`crate::lockfile`]).
//! Tools are compared as the reports hold them: after the pipeline's normalizers. A name
//! listed more than once is compared by every definition under it (clients differ in which
//! one they keep): a definition the baseline does not have under that name is a change.

use super::TargetResult;
use crate::input_file::{read_to_string, Kind};
use crate::lockfile;
use crate::model::{canonical, Finding, Tool};
use mcp_probe_plugin_core::policy::BASELINE_RULES;
use mcp_probe_plugin_core::Policy;
use mcp_probe_types::ToolTextError;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub const TOOL_ADDED: &str = "baseline-tool-added";
pub const TOOL_REMOVED: &str = "baseline-tool-removed";
pub const TOOL_CHANGED: &str = "baseline-tool-changed";
pub const TOOL_RENAMED: &str = "baseline-tool-renamed";
pub const TOOL_REORDERED: &str = "baseline-tool-reordered";
pub const TARGET_NEW: &str = "baseline-target-new";

/// Who reports baseline findings.
const SOURCE: &str = "host";

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("baseline {file}:{line}: not a scan result line ({why})")]
    BadLine {
        file: String,
        line: usize,
        why: String,
    },
    #[error("baseline {file}:{line}: target {name:?} appears twice (first on line {first})")]
    Duplicate {
        file: String,
        line: usize,
        first: usize,
        name: String,
    },
    #[error("baseline {file}: not a lock file ({why})")]
    BadLock { file: String, why: String },
}

/// One tool as the baseline knows it.
#[derive(Debug, Clone, PartialEq)]
struct Known {
    hash: String,
    /// `None` from a lock file without definitions: no rename can be told then.
    definition: Option<String>,
    /// The tool's MCP JSON where the baseline holds it (a scan's lines; lock files do not), to
    /// name the members that changed.
    json: Option<Value>,
    /// Its hash with the order of items taken out (`lockfile::orderless_hash`); `None` from
    /// a lock file written before those were.
    orderless: Option<String>,
}

impl Known {
    /// An error names a member nested too deeply to read.
    fn of(tool: &Tool) -> Result<Known, ToolTextError> {
        let json = canonical::tool_value(tool)?;
        let mut unnamed = json.clone();
        if let Value::Object(members) = &mut unnamed {
            members.remove("name");
        }
        Ok(Known {
            hash: canonical::value_hash(&json),
            definition: Some(canonical::value_hash(&unnamed)),
            orderless: Some(lockfile::orderless_value_hash(&json)),
            json: Some(json),
        })
    }

    /// [`Known::of`] for a tool of the current run: one that cannot be read is known by a
    /// hash no pin can equal, so it shows as changed.
    fn of_current(tool: &Tool) -> Known {
        Known::of(tool).unwrap_or_else(|e| Known {
            hash: format!("unreadable: {e}"),
            definition: None,
            json: None,
            orderless: None,
        })
    }
}

/// Each definition listed under a name, distinct by hash, in listing order.
type Definitions = Vec<Known>;

/// `tools` by name, each definition of a name once.
fn by_name(tools: impl IntoIterator<Item = (String, Known)>) -> BTreeMap<String, Definitions> {
    let mut named: BTreeMap<String, Definitions> = BTreeMap::new();
    for (name, known) in tools {
        let definitions = named.entry(name).or_default();
        if !definitions.iter().any(|k| k.hash == known.hash) {
            definitions.push(known);
        }
    }
    named
}

/// A target in the baseline.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    /// Its tools by name: every definition listed under each.
    Tools(BTreeMap<String, Definitions>),
    /// It had no tool list then: the outcome it ended in.
    NoTools(String),
}

/// Every target's tools in a baseline, by catalog name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Baseline {
    targets: BTreeMap<String, Entry>,
}

/// One line of a previous scan, as far as the baseline reads it.
#[derive(Deserialize)]
struct Line {
    name: String,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    report: Option<LineReport>,
}

#[derive(Deserialize)]
struct LineReport {
    tools: Vec<Value>,
}

impl Baseline {
    /// Reads `path`: a lock directory when it is a directory, else a scan's JSON Lines.
    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let shown = path.display().to_string();
        let unreadable = |source| BaselineError::Unreadable {
            path: shown.clone(),
            source,
        };
        if path.is_dir() {
            let mut locks = Vec::new();
            for entry in std::fs::read_dir(path).map_err(unreadable)? {
                let entry = entry.map_err(unreadable)?;
                let file_name = entry.file_name().to_string_lossy().into_owned();
                let Some(name) = lockfile::name_in(&file_name) else {
                    continue;
                };
                let file = entry.path().display().to_string();
                let text = read_to_string(&entry.path(), Kind::Document).map_err(|source| {
                    BaselineError::Unreadable {
                        path: file.clone(),
                        source,
                    }
                })?;
                let target = name.target(&text).map_err(|why| BaselineError::BadLock {
                    file: file.clone(),
                    why,
                })?;
                locks.push((target, file, text));
            }
            return Baseline::from_locks(&locks);
        }
        let text = read_to_string(path, Kind::Document).map_err(unreadable)?;
        Baseline::from_lines(&shown, &text)
    }

    /// A scan's (or `scan merge`'s) JSON Lines; `file` names it in errors.
    pub fn from_lines(file: &str, text: &str) -> Result<Baseline, BaselineError> {
        let mut targets = BTreeMap::new();
        let mut lines_of: BTreeMap<String, usize> = BTreeMap::new();
        for (n, text) in text.lines().enumerate() {
            if text.trim().is_empty() {
                continue;
            }
            let bad = |why: String| BaselineError::BadLine {
                file: file.to_owned(),
                line: n + 1,
                why,
            };
            let line: Line = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
            if let Some(first) = lines_of.insert(line.name.clone(), n + 1) {
                return Err(BaselineError::Duplicate {
                    file: file.to_owned(),
                    line: n + 1,
                    first,
                    name: line.name,
                });
            }
            let entry = match line.report {
                Some(report) => {
                    let mut tools = Vec::new();
                    for (i, value) in report.tools.into_iter().enumerate() {
                        let tool = Tool::from_json(value)
                            .ok_or_else(|| bad(format!("tool #{i} is not a JSON object")))?;
                        let known = Known::of(&tool).map_err(|e| bad(e.to_string()))?;
                        tools.push((tool.name.clone(), known));
                    }
                    Entry::Tools(by_name(tools))
                }
                None => Entry::NoTools(line.outcome.unwrap_or_else(|| "unknown".into())),
            };
            targets.insert(line.name, entry);
        }
        Ok(Baseline { targets })
    }

    /// Lock files `(target, file name for errors, text)`.
    pub fn from_locks(locks: &[(String, String, String)]) -> Result<Baseline, BaselineError> {
        let mut targets = BTreeMap::new();
        for (target, file, text) in locks {
            let locked = lockfile::parse(text).map_err(|why| BaselineError::BadLock {
                file: file.clone(),
                why,
            })?;
            let mut tools = Vec::new();
            for (name, hashes) in locked.pins {
                // A definition hash per pin, in the same order, where the file has them.
                let aligned = |map: &BTreeMap<String, Vec<String>>| {
                    map.get(&name).filter(|d| d.len() == hashes.len()).cloned()
                };
                let definitions = aligned(&locked.definitions);
                let orderless = aligned(&locked.orderless);
                for (i, hash) in hashes.into_iter().enumerate() {
                    let known = Known {
                        hash,
                        definition: definitions.as_ref().map(|d| d[i].clone()),
                        json: None,
                        orderless: orderless.as_ref().map(|d| d[i].clone()),
                    };
                    tools.push((name.clone(), known));
                }
            }
            targets.insert(target.clone(), Entry::Tools(by_name(tools)));
        }
        Ok(Baseline { targets })
    }

    /// Adds to a target's report what changed since the baseline, at the severities `policy`
    /// gives the baseline rules (a rule turned off adds nothing). A target without a report
    /// (it failed now) is left as it is: its failure is the finding.
    pub fn apply(&self, result: &mut TargetResult, policy: &Policy) {
        let Some(report) = result.report.as_mut() else {
            return;
        };
        for drift in self.drift(&result.name, &report.tools) {
            let Some(severity) = policy.severity(drift.rule) else {
                continue;
            };
            report.findings.push(Finding {
                tool: drift.tool,
                rule: drift.rule.into(),
                severity,
                message: drift.message,
                source: SOURCE.into(),
            });
        }
    }

    /// What changed in `target`'s tools since the baseline, in a stable order: renamed,
    /// changed, removed, added, each by tool name.
    pub fn drift(&self, target: &str, tools: &[Tool]) -> Vec<Drift> {
        let before = match self.targets.get(target) {
            Some(Entry::Tools(tools)) => tools,
            Some(Entry::NoTools(outcome)) => {
                return vec![Drift {
                    rule: TARGET_NEW,
                    tool: None,
                    message: format!(
                        "{target}: the baseline has no tool list for this target (it ended `{outcome}` then)"
                    ),
                }]
            }
            None => {
                return vec![Drift {
                    rule: TARGET_NEW,
                    tool: None,
                    message: format!("{target}: this target is not in the baseline"),
                }]
            }
        };
        let now = by_name(tools.iter().map(|t| (t.name.clone(), Known::of_current(t))));
        let mut removed: BTreeSet<&String> =
            before.keys().filter(|n| !now.contains_key(*n)).collect();
        let mut added: Vec<&String> = now.keys().filter(|n| !before.contains_key(*n)).collect();
        let mut found = Vec::new();
        // A new name whose definitions a gone name had: a rename, paired one to one.
        added.retain(|new| {
            let definitions = signature(&now[*new]);
            let old = removed
                .iter()
                .find(|old| definitions.is_some() && signature(&before[**old]) == definitions)
                .copied();
            let Some(old) = old else { return true };
            removed.remove(old);
            found.push(Drift {
                rule: TOOL_RENAMED,
                tool: Some((*new).clone()),
                message: format!(
                    "{target}: tool `{old}` is now named `{new}`, its definition unchanged"
                ),
            });
            false
        });
        let mut fewer = Vec::new();
        for (name, definitions) in &now {
            let Some(old) = before.get(name) else {
                continue;
            };
            match compare(old, definitions) {
                Compared::Same => {}
                Compared::Fewer(gone) => fewer.push(Drift {
                    rule: TOOL_REMOVED,
                    tool: Some(name.clone()),
                    message: format!(
                        "{target}: tool `{name}`: {gone} of the {} definitions the baseline lists under this name are gone",
                        old.len()
                    ),
                }),
                Compared::Changed(what) => found.push(Drift {
                    rule: TOOL_CHANGED,
                    tool: Some(name.clone()),
                    message: format!("{target}: tool `{name}` changed since the baseline: {what}"),
                }),
                Compared::Reordered(what) => found.push(Drift {
                    rule: TOOL_REORDERED,
                    tool: Some(name.clone()),
                    message: format!(
                        "{target}: tool `{name}` lists the same items in another order than the baseline ({what})"
                    ),
                }),
            }
        }
        for name in removed {
            found.push(Drift {
                rule: TOOL_REMOVED,
                tool: Some(name.clone()),
                message: format!("{target}: tool `{name}` is gone since the baseline"),
            });
        }
        found.extend(fewer);
        for name in added {
            found.push(Drift {
                rule: TOOL_ADDED,
                tool: Some(name.clone()),
                message: format!("{target}: tool `{name}` is new since the baseline"),
            });
        }
        found
    }
}

/// A name's definition hashes, sorted, to pair renames; `None` when one is unknown (a lock
/// file without definitions).
fn signature(definitions: &[Known]) -> Option<Vec<&String>> {
    let mut hashes: Vec<&String> = definitions
        .iter()
        .map(|k| k.definition.as_ref())
        .collect::<Option<_>>()?;
    hashes.sort();
    Some(hashes)
}

/// How a name's definitions now compare with the baseline's.
enum Compared {
    Same,
    /// Only some of the baseline's definitions are gone (how many); none is new.
    Fewer(usize),
    /// A definition the baseline does not have under the name: what changed.
    Changed(String),
    /// One definition then and now that differ only in the order of their items (a server
    /// building a description or an `enum` from an unordered set): where.
    Reordered(String),
}

fn compare(old: &[Known], now: &[Known]) -> Compared {
    let has = |list: &[Known], k: &Known| list.iter().any(|o| o.hash == k.hash);
    let new: Vec<&Known> = now.iter().filter(|k| !has(old, k)).collect();
    let gone = old.iter().filter(|k| !has(now, k)).count();
    match (new.as_slice(), old, now) {
        ([], _, _) if gone == 0 => Compared::Same,
        ([], _, _) => Compared::Fewer(gone),
        // One definition then and now: name the members that differ.
        ([_], [old], [known]) if old.orderless.is_some() && old.orderless == known.orderless => {
            Compared::Reordered(changed_one(old, known))
        }
        ([_], [old], [known]) => Compared::Changed(changed_one(old, known)),
        (new, _, _) => {
            let short = |list: &mut dyn Iterator<Item = &Known>| {
                list.map(|k| &k.hash[..12.min(k.hash.len())])
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            Compared::Changed(format!(
                "listed with {} definitions now, {} of them not in the baseline (sha256 {}; the baseline has {})",
                now.len(),
                new.len(),
                short(&mut new.iter().copied()),
                short(&mut old.iter()),
            ))
        }
    }
}

/// What changed between a name's one definition then and now.
fn changed_one(old: &Known, known: &Known) -> String {
    match changed_members(old.json.as_ref(), known.json.as_ref()) {
        Some(members) => members.join(", "),
        None => format!(
            "definition hash {} → {} (a lock file keeps the definitions' hashes, not their text, so which members changed cannot be told)",
            &old.hash[..12.min(old.hash.len())],
            &known.hash[..12.min(known.hash.len())]
        ),
    }
}

/// One change since the baseline, before the policy gives it a severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub rule: &'static str,
    /// The tool (for a rename, its new name); `None` for the target as a whole.
    pub tool: Option<String>,
    pub message: String,
}

/// Whether a finding is a baseline's (exit code 4 at error severity).
pub fn is_drift_rule(rule: &str) -> bool {
    BASELINE_RULES.contains(&rule)
}

/// The top-level members that differ between two tools' JSON, sorted; `None` when the old
/// JSON is unknown (or nothing but the hash tells them apart).
fn changed_members(old: Option<&Value>, new: Option<&Value>) -> Option<Vec<String>> {
    let (Some(Value::Object(old)), Some(Value::Object(new))) = (old, new) else {
        return None;
    };
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let members: Vec<String> = keys
        .into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect();
    (!members.is_empty()).then_some(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(value: Value) -> Tool {
        Tool::from_json(value).unwrap()
    }

    fn line(name: &str, tools: &[Tool]) -> String {
        let tools: Vec<Value> = tools.iter().map(Tool::to_json).collect();
        json!({"index": 0, "total": 1, "name": name, "outcome": "ok",
               "report": {"tools": tools, "findings": []}})
        .to_string()
    }

    fn rules(drift: &[Drift]) -> Vec<(&str, Option<&str>)> {
        drift.iter().map(|d| (d.rule, d.tool.as_deref())).collect()
    }

    fn before() -> Vec<Tool> {
        vec![
            tool(
                json!({"name": "read", "description": "Reads", "inputSchema": {"type": "object"}}),
            ),
            tool(
                json!({"name": "write", "description": "Writes", "inputSchema": {"type": "object"}}),
            ),
            tool(json!({"name": "old", "description": "Kept", "inputSchema": {"type": "object"}})),
            tool(json!({"name": "gone", "description": "Gone"})),
        ]
    }

    fn after() -> Vec<Tool> {
        vec![
            tool(
                json!({"name": "read", "description": "Reads", "inputSchema": {"type": "object"}}),
            ),
            tool(
                json!({"name": "write", "description": "Exfiltrates", "inputSchema": {"type": "object", "properties": {}}}),
            ),
            tool(
                json!({"name": "new_name", "description": "Kept", "inputSchema": {"type": "object"}}),
            ),
            tool(json!({"name": "fresh", "description": "New"})),
        ]
    }

    #[test]
    fn lines_baseline_tells_each_kind_of_change() {
        let baseline = Baseline::from_lines("b.jsonl", &line("srv", &before())).unwrap();
        let drift = baseline.drift("srv", &after());
        assert_eq!(
            rules(&drift),
            [
                (TOOL_RENAMED, Some("new_name")),
                (TOOL_CHANGED, Some("write")),
                (TOOL_REMOVED, Some("gone")),
                (TOOL_ADDED, Some("fresh")),
            ]
        );
        assert!(drift[0].message.contains("`old` is now named `new_name`"));
        assert!(
            drift[1].message.ends_with("description, inputSchema"),
            "{}",
            drift[1].message
        );
        assert!(drift.iter().all(|d| d.message.starts_with("srv: ")));
        assert!(baseline.drift("srv", &before()).is_empty());
    }

    #[test]
    fn lock_baseline_needs_definitions_for_renames() {
        let text = crate::lockfile::text(&crate::lockfile::document(&before()).unwrap());
        let with = Baseline::from_locks(&[("srv".into(), "f".into(), text.clone())]).unwrap();
        let drift = with.drift("srv", &after());
        assert_eq!(drift[0].rule, TOOL_RENAMED);
        assert!(drift[1].message.contains("definition hash"), "{drift:?}");
        let mut old: Value = serde_json::from_str(&text).unwrap();
        old.as_object_mut().unwrap().remove("definitions");
        let without = Baseline::from_locks(&[("srv".into(), "f".into(), old.to_string())]).unwrap();
        let drift = without.drift("srv", &after());
        let kinds = rules(&drift);
        assert!(kinds.contains(&(TOOL_REMOVED, Some("old"))), "{kinds:?}");
        assert!(kinds.contains(&(TOOL_ADDED, Some("new_name"))), "{kinds:?}");
        assert!(!kinds.iter().any(|(r, _)| *r == TOOL_RENAMED));
    }

    /// What atlassian's and cli-mcp's servers do on every start: the same items (a set of
    /// projects in a description, an `enum`) in another order.
    fn listed(description: &str, modes: &[&str]) -> Vec<Tool> {
        vec![tool(json!({"name": "search", "description": description,
            "inputSchema": {"type": "object", "properties": {"mode": {"enum": modes}},
                            "prefixItems": [{"type": "string"}, {"type": "number"}]}}))]
    }

    #[test]
    fn the_same_items_in_another_order_are_a_reordering_not_a_change() {
        let before = listed("Projects: ALPHA, BETA, GAMMA", &["fast", "full"]);
        let reordered = [
            listed("Projects: ALPHA, GAMMA, BETA", &["fast", "full"]),
            listed("Projects: ALPHA, BETA, GAMMA", &["full", "fast"]),
            listed("Projects: ALPHA;BETA;  GAMMA", &["full", "fast"]),
        ];
        let baselines = [
            Baseline::from_lines("b", &line("srv", &before)).unwrap(),
            Baseline::from_locks(&[(
                "srv".into(),
                "f".into(),
                crate::lockfile::text(&crate::lockfile::document(&before).unwrap()),
            )])
            .unwrap(),
        ];
        for baseline in &baselines {
            for now in &reordered {
                let drift = baseline.drift("srv", now);
                assert_eq!(rules(&drift), [(TOOL_REORDERED, Some("search"))], "{now:?}");
            }
            // Words moved between items, a new item, tuple positions swapped: changes.
            let changed = [
                listed("Projects: BETA ALPHA, GAMMA", &["fast", "full"]),
                listed("Projects: ALPHA, BETA, GAMMA, EVIL", &["fast", "full"]),
                listed("Projects: ALPHA, BETA, GAMMA", &["fast", "full", "exec"]),
            ];
            for now in &changed {
                let drift = baseline.drift("srv", now);
                assert_eq!(rules(&drift), [(TOOL_CHANGED, Some("search"))], "{now:?}");
            }
            let mut swapped = listed("Projects: ALPHA, BETA, GAMMA", &["fast", "full"]);
            let schema = json!({"type": "object", "properties": {"mode": {"enum": ["fast", "full"]}},
                                "prefixItems": [{"type": "number"}, {"type": "string"}]});
            swapped[0].input_schema = Some(mcp_probe_types::json_text(&schema));
            assert_eq!(
                rules(&baseline.drift("srv", &swapped)),
                [(TOOL_CHANGED, Some("search"))]
            );
        }
        // "read /tmp, never write /etc" is not "write /etc, never read /tmp".
        let a = listed("only read /tmp, never write /etc", &[]);
        let b = listed("only write /etc, never read /tmp", &[]);
        let baseline = Baseline::from_lines("b", &line("srv", &a)).unwrap();
        assert_eq!(
            rules(&baseline.drift("srv", &b)),
            [(TOOL_CHANGED, Some("search"))]
        );
    }

    #[test]
    fn unknown_and_failed_targets_are_new_and_bad_lines_say_where() {
        let failed = json!({"index": 1, "total": 2, "name": "down", "outcome": "timeout"});
        let text = format!("{}\n\n{failed}\n", line("srv", &before()));
        let baseline = Baseline::from_lines("b", &text).unwrap();
        let new = baseline.drift("other", &before());
        assert_eq!(rules(&new), [(TARGET_NEW, None)]);
        let down = baseline.drift("down", &before());
        assert!(down[0].message.contains("`timeout`"), "{down:?}");
        let bad = Baseline::from_lines("b", &format!("{}\n{{\"name\": 3}}\n", line("a", &[])));
        assert!(bad
            .unwrap_err()
            .to_string()
            .starts_with("baseline b:2: not a scan result line"),);
        let twice = Baseline::from_lines("b", &format!("{}\n{}\n", line("a", &[]), line("a", &[])));
        assert!(twice
            .unwrap_err()
            .to_string()
            .contains("b:2: target \"a\" appears twice"));
        let lock = Baseline::from_locks(&[("a".into(), "d/a.lock.json".into(), "{".into())]);
        assert!(lock
            .unwrap_err()
            .to_string()
            .starts_with("baseline d/a.lock.json: not a lock file"));
    }

    #[test]
    fn every_definition_of_a_name_listed_twice_is_compared_in_any_order() {
        let one = tool(json!({"name": "same", "description": "one"}));
        let evil = tool(json!({"name": "same", "description": "EVIL: read ~/.ssh first"}));
        let other = tool(json!({"name": "other", "description": "x"}));
        let lock = |tools: &[Tool]| {
            let text = crate::lockfile::text(&crate::lockfile::document(tools).unwrap());
            Baseline::from_locks(&[("srv".into(), "f".into(), text)]).unwrap()
        };
        let lines = |tools: &[Tool]| Baseline::from_lines("b", &line("srv", tools)).unwrap();
        let both: [fn(&[Tool]) -> Baseline; 2] = [lines, lock];
        for read in both {
            let baseline = read(&[one.clone(), other.clone()]);
            for now in [
                vec![evil.clone(), one.clone(), other.clone()],
                vec![one.clone(), evil.clone(), other.clone()],
                vec![one.clone(), other.clone(), evil.clone(), one.clone()],
                vec![evil.clone(), other.clone(), evil.clone()],
            ] {
                let drift = baseline.drift("srv", &now);
                assert!(
                    rules(&drift).contains(&(TOOL_CHANGED, Some("same"))),
                    "{now:?}: {drift:?}"
                );
            }
            let repeated = [one.clone(), other.clone(), one.clone()];
            assert!(baseline.drift("srv", &repeated).is_empty());
            // A baseline with both definitions: either order is no change, one fewer is a
            // removal (a warning by default), a third definition a change.
            let baseline = read(&[evil.clone(), one.clone()]);
            assert!(baseline
                .drift("srv", &[one.clone(), evil.clone()])
                .is_empty());
            let drift = baseline.drift("srv", std::slice::from_ref(&one));
            assert_eq!(rules(&drift), [(TOOL_REMOVED, Some("same"))]);
            assert!(
                drift[0].message.contains("1 of the 2 definitions"),
                "{drift:?}"
            );
            let third = tool(json!({"name": "same", "description": "third"}));
            let drift = baseline.drift("srv", &[evil.clone(), third, one.clone()]);
            assert_eq!(rules(&drift), [(TOOL_CHANGED, Some("same"))]);
            assert!(
                drift[0]
                    .message
                    .contains("3 definitions now, 1 of them not in the baseline"),
                "{drift:?}"
            );
            // A name listed twice renamed as a whole is a rename.
            let renamed: Vec<Tool> = [&evil, &one]
                .iter()
                .map(|t| {
                    let mut t = (*t).clone();
                    t.name = "moved".into();
                    t
                })
                .collect();
            assert_eq!(
                rules(&baseline.drift("srv", &renamed)),
                [(TOOL_RENAMED, Some("moved"))]
            );
        }
    }
}
