//! Past one machine: a scan split into shards (every N-th target, as an Indexed Job's pods
//! run it) and the shards' JSON Lines joined back into one result in catalog order.

use super::outcome::Verdict;
use crate::model::Severity;
use serde_json::Value;
use std::collections::BTreeMap;

/// Shard `index` of `count`: the targets whose catalog index is `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// The Indexed Job's env: `JOB_COMPLETION_INDEX` (set by Kubernetes) and the shard count
/// (set in the Job beside `completions`, see examples/scan-job.yaml).
pub const JOB_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
pub const SHARDS_ENV: &str = "MCP_PROBE_SHARDS";

impl Shard {
    /// `K/N`, K from 0.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard `{text}`: expected K/N with 0 <= K < N, e.g. 0/4");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        match index < count {
            true => Ok(Shard { index, count }),
            false => Err(bad()),
        }
    }

    /// The shard an Indexed Job's pod runs, from its environment; `None` outside one.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, String> {
        let Some(index) = get(JOB_INDEX_ENV) else {
            return Ok(None);
        };
        let count = get(SHARDS_ENV).ok_or_else(|| {
            format!("{JOB_INDEX_ENV} is set but {SHARDS_ENV} is not: set it to the Job's completions, or give --shard K/N")
        })?;
        Shard::parse(&format!("{index}/{count}")).map(Some)
    }

    pub fn takes(&self, catalog_index: usize) -> bool {
        catalog_index % self.count == self.index
    }
}

/// Why shard outputs cannot be joined. Every variant but [`MergeError::Missing`] is malformed
/// input (exit 2); a missing target means a shard did not run or finish (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{file}:{line}: not a scan result line ({why})")]
    BadLine {
        file: String,
        line: usize,
        why: String,
    },
    #[error("target {index} appears twice ({first} and {second})")]
    Duplicate {
        index: usize,
        first: String,
        second: String,
    },
    #[error("target name {name:?} appears twice ({first} and {second})")]
    DuplicateName {
        name: String,
        first: String,
        second: String,
    },
    #[error("the shards disagree on the catalog's size ({a} and {b} targets, {at})")]
    Sizes { a: usize, b: usize, at: String },
    #[error("{missing} missing: a shard did not run or did not finish")]
    Missing { missing: String },
}

impl MergeError {
    /// True for malformed or contradictory lines (exit 2), false for an incomplete set.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, MergeError::Missing { .. })
    }
}

/// How many missing indexes an error names before it counts the rest.
const MISSING_NAMED: usize = 5;

/// One result line of a shard: parsed, and its text as written (kept byte for byte).
#[derive(Debug, Clone)]
pub struct Line {
    pub value: Value,
    pub text: String,
}

/// Where a line was read, for errors: `file:line`.
type Place = String;

/// The lines read so far, by catalog index, and the catalog size they all state.
#[derive(Default)]
struct Merged {
    total: Option<(usize, Place)>,
    by_index: BTreeMap<usize, (Place, Line)>,
    names: BTreeMap<String, Place>,
}

impl Merged {
    /// Adds line `line` of `file`: its index below its total, the total every line states,
    /// its index and name not seen before.
    fn add(&mut self, file: &str, line: usize, value: Value, text: &str) -> Result<(), MergeError> {
        let bad = |why: String| MergeError::BadLine {
            file: file.to_owned(),
            line,
            why,
        };
        let here = format!("{file}:{line}");
        let index = value["index"]
            .as_u64()
            .ok_or_else(|| bad("no index".into()))?;
        let size = value["total"]
            .as_u64()
            .ok_or_else(|| bad("no total".into()))?;
        if size == 0 {
            return Err(bad("total 0: no catalog has zero targets".into()));
        }
        if index >= size {
            return Err(bad(format!("index {index} is not below total {size}")));
        }
        let (index, size) = (index as usize, size as usize);
        match &self.total {
            Some((a, at)) if *a != size => {
                return Err(MergeError::Sizes {
                    a: *a,
                    b: size,
                    at: format!("{at} and {here}"),
                })
            }
            Some(_) => {}
            None => self.total = Some((size, here.clone())),
        }
        if let Some((first, _)) = self.by_index.get(&index) {
            return Err(MergeError::Duplicate {
                index,
                first: first.clone(),
                second: here,
            });
        }
        if let Some(name) = value["name"].as_str() {
            if let Some(first) = self.names.insert(name.to_owned(), here.clone()) {
                return Err(MergeError::DuplicateName {
                    name: name.to_owned(),
                    first,
                    second: here,
                });
            }
        }
        let line = Line {
            value,
            text: text.to_owned(),
        };
        self.by_index.insert(index, (here, line));
        Ok(())
    }

    /// The indexes below the total that no line has: the first few, and how many more.
    fn missing(&self) -> Option<String> {
        let total = self.total.as_ref().map_or(0, |(t, _)| *t);
        let count = total - self.by_index.len();
        if count == 0 {
            return None;
        }
        // Walk the gaps between the indexes present: never one step per missing index.
        let mut named = Vec::new();
        let mut next = 0;
        for &present in self.by_index.keys().chain(std::iter::once(&total)) {
            named.extend((next..present).take(MISSING_NAMED - named.len()));
            if named.len() == MISSING_NAMED || present == total {
                break;
            }
            next = present + 1;
        }
        let mut text = named
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if count > named.len() {
            text.push_str(&format!(" and {} more", count - named.len()));
        }
        Some(match count {
            1 => format!("target {text} of {total} is"),
            _ => format!("targets {text} of {total} are"),
        })
    }
}

