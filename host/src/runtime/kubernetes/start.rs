//! Starting a probe pod: its Secret, the Pod, the wait, and the connection (attach,
//! port-forward or Service); everything created is deleted again if any step fails.

use super::cleanup::{Created, ObjectKind, Scope, CLEANUP_GRACE};
use super::server::{KubeServer, Link};
use super::{
    connect, manifest, names, now_rfc3339, pod_plan, retry, wait, Cluster, KubeError,
    KubernetesOptions, PodTransport, Reach, StartBounds,
};
use crate::report::KubernetesInfo;
use crate::runtime::{Connection, Started};
use crate::target::ImageTarget;
use crate::transport::secrets::Secrets;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::api::{Patch, PatchParams, PostParams};
use kube::Api;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Creates the Pod (and its Secret), waits for it to serve, and connects: attach for stdio, a
/// port-forward or a Service for HTTP. On any failure everything created is deleted before
/// the error is returned.
pub async fn start(
    cluster: &Cluster,
    target: &ImageTarget,
    transport: PodTransport,
    options: &KubernetesOptions,
    bounds: StartBounds<'_>,
) -> Result<Started, KubeError> {
    let began = Instant::now();
    let mut created = Created::new(Scope {
        client: cluster.client.clone(),
        config: cluster.config.clone(),
        namespace: cluster.namespace.clone(),
        retries: options.retries,
        run_id: bounds.run_id.to_owned(),
        by: bounds.deadline + CLEANUP_GRACE,
        log: bounds.cleanup_log.clone(),
    });
    let work = start_in(
        cluster,
        target,
        transport,
        options,
        &bounds,
        &mut created,
        began,
    );
    let outcome = tokio::select! {
        outcome = tokio::time::timeout_at(bounds.deadline, work) => outcome,
        () = bounds.cancel.cancelled() => Ok(Err(KubeError::Interrupted)),
    };
    let error = match outcome {
        Ok(Ok((mut server, connection))) => {
            server.created = Some(created);
            return Ok(Started {
                connection,
                server: Box::new(server),
            });
        }
        Ok(Err(error)) => error,
        Err(_) => KubeError::Timeout {
            phase: "starting the pod".into(),
            after: bounds.timeout,
        },
    };
    // What is left is a warning (logged); the start's own failure is the error.
    let _ = created.remove_all().await;
    Err(error)
}

pub(super) fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

async fn start_in(
    cluster: &Cluster,
    target: &ImageTarget,
    transport: PodTransport,
    options: &KubernetesOptions,
    bounds: &StartBounds<'_>,
    created: &mut Created,
    began: Instant,
) -> Result<(KubeServer, Connection), KubeError> {
    let ns = &cluster.namespace;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    // The pod's own words (its stderr, log and termination message) may hold its secret env.
    let env_secrets = Arc::new(Secrets::of_env(&target.secret_env));
    let pod_failed = |name: &str, failure: wait::PodFailure| {
        let failure = wait::PodFailure {
            message: env_secrets.scrub(&failure.message).into_owned(),
            ..failure
        };
        KubeError::from_failure(&target.image, ns, name, failure)
    };
    let created_at = now_rfc3339();
    let mut phases = BTreeMap::new();
    // A name clash (409) is retried under a new name.
    let mut clashes = 0;
    let (name, pod) = loop {
        let name = names::object_name(&target.image, &names::random_suffix(names::SUFFIX_LEN));
        if !target.secret_env.is_empty() {
            let secret = manifest::secret(&name, bounds.run_id, &created_at, target, false);
            let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), ns);
            created.record(ObjectKind::Secret, &name);
            let post = PostParams::default();
            let made = retry::with_retries(options.retries, "create secret", || {
                secrets.create(&post, &secret)
            })
            .await;
            match made {
                Ok(_) => {}
                Err(err) if is_clash(&err) && clashes < 3 => {
                    created.forget(ObjectKind::Secret, &name);
                    clashes += 1;
                    continue;
                }
                Err(err) => {
                    created.forget(ObjectKind::Secret, &name);
                    return Err(KubeError::api(err, "create", "secrets", ns));
                }
            }
        }
        let plan = pod_plan(
            target,
            transport,
            options,
            &name,
            bounds.run_id,
            &created_at,
            bounds.timeout,
        );
        let manifest = manifest::pod(&plan);
        created.record(ObjectKind::Pod, &name);
        let post = PostParams::default();
        let made = retry::with_retries(options.retries, "create pod", || {
            pods.create(&post, &manifest)
        })
        .await;
        match made {
            Ok(pod) => break (name, pod),
            Err(err) if is_clash(&err) && clashes < 3 => {
                created.forget(ObjectKind::Pod, &name);
                clashes += 1;
            }
            Err(err) => {
                created.forget(ObjectKind::Pod, &name);
                return Err(KubeError::api(err, "create", "pods", ns));
            }
        }
    };
    phases.insert("create".into(), ms(began));
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    if !target.secret_env.is_empty() && !uid.is_empty() {
        // Now that the pod exists, it owns its Secret: the garbage collector removes the
        // Secret with the pod even if this process dies before deleting it.
        let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), ns);
        let owner =
            serde_json::json!({"metadata": {"ownerReferences": [manifest::owned_by(&name, &uid)]}});
        let (params, patch) = (PatchParams::default(), Patch::Merge(&owner));
        retry::with_retries(options.retries, "own secret", || {
            secrets.patch(&name, &params, &patch)
        })
        .await
        .map_err(|err| KubeError::api(err, "patch", "secrets", ns))?;
    }
    let need_ready = matches!(transport, PodTransport::Http { .. });
    let wait_began = Instant::now();
    let mut last_view = wait::PodView::Scheduling;
    let waited = tokio::time::timeout_at(
        bounds.deadline,
        wait::until_serving(
            &pods,
            &name,
            need_ready,
            wait_began,
            &mut phases,
            &mut last_view,
        ),
    )
    .await;
    let image_id = match waited {
        Err(_) => {
            return Err(KubeError::Timeout {
                phase: format!("{} (pod {ns}/{name})", last_view.phase()),
                after: bounds.timeout,
            })
        }
        Ok(wait::Waited::Serving { image_id }) => image_id,
        Ok(wait::Waited::Failed(failure)) => return Err(pod_failed(&name, failure)),
        Ok(wait::Waited::Deleted) => {
            return Err(KubeError::PodGone {
                pod: format!("{ns}/{name}"),
                when: "while waiting for it to start".into(),
            })
        }
        Ok(wait::Waited::WatchFailed(err)) => return Err(KubeError::api(err, "watch", "pods", ns)),
    };
    let phases = phase_durations(&phases, ms(wait_began));
    let mut info = KubernetesInfo {
        source_image: target.image.clone(),
        namespace: ns.clone(),
        pod_name: name.clone(),
        image_id,
        phase_ms: phases,
        ..KubernetesInfo::default()
    };
    let connect_began = Instant::now();
    let (link, connection) = match transport {
        PodTransport::Stdio => {
            info.transport = "stdio".into();
            let retries = options.retries.max(5);
            let attached = connect::attach(&pods, &name, retries, Arc::clone(&env_secrets)).await;
            let (attached, (stdout, stdin)) = match attached {
                Ok(attached) => attached,
                Err(err) => {
                    // The container may have ended between running and the attach.
                    if let Ok(Some(pod)) = pods.get_opt(&name).await {
                        if let wait::PodView::Failed(failure) = wait::observe(&pod, false) {
                            return Err(pod_failed(&name, failure));
                        }
                    }
                    return Err(KubeError::api(err, "create", "pods/attach", ns));
                }
            };
            let connection = Connection::Stdio {
                reader: Box::new(stdout),
                writer: Box::new(stdin),
            };
            (Link::Attach(attached), connection)
        }
        PodTransport::Http { port } => {
            info.transport = "http".into();
            info.port = Some(port);
            let use_service = match options.reach {
                Reach::Auto => cluster.in_cluster,
                Reach::Service => true,
                Reach::PortForward => false,
            };
            if use_service {
                let url = service(
                    cluster,
                    target,
                    options,
                    &name,
                    &uid,
                    port,
                    created,
                    &created_at,
                    bounds.run_id,
                )
                .await?;
                info.service_name = Some(name.clone());
                info.reached_by = Some("service".into());
                (Link::Service, http(url))
            } else {
                let forward = connect::forward(pods.clone(), name.clone(), port)
                    .await
                    .map_err(|e| {
                        KubeError::Local(format!("cannot listen for the port-forward: {e}"))
                    })?;
                info.reached_by = Some("port-forward".into());
                let url = format!("http://127.0.0.1:{}", forward.local_port);
                (Link::Forward(forward), http(url))
            }
        }
    };
    info.phase_ms.insert("connect".into(), ms(connect_began));
    let server = KubeServer {
        pods,
        name,
        link: Some(link),
        info,
        created: None,
        secrets: env_secrets,
    };
    Ok((server, connection))
}

