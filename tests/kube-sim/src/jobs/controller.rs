//! The job controller: one task per Job, woken by changes to the Job and its pods and by its
//! timers, which does what syncJob does on a real controller-manager. It counts every pod's
//! end once (what the `batch.kubernetes.io/job-tracking` finalizer guarantees there: a pod
//! removed before it ended counts as failed), keeps up to `parallelism` pods running for the
//! completions (the indexes, for an Indexed Job) not yet done, replaces failed pods after the
//! pod-failure back-off (10 s doubling to 10 min by default), and ends the Job: Complete
//! (after SuccessCriteriaMet) when all completions succeeded, Failed (after FailureTarget)
//! with BackoffLimitExceeded or DeadlineExceeded, its active pods deleted. Finished pods stay
//! until the Job is deleted, so their logs can be read.
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::conditions::{ensure_condition, find_condition, Finish};
use super::pods::{
    active, completion_index, controlled_by, manifest, phase, ready, terminating, uid_of,
};
use super::tracker::Tracker;
use crate::store::{Event, Key, Kind};
use crate::Ctx;

/// How soon a pod creation the API refused (a generated name taken) is tried again.
const CREATE_RETRY: Duration = Duration::from_secs(1);

/// Shared by every Job's task: the shutdown switch and the pod-failure back-off.
pub struct JobController {
    stop: watch::Sender<bool>,
    pod_backoff: Duration,
}

impl JobController {
    /// `pod_backoff`: the first wait before a failed pod is replaced (doubling per failure
    /// since the last success, up to ten minutes), DefaultJobPodFailureBackOff.
    pub fn new(pod_backoff: Duration) -> Self {
        JobController {
            stop: watch::channel(false).0,
            pod_backoff,
        }
    }

    /// Ends every Job's task (simulator shutdown), so no pod is made after it.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Starts controlling a Job just stored.
    pub fn start(ctx: &Arc<Ctx>, key: Key, uid: String) {
        // Subscribed before the task runs, so no change after the creation is missed.
        let events = ctx.store.subscribe();
        let stop = ctx.jobs.stop.subscribe();
        tokio::spawn(run(ctx.clone(), key, uid, events, stop));
    }
}

/// What a sync leaves to do.
enum Next {
    /// Sync again on a change, or at this time.
    Wait(Option<Instant>),
    /// The Job has its terminal condition: nothing more to do for it.
    Finished,
    /// The Job is gone (or replaced by another of the same name).
    Gone,
}

