//! Past one machine: a scan split into shards (every N-th target, as an Indexed Job's pods
//! run it) and the shards' JSON Lines joined back into one result in catalog order.

use super::outcome::Verdict;
use crate::model::Severity;
use serde_json::Value;

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

/// One shard file's lines, as results keep them (JSON values: merging must not lose a field).
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
    #[error("the shards disagree on the catalog's size ({a} and {b} targets)")]
    Sizes { a: usize, b: usize },
    #[error("targets {missing} are missing: a shard did not run or did not finish")]
    Missing { missing: String },
}

/// One result line of a shard: parsed, and its text as written (kept byte for byte).
#[derive(Debug, Clone)]
pub struct Line {
    pub value: Value,
    pub text: String,
}

/// Joins shard outputs (`(file name, text)`) into every result in catalog order.
pub fn merge(shards: &[(String, String)]) -> Result<Vec<Line>, MergeError> {
    let mut total: Option<usize> = None;
    let mut by_index: std::collections::BTreeMap<usize, (String, Line)> = Default::default();
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
            let index = value["index"]
                .as_u64()
                .ok_or_else(|| bad("no index".into()))? as usize;
            let size = value["total"]
                .as_u64()
                .ok_or_else(|| bad("no total".into()))? as usize;
            match total {
                Some(t) if t != size => return Err(MergeError::Sizes { a: t, b: size }),
                _ => total = Some(size),
            }
            let here = format!("{file}:{}", n + 1);
            if let Some((first, _)) = by_index.get(&index) {
                return Err(MergeError::Duplicate {
                    index,
                    first: first.clone(),
                    second: here,
                });
            }
            let text = line.to_owned();
            by_index.insert(index, (here, Line { value, text }));
        }
    }
    let total = total.unwrap_or(0);
    let missing: Vec<String> = (0..total)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing: missing.join(", "),
        });
    }
    Ok(by_index.into_values().map(|(_, v)| v).collect())
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
        assert!(
            matches!(merge(std::slice::from_ref(&a)), Err(MergeError::Missing { missing }) if missing == "1")
        );
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
}
