//! One container's life on the fake kubelet: pull, ContainerCreating, configuration
//! (environment, runAsNonRoot), then run, probe, exit and restart with back-off.
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Container;

use super::runtime::{
    self, lock, ContainerRuntime, ContainerState, Output, PodRuntime, Terminated,
};
use super::{env, logs, probe, process, publish, pull, security};
use crate::Ctx;

pub(super) async fn wait_or_stop(rt: &PodRuntime, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = rt.stopped() => false,
    }
}

pub(super) async fn run_container(
    ctx: Arc<Ctx>,
    rt: Arc<PodRuntime>,
    spec: Container,
    c: Arc<ContainerRuntime>,
) {
    let image_ref = spec.image.clone().unwrap_or_default();
    if let Some(why) = crate::images::invalid_reference(&image_ref) {
        c.set_state(ContainerState::Waiting {
            reason: "InvalidImageName".into(),
            message: Some(format!(
                "Failed to apply default image tag \"{image_ref}\": couldn't parse image reference \"{image_ref}\": invalid reference format{why}"
            )),
        });
        publish(&ctx, &rt);
        rt.stopped().await;
        return;
    }
    let Some(image) = ctx.images.resolve(&image_ref).cloned() else {
        return pull::never_pulled(&ctx, &rt, &c, &image_ref).await;
    };
    *runtime::lock(&c.image_id) = crate::images::image_id(&image_ref, &image);
    if !wait_or_stop(&rt, Duration::from_millis(image.start_delay_ms)).await {
        return;
    }
    // generateContainerConfig: the environment (its Secrets), then runAsNonRoot. A failure
    // holds the container in CreateContainerConfigError, retried like the kubelet's sync
    // loop until it passes (a Secret appears) or the pod goes.
    let env = loop {
        let config = env::environment(&ctx, &rt, &image, &spec)
            .and_then(|env| security::verify_run_as_non_root(&rt, &spec, &image).map(|()| env));
        match config {
            Ok(env) => break env,
            Err(message) => {
                c.set_state(ContainerState::Waiting {
                    reason: "CreateContainerConfigError".into(),
                    message: Some(message),
                });
                publish(&ctx, &rt);
                if !wait_or_stop(&rt, Duration::from_secs(1)).await {
                    return;
                }
            }
        }
    };
    let argv = process::argv(&image, &spec, &env);
    let mut backoff = Duration::from_secs(10);
    loop {
        if rt.is_stopping() {
            return;
        }
        let terminated = run_once(&ctx, &rt, &c, &argv, &env, spec.working_dir.as_deref()).await;
        let code = terminated.exit_code;
        c.set_state(ContainerState::Terminated(terminated.clone()));
        publish(&ctx, &rt);
        let _ = c.output.send(Output::Exited);
        let restart = match rt.restart_policy() {
            "Never" => false,
            "OnFailure" => code != 0,
            _ => true,
        };
        if !restart || rt.is_stopping() {
            return;
        }
        // CrashLoopBackOff: the kubelet waits 10 s, doubling up to five minutes.
        *lock(&c.last_state) = Some(terminated);
        c.restart_count.fetch_add(1, Ordering::SeqCst);
        let msg = format!(
            "back-off {}s restarting failed container={} pod={}_{}({})",
            backoff.as_secs(),
            c.name,
            rt.key.name,
            rt.key.namespace,
            rt.uid
        );
        c.set_state(ContainerState::Waiting {
            reason: "CrashLoopBackOff".into(),
            message: Some(msg),
        });
        publish(&ctx, &rt);
        if !wait_or_stop(&rt, backoff).await {
            return;
        }
        backoff = (backoff * 2).min(Duration::from_secs(300));
        let old = std::mem::replace(&mut *lock(&c.logs), Arc::new(logs::LogBuffer::default()));
        *lock(&c.previous_logs) = Some(old);
    }
}

/// Runs the process once and reports how it ended.
async fn run_once(
    ctx: &Ctx,
    rt: &PodRuntime,
    c: &Arc<ContainerRuntime>,
    argv: &[String],
    env: &HashMap<String, String>,
    workdir: Option<&str>,
) -> Terminated {
    let container_id = format!("kube-sim://{}", uuid::Uuid::new_v4().simple());
    let started_at = crate::now_rfc3339();
    let (mut child, pumps) = match process::spawn(c, argv, env, workdir) {
        Ok(x) => x,
        Err(e) => {
            c.current_logs().close();
            return Terminated {
                exit_code: 128,
                signal: None,
                reason: "StartError".into(),
                message: Some(format!(
                    "failed to start container process: exec: \"{}\": {e}",
                    argv[0]
                )),
                started_at: started_at.clone(),
                finished_at: started_at,
                container_id,
            };
        }
    };
    c.probe_passed.store(false, Ordering::SeqCst);
    c.set_state(ContainerState::Running {
        started_at: started_at.clone(),
        container_id: container_id.clone(),
    });
    publish(ctx, rt);
    // The readiness prober runs for as long as the process does.
    let prober = async {
        match probe::readiness(rt, &c.name) {
            Some(readiness) => probe::run(readiness, c, env, || publish(ctx, rt)).await,
            None => std::future::pending::<()>().await,
        }
    };
    let status = tokio::select! {
        status = child.wait() => status,
        () = prober => unreachable!("the prober never ends"),
    };
    // PID 1 of a container exiting ends the whole container: its process group goes with it.
    c.signal(libc::SIGKILL);
    *lock(&c.pgid) = None;
    *c.stdin.lock().await = None;
    for p in pumps {
        let _ = tokio::time::timeout(Duration::from_secs(2), p).await;
    }
    c.current_logs().close();
    use std::os::unix::process::ExitStatusExt;
    // Runtimes report death by signal N as exit code 128 + N.
    let exit_code = match status {
        Ok(s) => s.code().or(s.signal().map(|sig| 128 + sig)).unwrap_or(1),
        Err(_) => 1,
    };
    Terminated {
        exit_code,
        signal: None,
        reason: if exit_code == 0 {
            "Completed".into()
        } else {
            "Error".into()
        },
        message: logs::termination_message(
            termination_policy(rt, &c.name).as_deref(),
            exit_code,
            &c.current_logs(),
        ),
        started_at,
        finished_at: crate::now_rfc3339(),
        container_id,
    }
}

fn termination_policy(rt: &PodRuntime, name: &str) -> Option<String> {
    let spec = rt.spec.spec.as_ref()?;
    let c = spec.containers.iter().find(|c| c.name == name)?;
    c.termination_message_policy.clone()
}
