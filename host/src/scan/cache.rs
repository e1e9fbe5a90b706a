//! The scan result cache: a target that answered is not probed again (no pod, no process)
//! while its entry is fresh.
//!
//! Key: sha256 over what decides the result — the image reference (a digest when the catalog
//! pins one, `@sha256:`), args and env; a command's argv, env, and the size and mtime of its
//! program file and of args that name files; a URL (credentials removed) and its header names;
//! the session and pod settings that change the answer; the pipeline's identity; mcp-probe's
//! version. Secret values never enter the key or the entry: secret env and headers count by
//! name only.
//!
//! Expiry: `--cache-ttl`, shortened by the server's own `ttlMs` hint where it sent one. A
//! `cacheScope: private` answer to a target that carries credentials is not stored, since the
//! key does not hold them. Only answers are stored (`ok`, `empty`, `no_tools_capability`, not
//! recovered from noise): failures are probed again. Entries are written atomically; one that
//! does not parse, or was made under another key, is ignored and rewritten.

use super::outcome::TargetResult;
use crate::discover::DiscoverOptions;
use crate::target::Target;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The entry layout's version: an entry of another is a miss.
const FORMAT: u32 = 1;

/// Whether the cache is read, written, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// Read fresh entries, write new answers.
    ReadWrite,
    /// `--refresh`: probe every target, write the answers.
    WriteOnly,
}

/// A directory of scan results, one JSON file per key.
#[derive(Debug, Clone)]
pub struct ResultCache {
    dir: PathBuf,
    ttl: Duration,
    mode: CacheMode,
}

/// One stored answer.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    format: u32,
    key: String,
    /// Unix milliseconds.
    stored_at_ms: u64,
    expires_at_ms: u64,
    /// The digest the pod reported for an image target (`repo@sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image_id: Option<String>,
    result: TargetResult,
}

impl ResultCache {
    /// The default directory: `scan/` in the user's cache root.
    pub fn default_dir() -> Option<PathBuf> {
        crate::cache_dir::default_root().map(|root| root.join("scan"))
    }

