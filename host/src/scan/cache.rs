//! The scan result cache: a target that answered is not probed again (no pod, no process)
//! while its entry is fresh.
//!
//! Key: sha256 over what decides the result — the image reference (a digest when the catalog
//! pins one, `@sha256:`), args and env, and the cluster (API server URL, its CA, the
//! namespace); a command's argv, env, and the size and mtime of its
//! program file and of args that name files; a URL (credentials removed) and its header names;
//! the session and pod settings that change the answer; the pipeline's identity; mcp-probe's
//! version. Secret values never enter the key or the entry: secret env and headers count by
//! name only.
//!
//! Expiry: 24 hours, shortened by the server's own `ttlMs` hint where it sent one; an
//! operator's explicit `--cache-ttl` wins over the hint, `ttlMs: 0` included. A
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

/// The entry layout's (and key's) version: an entry of another is a miss. 2: the key is a
/// serialized [`KeyInput`] and holds the cluster.
const FORMAT: u32 = 2;

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
    /// `ttl` was the operator's (`--cache-ttl`): it wins over the servers' `ttlMs`.
    explicit_ttl: bool,
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
        Ok(ResultCache {
            dir,
            ttl,
            explicit_ttl: false,
            mode,
        })
    }

    /// The cache with `ttl` as the operator gave it: servers' `ttlMs` hints no longer
    /// shorten it (a server answering `ttlMs: 0` is still cached for that long).
    pub fn with_explicit_ttl(mut self, explicit: bool) -> Self {
        self.explicit_ttl = explicit;
        self
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
        let text = crate::input_file::read(&path, crate::input_file::Kind::Cache).ok()?;
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
        // Fresh under this run's TTL, and (unless the operator set it) the server's hint as
        // stored.
        let now = now_ms();
        let fresh = now < entry.stored_at_ms.saturating_add(self.ttl_ms())
            && (self.explicit_ttl || now < entry.expires_at_ms);
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
        let server_ttl = hints
            .filter_map(|h| h.ttl_ms)
            .min()
            .filter(|_| !self.explicit_ttl);
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
                let expiry = crate::input_file::read(&path, crate::input_file::Kind::Cache)
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

/// Which cluster an image target runs in, as far as it decides the answer: the API server,
/// the CA it is trusted by (one cluster's name may be another's elsewhere), the namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterKey {
    /// The API server URL, credentials removed.
    pub server: String,
    /// SHA-256 of the CA certificates (DER, in order; or the CA file's bytes in a pod);
    /// empty when the system's roots are trusted.
    pub ca_sha256: String,
    pub namespace: String,
}

impl ClusterKey {
    /// The key of the cluster `cluster` connected to.
    pub fn of(cluster: &crate::runtime::kubernetes::Cluster) -> ClusterKey {
        let config = &cluster.config;
        let mut ca = Vec::new();
        if let Some(path) = &config.root_cert_file {
            ca.push(std::fs::read(path).unwrap_or_default());
        }
        ca.extend(config.root_cert.iter().flatten().cloned());
        let ca_sha256 = match ca.is_empty() {
            true => String::new(),
            false => {
                let mut hash = Sha256::new();
                for cert in &ca {
                    // Length-prefixed: no two lists of certificates hash alike.
                    hash.update((cert.len() as u64).to_be_bytes());
                    hash.update(cert);
                }
                hex::encode(hash.finalize())
            }
        };
        ClusterKey {
            server: crate::runtime::url::redact_url(&config.cluster_url.to_string()),
            ca_sha256,
            namespace: cluster.namespace.clone(),
        }
    }
}

/// Everything that decides a probe's answer, as the key hashes it: serialized, so that each
/// input is named and none depends on how a type prints itself for debugging.
#[derive(Serialize)]
struct KeyInput<'a> {
    format: u32,
    version: &'a str,
    pipeline: &'a str,
    target: TargetKey<'a>,
    session: SessionKey<'a>,
    max_line_bytes: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum TargetKey<'a> {
    Image {
        /// The digest alone when the reference pins one: it names the image whatever
        /// repository or tag is written with it.
        image: &'a str,
        pinned: bool,
        args: &'a [String],
        env: &'a [(String, String)],
        /// Secret env by name only.
        secret_names: Vec<&'a str>,
        transport: &'static str,
        port: u16,
        /// `None` when the cluster could not be loaded (the probe then fails, uncached).
        cluster: Option<&'a ClusterKey>,
    },
    Command {
        program: &'a str,
        /// Size and mtime: a rebuilt local server is probed again.
        program_file: String,
        /// Each arg, with the stamp of the file it names (`node server.js`: an edited file
        /// is a new server).
        args: Vec<(&'a str, Option<String>)>,
        env: &'a [(String, String)],
    },
    Url {
        /// Credentials removed.
        url: String,
        /// Header names only.
        headers: Vec<&'a str>,
    },
}

