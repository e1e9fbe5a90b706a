//! `pods/NAME/log`: plain text, with container, follow, tailLines, timestamps, previous, limitBytes.
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use crate::error::ApiError;
use crate::kubelet::logs::{Line, LogBuffer};
use crate::kubelet::ContainerState;
use crate::server::{full, Query, Resp};
use crate::store::Key;
use crate::Ctx;

fn render(lines: &[Line], timestamps: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        if timestamps {
            out.extend_from_slice(l.time.as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(&l.bytes);
    }
    out
}

pub async fn handle(ctx: &Arc<Ctx>, key: &Key, q: &Query) -> Result<Resp, ApiError> {
    let pod = crate::api::pods::get(ctx, key)?;
    let rt = ctx
        .kubelet
        .runtime_of(&pod)
        .ok_or_else(|| ApiError::bad_request(format!("pod \"{}\" is not available", key.name)))?;
    let wanted = q
        .get("container")
        .map(String::as_str)
        .filter(|c| !c.is_empty());
    if wanted.is_none() && rt.containers.len() > 1 {
        let names: Vec<&str> = rt.containers.iter().map(|c| c.name.as_str()).collect();
        return Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {}, choose one of: [{}]",
            key.name,
            names.join(" ")
        )));
    }
    let c = rt.container(wanted).cloned().ok_or_else(|| {
        ApiError::bad_request(format!(
            "container {} is not valid for pod {}",
            wanted.unwrap_or_default(),
            key.name
        ))
    })?;
    let flag = |n: &str| q.get(n).is_some_and(|v| v == "true" || v == "1");
    let logs: Arc<LogBuffer> = if flag("previous") {
        c.previous_logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "previous terminated container \"{}\" in pod \"{}\" not found",
                    c.name, key.name
                ))
            })?
    } else {
        if let ContainerState::Waiting { reason, .. } = c.state() {
            if c.restart_count.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                return Err(ApiError::bad_request(format!(
                    "container \"{}\" in pod \"{}\" is waiting to start: {reason}",
                    c.name, key.name
                )));
            }
        }
        c.current_logs()
    };
    let timestamps = flag("timestamps");
    let start = match q.get("tailLines").and_then(|t| t.parse::<usize>().ok()) {
        Some(n) => logs.tail_start(n),
        None => 0,
    };
    let limit = q.get("limitBytes").and_then(|l| l.parse::<usize>().ok());
    let resp = hyper::Response::builder()
        .status(200)
        .header("content-type", "text/plain");
    if !flag("follow") {
        let (lines, _, _) = logs.read_from(start);
        let mut body = render(&lines, timestamps);
        if let Some(l) = limit {
            body.truncate(l);
        }
        return resp
            .body(full(body))
            .map_err(|e| ApiError::internal(e.to_string()));
    }
    let stream = futures_util::stream::unfold(
        (logs, start, false),
        move |(logs, mut at, done)| async move {
            if done {
                return None;
            }
            loop {
                let (lines, next, closed) = logs.read_from(at);
                if !lines.is_empty() {
                    at = next;
                    return Some((Bytes::from(render(&lines, timestamps)), (logs, at, false)));
                }
                if closed {
                    return None;
                }
                logs.wait_change(at).await;
            }
        },
    );
    let body = StreamBody::new(stream.map(|b| Ok::<_, std::convert::Infallible>(Frame::data(b))));
    resp.body(BodyExt::boxed_unsync(body))
        .map_err(|e| ApiError::internal(e.to_string()))
}