    /// Opens (creating it 0700) the cache at `dir`; refuses one others can write, since its
    /// entries decide a scan's exit code.
    pub fn open(dir: impl Into<PathBuf>, ttl: Duration, mode: CacheMode) -> std::io::Result<Self> {
        let dir = dir.into();
        crate::cache_dir::open_private(&dir, "scan cache")?;
        Ok(ResultCache { dir, ttl, mode })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `--cache-ttl` in milliseconds.
    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The fresh stored result for `key`, marked `cached`; `None` on a miss, an expired or
    /// unreadable entry, or with `--refresh`.
    pub fn lookup(&self, key: &str) -> Option<TargetResult> {
        if self.mode == CacheMode::WriteOnly {
            return None;
        }
        let path = self.path(key);
        let text = std::fs::read(&path).ok()?;
        let entry: Entry = match serde_json::from_slice(&text) {
            Ok(entry) => entry,
            Err(e) => {
                tracing::debug!(
                    "scan cache entry {} unreadable ({e}); probing",
                    path.display()
                );
                return None;
            }
        };
        // Fresh under the server's hint as stored, and under this run's --cache-ttl.
        let now = now_ms();
        let fresh =
            now < entry.expires_at_ms && now < entry.stored_at_ms.saturating_add(self.ttl_ms());
        if entry.format != FORMAT || entry.key != key || !fresh {
            return None;
        }
        let mut result = entry.result;
        result.cached = true;
        result.cached_at = Some(rfc3339(entry.stored_at_ms));
        Some(result)
    }

    /// Stores `result` under `key` when it is an answer worth keeping (see the module docs);
    /// `has_credentials`: whether the target sent any (headers, URL userinfo, secret env).
    pub fn store(&self, key: &str, result: &TargetResult, has_credentials: bool) {
        let Some(report) = result.report.as_ref() else {
            return;
        };
        if !result.outcome.is_success() || report.recovered_by.is_some() {
            return;
        }
        let hints = report.cache_hints.values();
        let private = hints
            .clone()
            .any(|h| h.cache_scope.as_deref() == Some("private"));
        if private && has_credentials {
            return;
        }
        let server_ttl = hints.filter_map(|h| h.ttl_ms).min();
        let ttl_ms = server_ttl.map_or(self.ttl_ms(), |server| server.min(self.ttl_ms()));
        if ttl_ms == 0 {
            return;
        }
        let stored_at_ms = now_ms();
        let mut result = result.clone();
        result.cached = false;
        result.cached_at = None;
        // What this run's cleanup left is no answer of the server's, for another run to repeat.
        if let Some(k) = result.report.as_mut().and_then(|r| r.kubernetes.as_mut()) {
            k.cleanup_warnings.clear();
        }
        let entry = Entry {
            format: FORMAT,
            key: key.to_owned(),
            stored_at_ms,
            expires_at_ms: stored_at_ms.saturating_add(ttl_ms),
            image_id: report.kubernetes.as_ref().and_then(|k| k.image_id.clone()),
            result,
        };
        let text = serde_json::to_vec(&entry).expect("an entry serializes");
        let path = self.path(key);
        if let Err(e) = crate::atomic_file::write(&path, ".tmp-", &[&text]) {
            tracing::warn!("could not store {} in the scan cache: {e}", path.display());
        }
    }
}

impl ResultCache {
    /// Removes expired entries, and temporary files a killed writer left over an hour ago, so
    /// the directory does not grow without end. Returns how many files went.
    pub fn prune(&self) -> usize {
        #[derive(Deserialize)]
        struct Expiry {
            expires_at_ms: u64,
        }
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let now = now_ms();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let mut removed = 0;
        for path in dir.flatten().map(|e| e.path()) {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let stale = if name.starts_with(".tmp-") {
                let modified = std::fs::metadata(&path).and_then(|m| m.modified());
                modified.is_ok_and(|t| t < hour_ago)
            } else if name.ends_with(".json") {
                let expiry = std::fs::read(&path)
                    .ok()
                    .and_then(|text| serde_json::from_slice::<Expiry>(&text).ok());
                // An unreadable entry is rewritten when its target answers again.
                expiry.is_some_and(|e| e.expires_at_ms <= now)
            } else {
                false
            };
            if stale && std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

/// The cache key of probing `options.target` under a pipeline of identity `pipeline`.
pub fn key(options: &DiscoverOptions, pipeline: &str) -> String {
    let mut hash = Sha256::new();
    let mut part = |label: &str, value: &str| {
        // Length-prefixed, so that no two different inputs hash alike.
        hash.update(format!("{label}:{}:", value.len()).as_bytes());
        hash.update(value.as_bytes());
    };
    part("format", &FORMAT.to_string());
    part("version", env!("CARGO_PKG_VERSION"));
    part("pipeline", pipeline);
    match &options.target {
        Target::Image(image) => {
            // A pinned digest names the image whatever repository or tag is written with it.
            match image.image.split_once("@sha256:") {
                Some((_, digest)) => part("digest", digest),
                None => part("image", &image.image),
            }
            image.args.iter().for_each(|a| part("arg", a));
            for (k, v) in &image.env {
                part("env", k);
                part("value", v);
            }
            image.secret_env.iter().for_each(|(k, _)| part("secret", k));
            let k = &options.kubernetes;
            part("transport", &format!("{:?}", k.transport));
            part("port", &k.port.to_string());
            part(
                "namespace",
                k.cluster.namespace.as_deref().unwrap_or_default(),
            );
        }
        Target::Command { program, args, env } => {
            part("program", program);
            part("program-file", &program_file_stamp(program));
            for arg in args {
                part("arg", arg);
                // `node server.js`, `python3 srv.py tools.json`: an edited file is a new server.
                if Path::new(arg).is_file() {
                    part("arg-file", &file_stamp(Path::new(arg)));
                }
            }
            for (k, v) in env {
                part("env", k);
                part("value", v);
            }
        }
        Target::Url { url, headers } => {
            part("url", &crate::runtime::url::redact_url(url));
            headers.iter().for_each(|(k, _)| part("header", k));
        }
    }
    let s = &options.session;
    part(
        "session",
        &format!(
            "{:?}|{}|{:?}|{:?}",
            s.capabilities, s.page_cap, s.era, s.versions
        ),
    );
    part("max-line-bytes", &options.max_line_bytes.to_string());
    hex::encode(hash.finalize())
}

/// Whether the target sends credentials that the key leaves out.
pub fn has_credentials(target: &Target) -> bool {
    match target {
        Target::Image(image) => !image.secret_env.is_empty(),
        Target::Url { url, headers } => {
            !headers.is_empty() || crate::runtime::url::redact_url(url) != *url
        }
        Target::Command { .. } => false,
    }
}

/// The program file's stamp (found on PATH like the spawn will), so a rebuilt local server is
/// probed again; empty when it cannot be found.
fn program_file_stamp(program: &str) -> String {
    let found = if program.contains('/') {
        Some(PathBuf::from(program))
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|p| p.is_file())
        })
    };
    found.map_or_else(String::new, |path| file_stamp(&path))
}

/// A file's size and mtime (nanoseconds); empty when it cannot be read.
fn file_stamp(path: &Path) -> String {
    let Ok(meta) = std::fs::metadata(path) else {
        return String::new();
    };
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{}:{mtime}", meta.len())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn rfc3339(unix_ms: u64) -> String {
    i64::try_from(unix_ms)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CacheHint;
    use crate::report::Report;
    use crate::scan::Outcome;
    use crate::target::ImageTarget;

    fn options(target: Target) -> DiscoverOptions {
        DiscoverOptions {
            target,
            session: Default::default(),
            timeout: Duration::from_secs(60),
            max_line_bytes: 1 << 20,
            kubernetes: Default::default(),
        }
    }

    fn image(image: &str, args: &[&str], secret: &str) -> Target {
        Target::Image(ImageTarget {
            image: image.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec![("MODE".into(), "fast".into())],
            secret_env: vec![("TOKEN".into(), secret.into())],
        })
    }

    fn answered(hints: &[(&str, Option<u64>, Option<&str>)]) -> TargetResult {
        let mut report: Report = serde_json::from_value(serde_json::json!({
            "tools": [{"name": "echo", "inputSchema": {"type": "object"}}],
            "server_info": null, "protocol_version": "2025-06-18",
            "capabilities": {"server": {"tools": {}}, "client": {}},
            "discovery_method": "local_mcp_stdio", "tools_supported": true,
            "recovered_by": null, "findings": [], "timestamp": 0.0, "duration_ms": 5
        }))
        .unwrap();
        for (method, ttl_ms, scope) in hints {
            let hint = CacheHint {
                ttl_ms: *ttl_ms,
                cache_scope: scope.map(str::to_owned),
            };
            report.cache_hints.insert(method.to_string(), hint);
        }
        TargetResult {
            index: 3,
            total: 9,
            name: "srv".into(),
            outcome: Outcome::Ok,
            error: None,
            log_tail: String::new(),
            duration_ms: 7,
            cached: false,
            cached_at: None,
            report: Some(report),
        }
    }

    #[test]
    fn keys_follow_what_decides_the_answer_but_never_secret_values() {
        let base = key(&options(image("srv:1", &["--x"], "s1")), "p");
        assert_eq!(base, key(&options(image("srv:1", &["--x"], "s2")), "p"));
        assert_ne!(base, key(&options(image("srv:2", &["--x"], "s1")), "p"));
        assert_ne!(base, key(&options(image("srv:1", &["--y"], "s1")), "p"));
        assert_ne!(base, key(&options(image("srv:1", &["--x"], "s1")), "q"));
        let digest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            key(
                &options(image(&format!("ghcr.io/o/srv:1{digest}"), &[], "")),
                "p"
            ),
            key(
                &options(image(&format!("mirror.local/srv{digest}"), &[], "")),
                "p"
            ),
        );
        assert_ne!(
            key(&options(image(&format!("srv{digest}"), &[], "")), "p"),
            key(&options(image("srv", &[], "")), "p"),
        );
        let url = |url: &str, header: &str| Target::Url {
            url: url.into(),
            headers: vec![("Authorization".into(), header.into())],
        };
        assert_eq!(
            key(&options(url("http://u:p1@h/mcp", "a")), "p"),
            key(&options(url("http://u:p2@h/mcp", "b")), "p")
        );
        assert!(has_credentials(&url("http://h/mcp", "a")));
        assert!(!has_credentials(&Target::Url {
            url: "http://h/mcp".into(),
            headers: vec![]
        }));
    }