async fn run(
    ctx: Arc<Ctx>,
    key: Key,
    uid: String,
    mut events: broadcast::Receiver<Event>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(job) = ctx.store.get(&key) else {
        return;
    };
    let mut tracker = Tracker::new(&job);
    loop {
        if *stop.borrow() {
            return;
        }
        let wake = match sync(&ctx, &key, &uid, &mut tracker) {
            Next::Wait(wake) => wake,
            Next::Finished => return,
            Next::Gone => break,
        };
        let timer = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(timer);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                () = &mut timer => break,
                ev = events.recv() => match ev {
                    Ok(ev) if concerns(&ev, &key, &uid) => {
                        tracker.observe_event(&ev, &uid);
                        break;
                    }
                    Ok(_) => {}
                    // Too far behind: the store is read again anyway.
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
        // Take in what else is queued, so a burst of changes is one sync.
        while let Ok(ev) = events.try_recv() {
            if concerns(&ev, &key, &uid) {
                tracker.observe_event(&ev, &uid);
            }
        }
    }
    // A pod made while the Job was being deleted would outlive it: collect it as the garbage
    // collector does dependents whose owner is gone (orphaned pods no longer name the Job).
    crate::gc::collect(&ctx, &json!({"metadata": {"uid": uid}}));
}

/// A change to the Job itself or to one of its pods.
fn concerns(ev: &Event, key: &Key, uid: &str) -> bool {
    match ev.key.kind {
        Kind::Job => ev.key == *key,
        Kind::Pod => {
            ev.key.namespace == key.namespace
                && (controlled_by(&ev.object, uid)
                    || ev.prev.as_deref().is_some_and(|p| controlled_by(p, uid)))
        }
        _ => false,
    }
}

/// pastBackoffLimitOnFailure: with restartPolicy OnFailure, failures are container restarts
/// of the pods still running or pending.
fn past_backoff_limit_on_failure(job: &Value, pods: &[&Value], limit: i64) -> bool {
    if job["spec"]["template"]["spec"]["restartPolicy"] != "OnFailure" {
        return false;
    }
    let restarts: i64 = pods
        .iter()
        .filter(|p| matches!(phase(p), "Running" | "Pending"))
        .flat_map(|p| {
            ["initContainerStatuses", "containerStatuses"]
                .into_iter()
                .flat_map(|f| p["status"][f].as_array().cloned().unwrap_or_default())
        })
        .filter_map(|s| s["restartCount"].as_i64())
        .sum();
    match limit {
        0 => restarts > 0,
        _ => restarts >= limit,
    }
}

/// The Job's pods as the store has them, each taken in by the tracker (and those seen before
/// but gone now counted), with the store's resourceVersion they were read at.
fn observe_pods(ctx: &Ctx, key: &Key, uid: &str, t: &mut Tracker) -> (Vec<Value>, u64) {
    let (pods, rv) = ctx.store.list(Kind::Pod, Some(&key.namespace));
    let pods: Vec<Value> = pods.into_iter().filter(|p| controlled_by(p, uid)).collect();
    for p in &pods {
        t.observe(p, false);
    }
    t.vanished(&pods.iter().map(uid_of).collect());
    (pods, rv)
}

fn delete_pods(ctx: &Arc<Ctx>, key: &Key, pods: &[&Value]) {
    for p in pods {
        let name = p["metadata"]["name"].as_str().unwrap_or_default();
        // Already gone is fine: that is what was wanted.
        let _ = crate::kubelet::delete_pod(ctx, &Key::new(Kind::Pod, &key.namespace, name), None);
    }
}

/// Seconds since the Job's `startTime` (second precision, as a controller reads it).
fn seconds_active(status: &Value) -> Option<f64> {
    let start = status["startTime"]
        .as_str()?
        .parse::<jiff::Timestamp>()
        .ok()?;
    Some(jiff::Timestamp::now().duration_since(start).as_secs_f64())
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One syncJob.
fn sync(ctx: &Arc<Ctx>, key: &Key, uid: &str, t: &mut Tracker) -> Next {
    let Some(job) = ctx.store.get(key).filter(|j| uid_of(j) == uid) else {
        return Next::Gone;
    };
    let mut status = match &job["status"] {
        Value::Object(_) => job["status"].clone(),
        _ => json!({}),
    };
    let mut conditions: Vec<Value> = status["conditions"].as_array().cloned().unwrap_or_default();
    if find_condition(&conditions, "Complete").is_some()
        || find_condition(&conditions, "Failed").is_some()
    {
        return Next::Finished;
    }
    let (mut pods, read_at) = observe_pods(ctx, key, uid, t);

    let spec = &job["spec"];
    let parallelism = spec["parallelism"].as_u64().unwrap_or(1) as usize;
    let backoff_limit = spec["backoffLimit"].as_i64().unwrap_or(6);
    let suspended = spec["suspend"] == true;
    let deleting = job["metadata"]["deletionTimestamp"].is_string();
    let mut wake = None;

    if status["startTime"].is_null() && !suspended {
        status["startTime"] = json!(crate::now_rfc3339());
    }
    let running: Vec<&Value> = pods.iter().filter(|p| active(p)).collect();
    let mut finish = if let Some(c) = find_condition(&conditions, "SuccessCriteriaMet") {
        Some(Finish::from_interim(c, true))
    } else if let Some(c) = find_condition(&conditions, "FailureTarget") {
        Some(Finish::from_interim(c, false))
    } else if i64::from(t.failed) > backoff_limit
        || past_backoff_limit_on_failure(&job, &running, backoff_limit)
    {
        Some(Finish::failure(
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ))
    } else {
        match (
            spec["activeDeadlineSeconds"].as_i64(),
            seconds_active(&status),
        ) {
            (Some(deadline), Some(elapsed)) if !suspended => {
                if elapsed >= deadline as f64 {
                    Some(Finish::failure(
                        "DeadlineExceeded",
                        "Job was active longer than specified deadline",
                    ))
                } else {
                    let left = Duration::from_secs_f64(deadline as f64 - elapsed);
                    wake = Some(Instant::now() + left);
                    None
                }
            }
            _ => None,
        }
    };

    if finish.as_ref().is_some_and(Finish::is_failure) {
        delete_pods(ctx, key, &running);
    } else if finish.is_none() && !deleting {
        if suspended {
            delete_pods(ctx, key, &running);
            ensure_condition(
                &mut conditions,
                "Suspended",
                true,
                "JobSuspended",
                "Job suspended",
            );
        } else {
            if find_condition(&conditions, "Suspended").is_some() {
                ensure_condition(
                    &mut conditions,
                    "Suspended",
                    false,
                    "JobResumed",
                    "Job resumed",
                );
                // A resumed Job's deadline counts from now.
                status["startTime"] = json!(crate::now_rfc3339());
            }
            let pending = manage(ctx, key, &job, t, &pods, parallelism);
            wake = earliest(wake, pending);
        }
    }

    // The pods as they are after this sync's creations and deletions (a pod deleted at once,
    // never having run, is gone already: a failure, counted before the Job can finish). When
    // nothing in the store changed since they were read, they are the same pods.
    if ctx.store.current_rv() != read_at {
        pods = observe_pods(ctx, key, uid, t).0;
    }
    let active_count = pods.iter().filter(|p| active(p)).count();
    let terminating_count = pods.iter().filter(|p| terminating(p)).count();
    let ready_count = pods.iter().filter(|p| active(p) && ready(p)).count();
    let succeeded = t.succeeded();
    if finish.is_none() && !suspended {
        let complete = match t.completions {
            Some(c) => succeeded >= c && active_count == 0,
            None => succeeded > 0 && active_count == 0,
        };
        if complete {
            finish = Some(Finish::success());
        }
    }
    let mut finished = false;
    if let Some(f) = &finish {
        ensure_condition(&mut conditions, f.interim, true, &f.reason, &f.message);
        // The terminal condition waits until no pod of the Job is left running or terminating.
        if active_count == 0 && terminating_count == 0 {
            ensure_condition(&mut conditions, f.terminal, true, &f.reason, &f.message);
            if f.terminal == "Complete" {
                status["completionTime"] = json!(crate::now_rfc3339());
            }
            finished = true;
        }
    }

    // Counters that are zero, and empty lists, are left out (omitempty); ready and
    // terminating are pointers, so they are written as 0.
    put(
        &mut status,
        "active",
        (active_count > 0).then(|| json!(active_count)),
    );
    put(
        &mut status,
        "succeeded",
        (succeeded > 0).then(|| json!(succeeded)),
    );
    put(
        &mut status,
        "failed",
        (t.failed > 0).then(|| json!(t.failed)),
    );
    status["ready"] = json!(ready_count);
    status["terminating"] = json!(terminating_count);
    status["uncountedTerminatedPods"] = json!({});
    if t.indexed {
        let done = t.succeeded_indexes.to_string();
        put(
            &mut status,
            "completedIndexes",
            (!done.is_empty()).then(|| json!(done)),
        );
    }
    put(
        &mut status,
        "conditions",
        (!conditions.is_empty()).then(|| json!(conditions)),
    );
    ctx.store.update(key, |j| {
        if uid_of(j) == uid {
            j["status"] = status;
        }
    });
    match finished {
        true => Next::Finished,
        false => Next::Wait(wake),
    }
}

/// Sets a status field, or removes it for `None`.
fn put(status: &mut Value, field: &str, value: Option<Value>) {
    match (value, status.as_object_mut()) {
        (Some(v), Some(s)) => {
            s.insert(field.to_owned(), v);
        }
        (None, Some(s)) => {
            s.remove(field);
        }
        _ => {}
    }
}

/// manageJob: deletes surplus pods and makes missing ones (after the back-off). Returns when
/// to sync again if something is left to do then.
fn manage(
    ctx: &Arc<Ctx>,
    key: &Key,
    job: &Value,
    t: &mut Tracker,
    pods: &[Value],
    parallelism: usize,
) -> Option<Instant> {
    let succeeded = t.succeeded() as usize;
    let only_replace_failed = job["spec"]["podReplacementPolicy"] == "Failed";
    let mut running: Vec<&Value> = pods.iter().filter(|p| active(p)).collect();
    let terminating: Vec<&Value> = pods.iter().filter(|p| terminating(p)).collect();
    if t.indexed {
        // One pod per pending index: duplicates, done or out-of-range indexes are surplus.
        let mut seen = BTreeSet::new();
        let completions = t.completions.unwrap_or(0);
        let (keep, surplus): (Vec<&Value>, Vec<&Value>) = running.iter().partition(|p| {
            completion_index(p).is_some_and(|i| {
                i < completions && !t.succeeded_indexes.contains(i) && seen.insert(i)
            })
        });
        delete_pods(ctx, key, &surplus);
        running = keep;
    }
    let want = match t.completions {
        // Without completions, whatever runs after one success is left to finish.
        None if succeeded > 0 => running.len(),
        None => parallelism,
        Some(c) => (c as usize).saturating_sub(succeeded).min(parallelism),
    };
    if running.len() > want {
        // The highest indexes (or the newest pods) go first.
        running.sort_by_key(|p| {
            (
                completion_index(p),
                p["metadata"]["creationTimestamp"]
                    .as_str()
                    .map(str::to_owned),
            )
        });
        delete_pods(ctx, key, &running[want..]);
        return None;
    }
    let mut missing = want - running.len();
    if only_replace_failed {
        missing = missing.saturating_sub(terminating.len());
    }
    if missing == 0 {
        return None;
    }
    if let Some(until) = t.backoff_until(ctx.jobs.pod_backoff) {
        return Some(until);
    }
    let indexes: Vec<Option<u32>> = match t.indexed {
        true => {
            let mut busy: BTreeSet<u32> =
                running.iter().filter_map(|p| completion_index(p)).collect();
            if only_replace_failed {
                busy.extend(terminating.iter().filter_map(|p| completion_index(p)));
            }
            t.succeeded_indexes
                .first_pending(&busy, missing, t.completions.unwrap_or(0))
                .into_iter()
                .map(Some)
                .collect()
        }
        false => vec![None; missing],
    };
    let mut retry = None;
    for index in indexes {
        match crate::api::pods::create_pod(ctx, &key.namespace, manifest(job, index)) {
            Ok(pod) => t.observe(&pod, false),
            Err(_) => retry = Some(Instant::now() + CREATE_RETRY),
        }
    }
    retry
}