#[derive(Serialize)]
struct SessionKey<'a> {
    roots: bool,
    sampling: bool,
    elicitation: bool,
    page_cap: usize,
    era: &'static str,
    modern_version: &'a str,
    legacy_version: &'a str,
    max_discovery_bytes: u64,
}

/// The cache key of probing `options.target` under a pipeline of identity `pipeline`, in the
/// cluster `cluster` (image targets).
pub fn key(options: &DiscoverOptions, pipeline: &str, cluster: Option<&ClusterKey>) -> String {
    key_for_version(options, pipeline, cluster, env!("CARGO_PKG_VERSION"))
}

/// [`key`] as mcp-probe `version` makes it.
fn key_for_version(
    options: &DiscoverOptions,
    pipeline: &str,
    cluster: Option<&ClusterKey>,
    version: &str,
) -> String {
    let input = KeyInput {
        format: FORMAT,
        version,
        pipeline,
        target: target_key(options, cluster),
        session: session_key(&options.session),
        max_line_bytes: options.max_line_bytes,
    };
    let text = serde_json::to_vec(&input).expect("a key input serializes");
    hex::encode(Sha256::digest(&text))
}

fn target_key<'a>(options: &'a DiscoverOptions, cluster: Option<&'a ClusterKey>) -> TargetKey<'a> {
    use crate::runtime::kubernetes::TransportChoice;
    match &options.target {
        Target::Image(image) => {
            let (reference, pinned) = match image.image.split_once("@sha256:") {
                Some((_, digest)) => (digest, true),
                None => (image.image.as_str(), false),
            };
            let k = &options.kubernetes;
            TargetKey::Image {
                image: reference,
                pinned,
                args: &image.args,
                env: &image.env,
                secret_names: image.secret_env.iter().map(|(k, _)| k.as_str()).collect(),
                transport: match k.transport {
                    TransportChoice::Auto => "auto",
                    TransportChoice::Stdio => "stdio",
                    TransportChoice::Http => "http",
                },
                port: k.port,
                cluster,
            }
        }
        Target::Command { program, args, env } => TargetKey::Command {
            program,
            program_file: program_file_stamp(program),
            args: args
                .iter()
                .map(|arg| {
                    let file = Path::new(arg);
                    (arg.as_str(), file.is_file().then(|| file_stamp(file)))
                })
                .collect(),
            env,
        },
        Target::Url { url, headers } => TargetKey::Url {
            url: crate::runtime::url::redact_url(url),
            headers: headers.iter().map(|(k, _)| k.as_str()).collect(),
        },
    }
}