    #[test]
    fn answers_round_trip_marked_cached_and_failures_are_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ResultCache::open(
            dir.path().join("c"),
            Duration::from_secs(60),
            CacheMode::ReadWrite,
        )
        .unwrap();
        assert!(cache.lookup("k").is_none());
        cache.store("k", &answered(&[]), false);
        let hit = cache.lookup("k").expect("a fresh entry");
        assert!(hit.cached && hit.cached_at.as_deref().is_some_and(|t| t.ends_with('Z')));
        assert_eq!(hit.report.unwrap().tools[0].name, "echo");
        let mut failed = answered(&[]);
        failed.outcome = Outcome::Timeout;
        cache.store("f", &failed, false);
        assert!(cache.lookup("f").is_none());
        // A key's entry is only read back under that key.
        std::fs::copy(cache.path("k"), cache.path("other")).unwrap();
        assert!(cache.lookup("other").is_none());
        // A corrupt entry is a miss, and the next store rewrites it.
        std::fs::write(cache.path("k"), b"{\"format\":1,").unwrap();
        assert!(cache.lookup("k").is_none());
        cache.store("k", &answered(&[]), false);
        assert!(cache.lookup("k").is_some());
        let refresh = ResultCache::open(
            dir.path().join("c"),
            Duration::from_secs(60),
            CacheMode::WriteOnly,
        )
        .unwrap();
        assert!(refresh.lookup("k").is_none());
    }

    #[test]
    fn server_hints_shorten_or_forbid_storing() {
        let dir = tempfile::tempdir().unwrap();
        let cache =
            ResultCache::open(dir.path(), Duration::from_secs(3600), CacheMode::ReadWrite).unwrap();
        cache.store("zero", &answered(&[("tools/list", Some(0), None)]), false);
        assert!(cache.lookup("zero").is_none());
        let private = answered(&[("tools/list", Some(60_000), Some("private"))]);
        cache.store("private-creds", &private, true);
        assert!(cache.lookup("private-creds").is_none());
        cache.store("private", &private, false);
        assert!(cache.lookup("private").is_some());
        cache.store("short", &answered(&[("tools/list", Some(1), None)]), false);
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.lookup("short").is_none(), "ttlMs 1 has passed");
        let fresh_tmp = dir.path().join(".tmp-writing");
        std::fs::write(&fresh_tmp, b"half").unwrap();
        assert_eq!(cache.prune(), 1, "only the expired entry goes");
        assert!(!cache.path("short").exists() && cache.path("private").exists());
        assert!(fresh_tmp.exists(), "a writer may still be at work");
    }
}
