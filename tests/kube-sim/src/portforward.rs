//! `pods/NAME/portforward` over websockets: per port a data channel 2n and an error channel
//! 2n+1, each opened by a frame carrying the port as little-endian u16.
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::error::ApiError;
use crate::server::{Query, Resp};
use crate::store::Key;
use crate::ws::{channel_frame, normal_close};
use crate::Ctx;

pub const PROTOCOLS: &[&str] = &["v4.channel.k8s.io", "portforward.k8s.io"];

fn parse_ports(q: &Query) -> Result<Vec<u16>, ApiError> {
    let raw = q
        .get("ports")
        .ok_or_else(|| ApiError::bad_request("at least 1 port must be specified"))?;
    raw.split(',')
        .map(|p| {
            p.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "unable to parse \"{p}\" as a port: invalid port"
                    ))
                })
        })
        .collect()
}

pub async fn handle(
    ctx: &Arc<Ctx>,
    mut req: Request<Incoming>,
    key: &Key,
    q: &Query,
) -> Result<Resp, ApiError> {
    let ports = parse_ports(q)?;
    let (rt, _) = crate::attach::running_container(ctx, key, None)?;
    let (resp, on_upgrade, _) = crate::ws::accept(&mut req, PROTOCOLS)?;
    let targets: Vec<(u16, u16)> = ports
        .iter()
        .map(|p| (*p, rt.ports.get(p).copied().unwrap_or(*p)))
        .collect();
    let uid = rt.uid.clone();
    let ctx = ctx.clone();
    tokio::spawn(async move {
        if let Some(ws) = crate::ws::open(on_upgrade).await {
            crate::server::unless_down(&ctx, session(ws, targets, uid)).await;
        }
    });
    Ok(resp)
}

enum FromPod {
    Data(usize, Vec<u8>),
    Eof,
}

async fn session(ws: crate::ws::Ws, targets: Vec<(u16, u16)>, uid: String) {
    let (mut sink, mut incoming) = ws.split();
    let (tx, mut rx) = mpsc::channel::<FromPod>(64);
    let mut writers: Vec<Option<OwnedWriteHalf>> = Vec::new();
    let mut open = 0;
    for (i, (port, local)) in targets.iter().enumerate() {
        let header = port.to_le_bytes();
        let (data_ch, err_ch) = (2 * i as u8, 2 * i as u8 + 1);
        if sink.send(channel_frame(data_ch, &header)).await.is_err()
            || sink.send(channel_frame(err_ch, &header)).await.is_err()
        {
            return;
        }
        match TcpStream::connect(("127.0.0.1", *local)).await {
            Ok(stream) => {
                let (mut read, write) = stream.into_split();
                writers.push(Some(write));
                open += 1;
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 32 * 1024];
                    while let Ok(n) = read.read(&mut buf).await {
                        if n == 0 || tx.send(FromPod::Data(i, buf[..n].to_vec())).await.is_err() {
                            break;
                        }
                    }
                    let _ = tx.send(FromPod::Eof).await;
                });
            }
            Err(e) => {
                writers.push(None);
                let msg = format!(
                    "an error occurred forwarding {port} -> {port}: error forwarding port {port} to pod {uid}, \
                     uid : failed to execute portforward in network namespace: failed to connect to localhost:{port} \
                     inside namespace: {e}"
                );
                let _ = sink.send(channel_frame(err_ch, msg.as_bytes())).await;
            }
        }
    }
    drop(tx);
    if open == 0 {
        let _ = sink.send(normal_close()).await;
        return;
    }
    loop {
        tokio::select! {
            msg = incoming.next() => match msg {
                Some(Ok(Message::Binary(b))) if b.len() > 1 && b[0] % 2 == 0 => {
                    let idx = usize::from(b[0] / 2);
                    if let Some(Some(w)) = writers.get_mut(idx) {
                        if w.write_all(&b[1..]).await.is_err() {
                            writers[idx] = None;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            from_pod = rx.recv() => match from_pod {
                Some(FromPod::Data(i, data)) => {
                    if sink.send(channel_frame(2 * i as u8, &data)).await.is_err() {
                        return;
                    }
                }
                Some(FromPod::Eof) => {
                    open -= 1;
                    if open == 0 {
                        let _ = sink.send(normal_close()).await;
                        return;
                    }
                }
                None => return,
            },
        }
    }
}
