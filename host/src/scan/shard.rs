//! Past one machine: a scan split into shards (every N-th target, as an Indexed Job's pods
//! run it) and the shards' JSON Lines joined back into one result in catalog order.

use super::outcome::Verdict;
use crate::model::Severity;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};

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

/// Why shard outputs cannot be joined. Malformed or contradictory lines are bad input (exit
/// 2); a missing target means a shard did not run or finish, and reading or writing can fail
/// (exit 1).
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
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file} changed while it was merged ({why})")]
    Changed { file: String, why: String },
    #[error("cannot write the output: {0}")]
    Write(std::io::Error),
}

impl MergeError {
    /// True for malformed or contradictory lines (exit 2), false for an incomplete set.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            MergeError::BadLine { .. }
                | MergeError::Duplicate { .. }
                | MergeError::DuplicateName { .. }
                | MergeError::Sizes { .. }
        )
    }
}

/// The longest line a shard may hold: a whole document's limit (a result's report is bounded
/// by `--max-discovery-bytes`, 64 MiB by default, before it is serialized).
const MAX_LINE_BYTES: u64 = 256 << 20;

/// How many missing indexes an error names before it counts the rest.
const MISSING_NAMED: usize = 5;

/// Where a line was read: its file (by number) and line number, and its bytes' place.
#[derive(Debug, Clone, Copy)]
struct Place {
    file: u32,
    /// u64: a 4 GiB shard may hold more than u32::MAX newlines.
    line: u64,
    offset: u64,
    len: u64,
}

/// The lines read so far, by catalog index, and the catalog size they all state. Only their
/// places are held (not their text), so that merging costs memory by the line, not the byte.
#[derive(Default)]
struct Merged {
    files: Vec<String>,
    total: Option<(usize, Place)>,
    by_index: BTreeMap<usize, Place>,
    names: HashMap<String, Place>,
    worst: Option<Verdict>,
}

impl Merged {
    fn at(&self, place: Place) -> String {
        format!("{}:{}", self.files[place.file as usize], place.line)
    }

    /// Adds a line: its index below its total, the total every line states, its index and
    /// name not seen before.
    fn add(&mut self, place: Place, value: &Value) -> Result<(), MergeError> {
        let bad = |why: String| MergeError::BadLine {
            file: self.files[place.file as usize].clone(),
            line: place.line as usize,
            why,
        };
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
        match self.total {
            Some((a, at)) if a != size => {
                return Err(MergeError::Sizes {
                    a,
                    b: size,
                    at: format!("{} and {}", self.at(at), self.at(place)),
                })
            }
            Some(_) => {}
            None => self.total = Some((size, place)),
        }
        if let Some(first) = self.by_index.get(&index) {
            return Err(MergeError::Duplicate {
                index,
                first: self.at(*first),
                second: self.at(place),
            });
        }
        if let Some(name) = value["name"].as_str() {
            if let Some(first) = self.names.insert(name.to_owned(), place) {
                return Err(MergeError::DuplicateName {
                    name: name.to_owned(),
                    first: self.at(first),
                    second: self.at(place),
                });
            }
        }
        self.by_index.insert(index, place);
        self.worst = self.worst.max(Some(line_verdict(value)));
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

/// One shard output to merge: its name (for errors) and its bytes.
pub struct ShardInput<R> {
    pub name: String,
    pub reader: R,
}

/// Joins shard outputs into every result in catalog order, written to `out` one line each,
/// byte for byte as the shards hold them; returns what they mean for the exit code. Two
/// passes: the first reads and checks every line, holding only its place (so nothing is
/// written when a line is bad or a target missing); the second copies the lines in order.
pub fn merge<R: Read + Seek>(
    shards: &mut [ShardInput<R>],
    out: &mut dyn Write,
) -> Result<Verdict, MergeError> {
    let mut merged = Merged {
        files: shards.iter().map(|s| s.name.clone()).collect(),
        ..Merged::default()
    };
    let mut line = Vec::new();
    for (file, shard) in shards.iter_mut().enumerate() {
        let io = |source| MergeError::Io {
            file: shard.name.clone(),
            source,
        };
        let mut reader = BufReader::new(&mut shard.reader);
        let (mut offset, mut number) = (0u64, 0u64);
        let bad = |number: u64, why: String| MergeError::BadLine {
            file: shard.name.clone(),
            line: number as usize,
            why,
        };
        loop {
            line.clear();
            let mut bounded = (&mut reader).take(MAX_LINE_BYTES + 1);
            let read = bounded.read_until(b'\n', &mut line).map_err(io)? as u64;
            if read == 0 {
                break;
            }
            number += 1;
            if read > MAX_LINE_BYTES {
                let why = format!("longer than {} MiB", MAX_LINE_BYTES >> 20);
                return Err(bad(number, why));
            }
            let text = trim_end(&line);
            let place = Place {
                file: file as u32,
                line: number,
                offset,
                len: text.len() as u64,
            };
            offset += read;
            if text.trim_ascii().is_empty() {
                continue;
            }
            let value: Value =
                serde_json::from_slice(text).map_err(|e| bad(number, e.to_string()))?;
            merged.add(place, &value)?;
        }
    }
    if let Some(missing) = merged.missing() {
        return Err(MergeError::Missing { missing });
    }
    for place in merged.by_index.values() {
        let shard = &mut shards[place.file as usize];
        let changed = |why: String| MergeError::Changed {
            file: shard.name.clone(),
            why,
        };
        line.resize(place.len as usize, 0);
        shard
            .reader
            .seek(SeekFrom::Start(place.offset))
            .and_then(|_| shard.reader.read_exact(&mut line))
            .map_err(|e| changed(e.to_string()))?;
        if line.first() != Some(&b'{') {
            return Err(changed(format!("line {} moved", place.line)));
        }
        line.push(b'\n');
        out.write_all(&line).map_err(MergeError::Write)?;
    }
    Ok(merged.worst.unwrap_or(Verdict::Clean))
}

/// A line without its `\n` or `\r\n`.
fn trim_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
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
        let a = ("a", line(2) + &line(0));
        let b = ("b", line(1).replace('\n', "\r\n"));
        let (merged, verdict) = merge_texts(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(merged, line(0) + &line(1) + &line(2));
        assert_eq!(verdict, Verdict::Clean);
        let gap = merge_texts(std::slice::from_ref(&a)).unwrap_err();
        assert_eq!(
            gap.to_string(),
            "target 1 of 3 is missing: a shard did not run or did not finish"
        );
        assert!(!gap.is_bad_input());
        let twice = merge_texts(&[a, b.clone(), b]).unwrap_err().to_string();
        assert!(
            twice.contains("target 1 appears twice (b:1 and b:1)"),
            "{twice}"
        );
        let bad = merge_texts(&[("c", "{\"index\": 0}\n".to_owned())]).unwrap_err();
        assert!(
            bad.to_string().starts_with("c:1: not a scan result line"),
            "{bad}"
        );
    }

    /// `merge` over texts: the merged text and its verdict.
    fn merge_texts(shards: &[(&str, String)]) -> Result<(String, Verdict), MergeError> {
        let mut inputs: Vec<_> = shards
            .iter()
            .map(|(name, text)| ShardInput {
                name: name.to_string(),
                reader: std::io::Cursor::new(text.as_bytes()),
            })
            .collect();
        let mut out = Vec::new();
        let verdict = merge(&mut inputs, &mut out)?;
        Ok((String::from_utf8(out).unwrap(), verdict))
    }

    fn one(file: &str, text: &str) -> Result<(String, Verdict), MergeError> {
        merge_texts(&[(file, text.to_owned())])
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
