//! `scan`: discovery over a whole catalog, with bounded concurrency. One target's failure
//! never stops the scan; each ends in a typed [`Outcome`], handed to the caller as it finishes
//! (so that JSON Lines stream out). An interrupt stops every running target (each cleans up
//! as a single discover does) and starts no more.

pub mod baseline;
pub mod cache;
pub mod catalog;
pub mod catalog_schema;
pub mod outcome;
pub mod render;
pub mod shard;
pub mod summary;

pub use baseline::{Baseline, BaselineError};
pub use cache::{CacheMode, ResultCache};
pub use catalog::{Catalog, CatalogError, CatalogTarget};
pub use outcome::{Outcome, TargetResult, Verdict};
pub use shard::{merge, MergeError, Shard};
pub use summary::{Keep, Summary, Tally};

use crate::discover::{discover, DiscoverError, DiscoverOptions};
use crate::plugins::Pipeline;
use crate::runtime::kubernetes::Cluster;
use crate::target::Target;
use futures_util::StreamExt;
use std::future::Future;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How a scan runs; `base` carries what every target shares (timeouts, session and cluster
/// settings), its `target` is replaced by each catalog entry's.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Targets probed at once.
    pub jobs: usize,
    /// Image targets probed at once (each loads the cluster), within `jobs`.
    pub image_jobs: usize,
    /// Only this shard's targets (every N-th); `None`: all.
    pub shard: Option<Shard>,
    /// Answers reused and stored; `None`: `--no-cache`.
    pub cache: Option<ResultCache>,
    pub base: DiscoverOptions,
}

/// Lines of a failed server's stderr kept in its result.
const LOG_TAIL_LINES: usize = 20;

/// Probes every target of `catalog`, calling `done` with each result as it finishes. Returns
/// false when `interrupt` stopped the scan (the targets it never started have no result).
pub async fn scan(
    catalog: &Catalog,
    options: &ScanOptions,
    pipeline: &Pipeline,
    interrupt: impl Future<Output = ()>,
    mut done: impl FnMut(TargetResult),
) -> bool {
    let cancel = CancellationToken::new();
    let images = Semaphore::new(options.image_jobs.max(1));
    let total = catalog.targets.len();
    let shard = options.shard;
    let mine = catalog.targets.iter().enumerate();
    let mine = mine.filter(move |(index, _)| shard.is_none_or(|s| s.takes(*index)));
    let identity = options.cache.as_ref().map(|_| pipeline.identity());
    let identity = identity.as_deref();
    let mut results = futures_util::stream::iter(mine)
        .map(|(index, target)| {
            let slot = Slot {
                index,
                total,
                cancel: &cancel,
                images: &images,
            };
            probe_cached(slot, target, options, pipeline, identity)
        })
        .buffer_unordered(options.jobs.max(1));
    let mut interrupt = std::pin::pin!(interrupt);
    loop {
        tokio::select! {
            next = results.next() => match next {
                Some(Some(result)) => done(result),
                Some(None) => {}
                None => break,
            },
            () = &mut interrupt, if !cancel.is_cancelled() => cancel.cancel(),
        }
    }
    !cancel.is_cancelled()
}

/// A target's place in the scan and what it shares with the others.
struct Slot<'a> {
    index: usize,
    total: usize,
    cancel: &'a CancellationToken,
    images: &'a Semaphore,
}

/// One target: its fresh cached answer if there is one, else a probe (whose answer is stored).
async fn probe_cached(
    slot: Slot<'_>,
    entry: &CatalogTarget,
    options: &ScanOptions,
    pipeline: &Pipeline,
    identity: Option<&str>,
) -> Option<TargetResult> {
    let discover_options = options_for(entry, &options.base);
    let cached = match options.cache.as_ref().zip(identity) {
        Some((cache, identity)) => cache_key(&discover_options, identity)
            .await
            .map(|key| (cache, key)),
        None => None,
    };
    if let Some((cache, key)) = &cached {
        let started = Instant::now();
        if let Some(mut result) = cache.lookup(key) {
            result.index = slot.index;
            result.total = slot.total;
            result.name = entry.name.clone();
            result.duration_ms = started.elapsed().as_millis() as u64;
            return Some(result);
        }
    }
    let result = probe_one(slot, entry, &discover_options, pipeline).await?;
    if let Some((cache, key)) = &cached {
        cache.store(key, &result, cache::has_credentials(&entry.target));
    }
    Some(result)
}

/// The cache key of a target; for an image, in the cluster it would run in. `None` when that
/// cluster cannot be loaded: the probe reports why, and its failure is not cached anyway.
async fn cache_key(options: &DiscoverOptions, identity: &str) -> Option<String> {
    let cluster = match &options.target {
        Target::Image(_) => {
            let cluster = Cluster::connect(&options.kubernetes.cluster).await.ok()?;
            Some(cache::ClusterKey::of(&cluster))
        }
        _ => None,
    };
    Some(cache::key(options, identity, cluster.as_ref()))
}

/// One target, from its catalog entry to its result; `None` when the scan was interrupted
/// before it started.
async fn probe_one(
    Slot {
        index,
        total,
        cancel,
        images,
    }: Slot<'_>,
    entry: &CatalogTarget,
    options: &DiscoverOptions,
    pipeline: &Pipeline,
) -> Option<TargetResult> {
    let _slot = match entry.is_image() {
        true => Some(tokio::select! {
            permit = images.acquire() => permit.ok()?,
            () = cancel.cancelled() => return None,
        }),
        false => None,
    };
    if cancel.is_cancelled() {
        return None;
    }
    let started = Instant::now();
    let discovered = discover(options, pipeline, cancel.cancelled()).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let mut result = TargetResult {
        index,
        total,
        name: entry.name.clone(),
        outcome: Outcome::Ok,
        error: None,
        log_tail: String::new(),
        duration_ms,
        cached: false,
        cached_at: None,
        report: None,
    };
    match discovered {
        Ok(report) => {
            result.outcome = Outcome::of_report(&report);
            result.report = Some(report);
        }
        Err(err) => {
            result.outcome = Outcome::of_error(&err);
            if let DiscoverError::Failed { log_tail, .. } = &err {
                result.log_tail = outcome::last_lines(log_tail, LOG_TAIL_LINES);
            }
            result.error = Some(err.to_string().replace(['\n', '\r'], " "));
        }
    }
    Some(result)
}

/// The discover options for one catalog entry.
fn options_for(entry: &CatalogTarget, base: &DiscoverOptions) -> DiscoverOptions {
    let mut options = base.clone();
    options.target = entry.target.clone();
    if let Target::Image(_) = &entry.target {
        let k = &mut options.kubernetes;
        if let Some(transport) = entry.transport {
            k.transport = transport;
        }
        if let Some(port) = entry.port {
            k.port = port;
        }
        if let Some(namespace) = &entry.namespace {
            k.cluster.namespace = Some(namespace.clone());
        }
    }
    options
}
