//! Image targets: connect to the cluster, start the pod over the transport asked for, run the
//! session as for any target, and with `--transport auto` fall back from stdio to HTTP when
//! stdio got no MCP answer (the report says why).

use super::{run_started, Attempt, DiscoverError, DiscoverOptions, Limits, Stop};
use crate::report::KubernetesInfo;
use crate::runtime::kubernetes::cleanup::CleanupLog;
use crate::runtime::kubernetes::{self, names, Cluster, KubeError, PodTransport, StartBounds};
use crate::runtime::RuntimeError;
use crate::target::ImageTarget;

pub(super) async fn probe(
    image: &ImageTarget,
    options: &DiscoverOptions,
    limits: &Limits,
) -> Result<(Attempt, KubernetesInfo), DiscoverError> {
    let k = &options.kubernetes;
    kubernetes::check_target(image).map_err(RuntimeError::from)?;
    let cluster = tokio::select! {
        cluster = Cluster::connect(&k.cluster) => cluster.map_err(RuntimeError::from)?,
        () = limits.cancel.cancelled() => return Err(DiscoverError::Interrupted),
    };
    let plan = k.transports();
    let run_id = names::random_suffix(12);
    let cleanup_log = CleanupLog::default();
    let mut fallback_reason = None;
    // Set once the era probe ended a server or spoiled its connection: it is started again.
    let mut restarted: Option<(crate::mcp::Era, String)> = None;
    let mut era_options = options.clone();
    let mut index = 0;
    while let Some(&transport) = plan.get(index) {
        index += 1;
        let last = index == plan.len();
        let bounds = StartBounds {
            deadline: limits.deadline,
            timeout: options.timeout,
            cancel: &limits.cancel,
            run_id: &run_id,
            cleanup_log: &cleanup_log,
        };
        let started = match kubernetes::start(&cluster, image, transport, k, bounds).await {
            Ok(started) => started,
            Err(KubeError::Interrupted) => return Err(DiscoverError::Interrupted),
            // A server that exits when told to speak stdio may still serve HTTP.
            Err(err @ KubeError::Pod { .. }) if !last && err.is_terminated() => {
                tracing::debug!("stdio pod ended ({err}); trying HTTP");
                fallback_reason = Some(err.to_string());
                continue;
            }
            Err(err) => return Err(DiscoverError::Runtime(err.into())),
        };
        let mut attempt_options = era_options.clone();
        if !last {
            // An HTTP-only server never answers on stdin: do not wait a whole request timeout.
            let grace = k.stdio_grace.min(options.session.request_timeout);
            attempt_options.session.request_timeout = grace;
        }
        let method = match transport {
            PodTransport::Stdio => "kubernetes_mcp_stdio",
            PodTransport::Http { .. } => "kubernetes_http_mcp",
        };
        let (mut attempt, stopped) = match run_started(
            started,
            method,
            image.image.clone(),
            &attempt_options,
            limits,
        )
        .await
        {
            Ok(done) => done,
            Err(DiscoverError::Failed { message, .. }) if !last => {
                fallback_reason = Some(message);
                continue;
            }
            Err(err) => return Err(err),
        };
        if let (Some((era, why)), None) = (super::start_again(&attempt), &restarted) {
            restarted = Some((era, why));
            era_options = options.in_era(era);
            index -= 1; // the same transport, in a new pod
            continue;
        }
        if let Some((era, why)) = restarted.take() {
            attempt.restarted_after(why, era);
        }
        if !last && no_mcp_answer(&attempt) {
            let mut why = attempt_error(&attempt);
            if let Some(exit) = &attempt.server_exit {
                why = format!("{why}; {exit}");
            }
            fallback_reason = Some(why);
            tracing::debug!(
                "stdio got no MCP answer ({}); trying HTTP",
                fallback_reason.as_deref().unwrap_or_default()
            );
            continue;
        }
        attempt.method = method;
        attempt.source = image.image.clone();
        // The local end of a port-forward means nothing to a reader: keep the path.
        attempt.endpoint = attempt.endpoint.as_deref().map(endpoint_path);
        let mut info = stopped.kubernetes.unwrap_or_default();
        info.fallback_reason = fallback_reason;
        // Every pod of this probe counts (a stdio attempt before HTTP too), failed starts also.
        info.cleanup_warnings = std::mem::take(&mut *cleanup_log.lock().expect("cleanup log"));
        return Ok((attempt, info));
    }
    unreachable!("the last transport returns")
}

/// True when the stdio session never heard MCP: nothing answered `initialize` before the
/// server went quiet, closed its output, or the request timed out.
fn no_mcp_answer(attempt: &Attempt) -> bool {
    attempt.hello.is_none()
        && match &attempt.result {
            Err(Stop::Session(err)) => {
                err.is_transport_level() || matches!(err, crate::mcp::SessionError::Timeout { .. })
            }
            _ => false,
        }
}

fn endpoint_path(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => parsed.path().to_owned(),
        Err(_) => url.to_owned(),
    }
}

fn attempt_error(attempt: &Attempt) -> String {
    match &attempt.result {
        Err(Stop::Session(err)) => err.to_string(),
        Err(Stop::Deadline(what)) => what.clone(),
        Err(Stop::Unreachable(what)) => what.clone(),
        _ => "no answer".into(),
    }
}
