//! Pod deletion: graceful (deletionTimestamp, SIGTERM, SIGKILL after the grace period, then
//! removal) or immediate, as the API server and kubelet do it together.
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::publish;
use super::runtime::lock;
use crate::error::ApiError;
use crate::store::Key;
use crate::Ctx;

/// Deletes a pod the way the API server and kubelet do together: graceful (deletionTimestamp,
/// SIGTERM, SIGKILL after the grace period, then removal) or immediate.
pub fn delete_pod(ctx: &Arc<Ctx>, key: &Key, grace: Option<i64>) -> Result<Value, ApiError> {
    let pod = ctx
        .store
        .get(key)
        .ok_or_else(|| ApiError::not_found(crate::store::Kind::Pod, &key.name))?;
    let rt = ctx.kubelet.runtime_of(&pod);
    let grace = grace
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(30)
        .max(0);
    let terminal = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    let live = rt.as_ref().is_some_and(|r| r.has_live_process());
    if grace == 0 || terminal || !live {
        if let Some(rt) = &rt {
            rt.deleting.store(true, Ordering::SeqCst);
            let _ = rt.stop.send(true);
            rt.signal_all(libc::SIGKILL);
            lock(&ctx.kubelet.pods).remove(&rt.uid);
        }
        let removed = ctx
            .store
            .remove(key)
            .ok_or_else(|| ApiError::not_found(crate::store::Kind::Pod, &key.name))?;
        crate::gc::collect(ctx, &removed);
        return Ok(removed);
    }
    if pod["metadata"]["deletionGracePeriodSeconds"].is_number() {
        return Ok(pod);
    }
    let rt = rt.expect("live implies a runtime");
    let deadline = jiff_now_plus(grace);
    let updated = ctx
        .store
        .update(key, |p| {
            p["metadata"]["deletionTimestamp"] = json!(deadline);
            p["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        })
        .unwrap_or(pod);
    rt.deleting.store(true, Ordering::SeqCst);
    let _ = rt.stop.send(true);
    rt.signal_all(libc::SIGTERM);
    let ctx = ctx.clone();
    let key = key.clone();
    tokio::spawn(async move {
        if tokio::time::timeout(Duration::from_secs(grace as u64), rt.processes_gone())
            .await
            .is_err()
        {
            rt.signal_all(libc::SIGKILL);
            rt.processes_gone().await;
        }
        publish(&ctx, &rt);
        lock(&ctx.kubelet.pods).remove(&rt.uid);
        let same = ctx
            .store
            .get(&key)
            .is_some_and(|p| p["metadata"]["uid"] == json!(rt.uid));
        if same {
            if let Some(removed) = ctx.store.remove(&key) {
                crate::gc::collect(&ctx, &removed);
            }
        }
    });
    Ok(updated)
}

fn jiff_now_plus(secs: i64) -> String {
    let ts = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap_or_else(|_| jiff::Timestamp::now());
    crate::rfc3339(ts)
}