fn http(base_url: String) -> Connection {
    Connection::Http {
        base_url,
        headers: Vec::new(),
    }
}

/// Turns the offsets at which each wait phase was first seen into how long each lasted
/// (`create` is kept as it is).
fn phase_durations(seen: &BTreeMap<String, u64>, serving_at: u64) -> BTreeMap<String, u64> {
    let mut marks: Vec<(&str, u64)> = ["scheduling", "pulling", "starting"]
        .iter()
        .filter_map(|p| seen.get(*p).map(|t| (*p, *t)))
        .collect();
    marks.sort_by_key(|(_, t)| *t);
    let mut out = BTreeMap::new();
    for (i, (phase, at)) in marks.iter().enumerate() {
        let end = marks.get(i + 1).map_or(serving_at, |(_, t)| *t);
        out.insert((*phase).to_owned(), end.saturating_sub(*at));
    }
    if let Some(create) = seen.get("create") {
        out.insert("create".into(), *create);
    }
    out
}

fn is_clash(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 409)
}

/// Creates the Service in front of the pod (owned by it) and gives the URL to reach it.
#[allow(clippy::too_many_arguments)]
async fn service(
    cluster: &Cluster,
    target: &ImageTarget,
    options: &KubernetesOptions,
    name: &str,
    pod_uid: &str,
    port: u16,
    created: &mut Created,
    created_at: &str,
    run_id: &str,
) -> Result<String, KubeError> {
    let ns = &cluster.namespace;
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), ns);
    let mut svc = manifest::service(name, run_id, created_at, &target.image, port);
    if !pod_uid.is_empty() {
        svc.metadata.owner_references = Some(vec![manifest::owned_by(name, pod_uid)]);
    }
    created.record(ObjectKind::Service, name);
    let post = PostParams::default();
    retry::with_retries(options.retries, "create service", || {
        services.create(&post, &svc)
    })
    .await
    .map_err(|err| KubeError::api(err, "create", "services", ns))?;
    match &options.service_address {
        Some(resolve) => {
            // The endpoints of a fresh Service may lag a moment behind the ready pod.
            for _ in 0..50 {
                if let Some(addr) = (resolve.0)(ns, name, port) {
                    return Ok(format!("http://{addr}"));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(KubeError::Local(format!(
                "service {ns}/{name} has no endpoint"
            )))
        }
        None => Ok(format!("http://{name}.{ns}.svc:{port}")),
    }
}