fn session_key(s: &crate::mcp::session::SessionOptions) -> SessionKey<'_> {
    use crate::mcp::era::ProtocolEra;
    SessionKey {
        roots: s.capabilities.roots,
        sampling: s.capabilities.sampling,
        elicitation: s.capabilities.elicitation,
        page_cap: s.page_cap,
        era: match s.era {
            ProtocolEra::Auto => "auto",
            ProtocolEra::Modern => "modern",
            ProtocolEra::Legacy => "legacy",
        },
        modern_version: &s.versions.modern,
        legacy_version: &s.versions.legacy,
        max_discovery_bytes: s.max_discovery_bytes,
    }
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
        let base = key(&options(image("srv:1", &["--x"], "s1")), "p", None);
        assert_eq!(
            base,
            key(&options(image("srv:1", &["--x"], "s2")), "p", None)
        );
        assert_ne!(
            base,
            key(&options(image("srv:2", &["--x"], "s1")), "p", None)
        );
        assert_ne!(
            base,
            key(&options(image("srv:1", &["--y"], "s1")), "p", None)
        );
        assert_ne!(
            base,
            key(&options(image("srv:1", &["--x"], "s1")), "q", None)
        );
        let digest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            key(
                &options(image(&format!("ghcr.io/o/srv:1{digest}"), &[], "")),
                "p",
                None
            ),
            key(
                &options(image(&format!("mirror.local/srv{digest}"), &[], "")),
                "p",
                None
            ),
        );
        assert_ne!(
            key(&options(image(&format!("srv{digest}"), &[], "")), "p", None),
            key(&options(image("srv", &[], "")), "p", None),
        );
        let url = |url: &str, header: &str| Target::Url {
            url: url.into(),
            headers: vec![("Authorization".into(), header.into())],
        };
        assert_eq!(
            key(&options(url("http://u:p1@h/mcp", "a")), "p", None),
            key(&options(url("http://u:p2@h/mcp", "b")), "p", None)
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

    #[test]
    fn an_explicit_cache_ttl_wins_over_the_servers_hint() {
        let dir = tempfile::tempdir().unwrap();
        let open = |explicit| {
            ResultCache::open(dir.path(), Duration::from_secs(3600), CacheMode::ReadWrite)
                .unwrap()
                .with_explicit_ttl(explicit)
        };
        let zero = answered(&[("tools/list", Some(0), None)]);
        open(false).store("zero", &zero, false);
        assert!(open(false).lookup("zero").is_none(), "ttlMs 0: not stored");
        open(true).store("zero", &zero, false);
        assert!(open(true).lookup("zero").is_some(), "--cache-ttl 1h wins");
        let short = answered(&[("tools/list", Some(1), None)]);
        open(false).store("short", &short, false);
        std::thread::sleep(Duration::from_millis(5));
        assert!(open(false).lookup("short").is_none());
        assert!(
            open(true).lookup("short").is_some(),
            "the stored hint is not the flag's"
        );
    }

    fn cluster(server: &str, ca: &str, namespace: &str) -> ClusterKey {
        ClusterKey {
            server: server.into(),
            ca_sha256: ca.into(),
            namespace: namespace.into(),
        }
    }

    #[test]
    fn image_keys_hold_the_cluster_server_ca_and_namespace() {
        let target = || options(image("srv:1", &[], ""));
        let a = cluster("https://a.example:6443/", "aa", "default");
        let at = |c: &ClusterKey| key(&target(), "p", Some(c));
        assert_eq!(at(&a), at(&a.clone()));
        for other in [
            cluster("https://b.example:6443/", "aa", "default"),
            cluster("https://a.example:6443/", "bb", "default"),
            cluster("https://a.example:6443/", "", "default"),
            cluster("https://a.example:6443/", "aa", "team"),
        ] {
            assert_ne!(at(&a), at(&other), "{other:?}");
        }
        assert_ne!(at(&a), key(&target(), "p", None));
    }

    /// The key of a fixed target stays what it is: entries written by one build are found by
    /// the next unless what decides the answer changed (a change here drops every entry:
    /// raise FORMAT if it is meant).
    #[test]
    fn an_unchanged_target_keeps_its_key() {
        let fixed = |target: Target| {
            let mut options = options(target);
            options.session.capabilities = crate::mcp::capabilities::ClientCapabilities {
                roots: true,
                sampling: false,
                elicitation: true,
            };
            options.session.page_cap = 100;
            options.session.max_discovery_bytes = 1 << 20;
            options.session.era = crate::mcp::era::ProtocolEra::Auto;
            options.session.versions = crate::mcp::era::Versions {
                modern: "2026-07-28".into(),
                legacy: "2025-06-18".into(),
            };
            options.kubernetes.transport = crate::runtime::kubernetes::TransportChoice::Stdio;
            options.kubernetes.port = 8000;
            options
        };
        let a = cluster("https://a.example:6443/", "aa", "default");
        let image = fixed(image("ghcr.io/o/srv:1", &["--x"], "s"));
        assert_eq!(
            key_for_version(&image, "p", Some(&a), "1.2.3"),
            "bdba6a8e60db53be43ea2634d0482bcf5c0d966c70bf77404230ac2de36b426c"
        );
        let url = fixed(Target::Url {
            url: "https://u:p@h.example/mcp".into(),
            headers: vec![("Authorization".into(), "Bearer t".into())],
        });
        assert_eq!(
            key_for_version(&url, "p", None, "1.2.3"),
            "23f9f70391fd5b78c2ff885eff419529d7f6f82a3521de957028451f81f86a58"
        );
        let input = KeyInput {
            format: FORMAT,
            version: "1.2.3",
            pipeline: "p",
            target: target_key(&url, None),
            session: session_key(&url.session),
            max_line_bytes: url.max_line_bytes,
        };
        assert_eq!(
            serde_json::to_string(&input).unwrap(),
            r#"{"format":2,"version":"1.2.3","pipeline":"p","target":{"url":{"url":"https://***:***@h.example/mcp","headers":["Authorization"]}},"session":{"roots":true,"sampling":false,"elicitation":true,"page_cap":100,"era":"auto","modern_version":"2026-07-28","legacy_version":"2025-06-18","max_discovery_bytes":1048576},"max_line_bytes":1048576}"#
        );
    }
}
