//! Garbage collection by ownerReferences, with the three propagation policies.
use std::sync::Arc;

use serde_json::Value;

use crate::store::{Key, Kind};
use crate::Ctx;

fn uid(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or_default()
}

fn owner_uids(obj: &Value) -> Vec<String> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r["uid"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Objects that name `owner_uid` among their owners.
pub fn dependents(ctx: &Ctx, owner_uid: &str) -> Vec<(Key, Value)> {
    ctx.store
        .all()
        .into_iter()
        .filter(|(_, o)| owner_uids(o).iter().any(|u| u == owner_uid))
        .collect()
}

/// Orphan policy: dependents lose their reference to the owner and stay.
pub fn orphan(ctx: &Ctx, owner: &Value) {
    let owner_uid = uid(owner).to_owned();
    for (key, _) in dependents(ctx, &owner_uid) {
        ctx.store.update(&key, |o| {
            if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                refs.retain(|r| r["uid"].as_str() != Some(&owner_uid));
            }
        });
    }
}

/// Deletes the dependents of a removed owner whose owners are now all gone (background GC).
pub fn collect(ctx: &Arc<Ctx>, owner: &Value) {
    let owner_uid = uid(owner).to_owned();
    let ctx = ctx.clone();
    // Runs outside the request, as the controller-manager's collector does.
    tokio::spawn(async move {
        let live: std::collections::HashSet<String> = ctx
            .store
            .all()
            .iter()
            .map(|(_, o)| uid(o).to_owned())
            .collect();
        for (key, obj) in dependents(&ctx, &owner_uid) {
            if owner_uids(&obj).iter().all(|u| !live.contains(u)) {
                let _ = delete(&ctx, &key, None);
            }
        }
    });
}

/// Deletes any kind of object with default options.
pub fn delete(
    ctx: &Arc<Ctx>,
    key: &Key,
    grace: Option<i64>,
) -> Result<Value, crate::error::ApiError> {
    match key.kind {
        Kind::Pod => crate::kubelet::delete_pod(ctx, key, grace),
        // A Job has no termination of its own; its pods follow by this same collection.
        Kind::Service | Kind::Secret | Kind::Job => {
            let removed = ctx
                .store
                .remove(key)
                .ok_or_else(|| crate::error::ApiError::not_found(key.kind, &key.name))?;
            collect(ctx, &removed);
            Ok(removed)
        }
    }
}

/// Foreground policy for an owner with a termination of its own to wait for (a Pod, a Job):
/// the owner is marked (`deletionTimestamp`, the `foregroundDeletion` finalizer) and that is
/// the answer; its dependents go next (waited for), then the owner, unless it was replaced
/// meanwhile. `None` when the owner has no dependents: it is deleted as under any policy.
pub fn delete_in_foreground(
    ctx: &Arc<Ctx>,
    key: &Key,
    owner: &Value,
    grace: Option<i64>,
) -> Option<Value> {
    let owner_uid = uid(owner).to_owned();
    if dependents(ctx, &owner_uid).is_empty() {
        return None;
    }
    let marked = ctx.store.update(key, |o| {
        o["metadata"]["deletionTimestamp"] = serde_json::json!(crate::now_rfc3339());
        o["metadata"]["finalizers"] = serde_json::json!(["foregroundDeletion"]);
    });
    let (ctx, key, owner) = (ctx.clone(), key.clone(), owner.clone());
    tokio::spawn(async move {
        delete_dependents_first(&ctx, &owner).await;
        if ctx.store.get(&key).is_some_and(|o| uid(&o) == owner_uid) {
            let _ = delete(&ctx, &key, grace);
        }
    });
    Some(marked.unwrap_or_default())
}

/// Foreground policy: dependents go first (waited for), then the owner.
pub async fn delete_dependents_first(ctx: &Arc<Ctx>, owner: &Value) {
    for (key, _) in dependents(ctx, uid(owner)) {
        let _ = delete(ctx, &key, None);
        while ctx.store.get(&key).is_some() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}
