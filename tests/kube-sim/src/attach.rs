//! `pods/NAME/attach` over websockets: v5/v4 channel protocols as the API server speaks them.
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::Request;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite::Message;

use crate::error::ApiError;
use crate::kubelet::{ContainerRuntime, ContainerState, Output};
use crate::server::{Query, Resp};
use crate::store::Key;
use crate::ws::{channel_frame, normal_close};
use crate::Ctx;

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;
const CLOSE: u8 = 255;
pub const PROTOCOLS: &[&str] = &["v5.channel.k8s.io", "v4.channel.k8s.io"];

fn flag(q: &Query, name: &str) -> bool {
    q.get(name).is_some_and(|v| v == "true" || v == "1")
}

/// Refuses attach where the API server and kubelet would: completed pods, unknown or
/// not-yet-running containers.
pub fn running_container(
    ctx: &Ctx,
    key: &Key,
    container: Option<&str>,
) -> Result<(Arc<crate::kubelet::PodRuntime>, Arc<ContainerRuntime>), ApiError> {
    let pod = crate::api::pods::get(ctx, key)?;
    let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");
    if matches!(phase, "Succeeded" | "Failed") {
        return Err(ApiError::bad_request(format!(
            "cannot attach a container in a completed pod; current phase is {phase}"
        )));
    }
    let rt = ctx
        .kubelet
        .runtime_of(&pod)
        .ok_or_else(|| ApiError::bad_request(format!("pod {} is not running", key.name)))?;
    let c = rt.container(container).cloned().ok_or_else(|| {
        ApiError::bad_request(format!(
            "container {} is not valid for pod {}",
            container.unwrap_or_default(),
            key.name
        ))
    })?;
    match c.state() {
        ContainerState::Running { .. } => Ok((rt, c)),
        ContainerState::Waiting { reason, .. } => Err(ApiError::bad_request(format!(
            "container \"{}\" in pod \"{}\" is waiting to start: {reason}",
            c.name, key.name
        ))),
        ContainerState::Terminated(_) => Err(ApiError::bad_request(format!(
            "container \"{}\" in pod \"{}\" is not running",
            c.name, key.name
        ))),
    }
}

pub async fn handle(
    ctx: &Arc<Ctx>,
    mut req: Request<Incoming>,
    key: &Key,
    q: &Query,
) -> Result<Resp, ApiError> {
    let (_, c) = running_container(ctx, key, q.get("container").map(String::as_str))?;
    let streams = Streams {
        stdin: flag(q, "stdin"),
        stdout: flag(q, "stdout"),
        stderr: flag(q, "stderr"),
    };
    if !streams.stdin && !streams.stdout && !streams.stderr {
        return Err(ApiError::bad_request(
            "you must specify at least 1 of stdin, stdout, stderr",
        ));
    }
    let offered: &[&str] = if ctx.faults.is_attach_v4_only() {
        &PROTOCOLS[1..]
    } else {
        PROTOCOLS
    };
    let (resp, on_upgrade, protocol) = crate::ws::accept(&mut req, offered)?;
    // Subscribe before answering so no output between the upgrade and the session is lost.
    let output = c.output.subscribe();
    let (ctx, key) = (ctx.clone(), key.clone());
    tokio::spawn(async move {
        if let Some(ws) = crate::ws::open(on_upgrade).await {
            let v5 = protocol == "v5.channel.k8s.io";
            let run = session(ctx.clone(), key, c, ws, v5, streams, output);
            crate::server::unless_down(&ctx, run).await;
        }
    });
    Ok(resp)
}

#[derive(Clone, Copy)]
struct Streams {
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

async fn close_stdin(c: &ContainerRuntime) {
    *c.stdin.lock().await = None;
}

async fn session(
    ctx: Arc<Ctx>,
    key: Key,
    c: Arc<ContainerRuntime>,
    ws: crate::ws::Ws,
    v5: bool,
    streams: Streams,
    mut output: tokio::sync::broadcast::Receiver<Output>,
) {
    let (mut sink, mut incoming) = ws.split();
    // The API server announces the session with an empty frame on the lowest output channel.
    let first = if streams.stdout {
        STDOUT
    } else if streams.stderr {
        STDERR
    } else {
        STATUS
    };
    if sink.send(channel_frame(first, &[])).await.is_err() {
        return;
    }
    // stdinOnce: only the first attach gets stdin, and its end closes the container's stdin.
    let owns_stdin = streams.stdin
        && c.stdin_enabled
        && !(c.stdin_once && c.stdin_claimed.swap(true, Ordering::SeqCst));
    let byte_limit = ctx.faults.attach_byte_limit();
    let mut sent = 0usize;
    let delete_after = ctx.faults.attach_delete_after();
    let delete_timer = tokio::time::sleep(delete_after.unwrap_or(Duration::MAX / 4));
    tokio::pin!(delete_timer);
    let mut delete_pending = delete_after.is_some();
    let mut exited = !c.is_running();
    while !exited {
        tokio::select! {
            msg = incoming.next() => match msg {
                Some(Ok(Message::Binary(b))) => match (b.first(), b.get(1)) {
                    (Some(&STDIN), _) if owns_stdin => {
                        let mut stdin = c.stdin.lock().await;
                        if let Some(w) = stdin.as_mut() {
                            if w.write_all(&b[1..]).await.is_err() || w.flush().await.is_err() {
                                *stdin = None;
                            }
                        }
                    }
                    (Some(&CLOSE), Some(&STDIN)) if v5 && owns_stdin && c.stdin_once => close_stdin(&c).await,
                    _ => {}
                },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    if owns_stdin && c.stdin_once {
                        close_stdin(&c).await;
                    }
                    return;
                }
                Some(Ok(_)) => {}
            },
            out = output.recv() => match out {
                Ok(Output::Data(ch, bytes)) => {
                    if (ch == STDOUT && !streams.stdout) || (ch == STDERR && !streams.stderr) {
                        continue;
                    }
                    let mut data = &bytes[..];
                    if let Some(limit) = byte_limit {
                        data = &data[..data.len().min(limit.saturating_sub(sent))];
                    }
                    if !data.is_empty() && sink.send(channel_frame(ch, data)).await.is_err() {
                        return;
                    }
                    sent += data.len();
                    if byte_limit.is_some_and(|l| sent >= l) {
                        // Injected fault: the connection drops without a close frame.
                        return;
                    }
                }
                Ok(Output::Exited) | Err(RecvError::Closed) => exited = true,
                Err(RecvError::Lagged(_)) => {}
            },
            _ = &mut delete_timer, if delete_pending => {
                delete_pending = false;
                let _ = crate::kubelet::delete_pod(&ctx, &key, None);
            }
        }
    }
    // Attach reports Success when the container's streams end, whatever its exit code.
    let status = json!({"metadata": {}, "status": "Success"});
    let _ = sink
        .send(channel_frame(
            STATUS,
            &serde_json::to_vec(&status).unwrap_or_default(),
        ))
        .await;
    let _ = sink.send(normal_close()).await;
    // Wait briefly for the client's close reply to finish the closing handshake.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while incoming.next().await.is_some() {}
    })
    .await;
}
