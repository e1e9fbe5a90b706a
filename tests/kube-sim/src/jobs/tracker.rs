//! What the `batch.kubernetes.io/job-tracking` finalizer guarantees on a real cluster: every
//! pod of a Job has its end counted once, in `succeeded` (or `completedIndexes`) or `failed`,
//! and a pod removed before it ended counts as failed.
use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::indexes::Indexes;
use super::pods::{completion_index, controlled_by, phase, uid_of};
use super::INDEXED;
use crate::store::{Event, EventType, Kind};

/// MaxJobPodFailureBackOff.
const MAX_POD_BACKOFF: Duration = Duration::from_secs(600);

/// Every pod's end, counted once: the Job's `succeeded`, `failed` and `completedIndexes`, and
/// the failures since the last success, which set the back-off.
pub(super) struct Tracker {
    pub(super) indexed: bool,
    pub(super) completions: Option<u32>,
    counted: HashSet<String>,
    /// Pods seen that have not ended.
    live: HashSet<String>,
    pub(super) succeeded_indexes: Indexes,
    succeeded: u32,
    pub(super) failed: u32,
    failures_since_success: u32,
    last_failure: Option<Instant>,
}

impl Tracker {
    pub(super) fn new(job: &Value) -> Self {
        let completions = job["spec"]["completions"].as_u64().map(|c| c as u32);
        let status = &job["status"];
        Tracker {
            indexed: job["spec"]["completionMode"] == INDEXED,
            completions,
            counted: HashSet::new(),
            live: HashSet::new(),
            succeeded_indexes: Indexes::parse(
                status["completedIndexes"].as_str().unwrap_or_default(),
                completions.unwrap_or(0),
            ),
            succeeded: status["succeeded"].as_u64().unwrap_or(0) as u32,
            failed: status["failed"].as_u64().unwrap_or(0) as u32,
            failures_since_success: 0,
            last_failure: None,
        }
    }

    pub(super) fn observe_event(&mut self, ev: &Event, uid: &str) {
        if ev.key.kind == Kind::Pod && controlled_by(&ev.object, uid) {
            self.observe(&ev.object, ev.kind == EventType::Deleted);
        }
    }

    /// Takes in a pod's state; `gone`: this is its last state (it was removed).
    pub(super) fn observe(&mut self, pod: &Value, gone: bool) {
        let uid = uid_of(pod).to_owned();
        if self.counted.contains(&uid) {
            return;
        }
        match phase(pod) {
            "Succeeded" => self.count_success(pod),
            "Failed" => self.count_failure(),
            _ if gone => self.count_failure(),
            _ => {
                self.live.insert(uid);
                return;
            }
        }
        self.live.remove(&uid);
        self.counted.insert(uid);
    }

    /// Pods seen alive that are no longer in the store and whose end was not seen: they were
    /// removed before they ended, which counts as a failure.
    pub(super) fn vanished(&mut self, present: &HashSet<&str>) {
        let gone: Vec<String> = self
            .live
            .iter()
            .filter(|u| !present.contains(u.as_str()))
            .cloned()
            .collect();
        for uid in gone {
            self.live.remove(&uid);
            self.counted.insert(uid);
            self.count_failure();
        }
    }

    pub(super) fn count_success(&mut self, pod: &Value) {
        if self.indexed {
            if let Some(i) = completion_index(pod).filter(|i| Some(*i) < self.completions) {
                self.succeeded_indexes.insert(i);
            }
        } else {
            self.succeeded += 1;
        }
        self.failures_since_success = 0;
        self.last_failure = None;
    }

    pub(super) fn count_failure(&mut self) {
        self.failed += 1;
        self.failures_since_success += 1;
        self.last_failure = Some(Instant::now());
    }

    pub(super) fn succeeded(&self) -> u32 {
        match self.indexed {
            true => self.succeeded_indexes.total() as u32,
            false => self.succeeded,
        }
    }

    /// When a new pod may be made after the failures since the last success: the back-off
    /// doubles with each, from `base` up to ten minutes (getRemainingTime).
    pub(super) fn backoff_until(&self, base: Duration) -> Option<Instant> {
        let n = self.failures_since_success;
        let last = self.last_failure?;
        if n == 0 {
            return None;
        }
        let delay = base
            .checked_mul(1u32 << (n - 1).min(20))
            .unwrap_or(MAX_POD_BACKOFF)
            .min(MAX_POD_BACKOFF);
        Some(last + delay).filter(|at| *at > Instant::now())
    }
}