/// Joins shard outputs (`(file name, text)`) into every result in catalog order.
pub fn merge(shards: &[(String, String)]) -> Result<Vec<Line>, MergeError> {
    let mut merged = Merged::default();
    for (file, text) in shards {
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let bad = |why: String| MergeError::BadLine {
                file: file.clone(),
                line: n + 1,
                why,
            };
            let value: Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
            merged.add(file, n + 1, value, line)?;
        }
    }
    if let Some(missing) = merged.missing() {
        return Err(MergeError::Missing { missing });
    }
    Ok(merged.by_index.into_values().map(|(_, v)| v).collect())
}

/// What a merged line means for the exit code, as a scan's own results do.
pub fn line_verdict(value: &Value) -> Verdict {
    let ok = matches!(
        value["outcome"].as_str(),
        Some("ok" | "empty" | "no_tools_capability")
    );
    let findings = value["report"]["findings"].as_array().into_iter().flatten();
    let errors = findings
        .filter(|f| f["severity"] == "error")
        .map(|f| (f["rule"].as_str().unwrap_or(""), Severity::Error));
    Verdict::of(ok, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_by_index_and_come_from_the_job_env() {
        let s = Shard::parse("1/4").unwrap();
        assert!(s.takes(1) && s.takes(5) && !s.takes(4));
        assert!(Shard::parse("4/4").is_err() && Shard::parse("x").is_err());
        let env = |k: &str| match k {
            JOB_INDEX_ENV => Some("2".to_owned()),
            SHARDS_ENV => Some("3".to_owned()),
            _ => None,
        };
        assert_eq!(
            Shard::from_env(env).unwrap(),
            Some(Shard { index: 2, count: 3 })
        );
        assert_eq!(Shard::from_env(|_| None).unwrap(), None);
        let half = |k: &str| (k == JOB_INDEX_ENV).then(|| "0".to_owned());
        assert!(Shard::from_env(half).unwrap_err().contains(SHARDS_ENV));
    }

    #[test]
    fn merge_orders_and_refuses_gaps_and_doubles() {
        let line = |i: usize| format!("{{\"index\": {i}, \"total\": 3, \"outcome\": \"ok\"}}\n");
        let a = ("a".to_owned(), line(2) + &line(0));
        let b = ("b".to_owned(), line(1));
        let merged = merge(&[a.clone(), b.clone()]).unwrap();
        let order: Vec<u64> = merged
            .iter()
            .map(|l| l.value["index"].as_u64().unwrap())
            .collect();
        assert_eq!(merged[0].text, line(0).trim_end());
        assert_eq!(order, [0, 1, 2]);
        let gap = merge(std::slice::from_ref(&a)).unwrap_err();
        assert_eq!(
            gap.to_string(),
            "target 1 of 3 is missing: a shard did not run or did not finish"
        );
        assert!(!gap.is_bad_input());
        let twice = merge(&[a, b.clone(), b]).unwrap_err().to_string();
        assert!(
            twice.contains("target 1 appears twice (b:1 and b:1)"),
            "{twice}"
        );
        let bad = merge(&[("c".to_owned(), "{\"index\": 0}\n".to_owned())]).unwrap_err();
        assert!(
            bad.to_string().starts_with("c:1: not a scan result line"),
            "{bad}"
        );
    }

    fn one(file: &str, text: &str) -> Result<Vec<Line>, MergeError> {
        merge(&[(file.to_owned(), text.to_owned())])
    }

    #[test]
    fn a_huge_total_names_a_few_missing_targets_at_once() {
        let started = std::time::Instant::now();
        let max = one(
            "m",
            &format!(r#"{{"index":{},"total":{}}}"#, u64::MAX - 1, u64::MAX),
        );
        assert!(max
            .unwrap_err()
            .to_string()
            .starts_with("targets 0, 1, 2, 3, 4 and "));
        let err = one("h", r#"{"index":0,"total":1000000000000,"name":"a"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "targets 1, 2, 3, 4, 5 and 999999999994 more of 1000000000000 are missing: \
             a shard did not run or did not finish"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Gaps between and after the lines present are walked, not each index.
        let lines: String = [0, 2, 3, 9]
            .iter()
            .map(|i| format!("{{\"index\":{i},\"total\":12}}\n"))
            .collect();
        let err = one("g", &lines).unwrap_err().to_string();
        assert!(
            err.starts_with("targets 1, 4, 5, 6, 7 and 3 more of 12 are missing"),
            "{err}"
        );
    }

    #[test]
    fn contradictory_lines_are_bad_input_naming_where() {
        let cases = [
            (r#"{"index":3,"total":3}"#, "g:1: not a scan result line (index 3 is not below total 3)"),
            (r#"{"index":7,"total":2}"#, "index 7 is not below total 2"),
            (r#"{"index":0,"total":0}"#, "total 0"),
            (r#"{"index":-1,"total":2}"#, "no index"),
            (r#"{"index":0,"total":"2"}"#, "no total"),
            (r#"{"index":0,"total":2.5}"#, "no total"),
            ("[1]", "no index"),
            ("{\"index\":0,", "not a scan result line (EOF"),
            (
                "{\"index\":0,\"total\":2}\n{\"index\":1,\"total\":3}",
                "disagree on the catalog's size (2 and 3 targets, g:1 and g:2)",
            ),
            (
                "{\"index\":0,\"total\":2,\"name\":\"x\"}\n{\"index\":1,\"total\":2,\"name\":\"x\"}",
                "target name \"x\" appears twice (g:1 and g:2)",
            ),
            (
                "{\"index\":1,\"total\":2}\n\n{\"index\":1,\"total\":2}",
                "target 1 appears twice (g:1 and g:3)",
            ),
        ];
        for (text, expected) in cases {
            let err = one("g", text).unwrap_err();
            assert!(err.to_string().contains(expected), "{text}: {err}");
            assert!(err.is_bad_input(), "{text}: {err}");
        }
    }
}
