//! An image the runtime cannot pull: ErrImagePull with containerd's message, then
//! ImagePullBackOff, retried after `Config::pull_retry` (10 s) doubling to five minutes (each
//! retry an ErrImagePull again), as the kubelet's image puller backs off.
use std::time::Duration;

use super::container::wait_or_stop;
use super::publish;
use super::runtime::{ContainerRuntime, ContainerState, PodRuntime};
use crate::Ctx;

/// The waiting message of a pull that found nothing: containerd's NotFound, as the kubelet
/// passes it on.
pub fn not_found_message(reference: &str) -> String {
    let full = crate::reference::status_image(reference);
    format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{full}\": failed to \
         resolve reference \"{full}\": {full}: not found"
    )
}

/// Runs the pull-and-back-off cycle until the pod stops.
pub async fn never_pulled(ctx: &Ctx, rt: &PodRuntime, c: &ContainerRuntime, reference: &str) {
    let mut backoff = ctx.pull_retry;
    loop {
        c.set_state(ContainerState::Waiting {
            reason: "ErrImagePull".into(),
            message: Some(not_found_message(reference)),
        });
        publish(ctx, rt);
        if !wait_or_stop(rt, ctx.pull_backoff).await {
            return;
        }
        c.set_state(ContainerState::Waiting {
            reason: "ImagePullBackOff".into(),
            message: Some(format!("Back-off pulling image \"{reference}\"")),
        });
        publish(ctx, rt);
        if !wait_or_stop(rt, backoff).await {
            return;
        }
        backoff = (backoff * 2).min(Duration::from_secs(300));
    }
}
