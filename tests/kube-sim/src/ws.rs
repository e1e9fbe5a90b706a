//! The websocket handshake of attach and port-forward, on top of hyper's upgrades.
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper::{header, Request, Response};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::error::ApiError;
use crate::server::{full, Resp};

pub type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Checks the upgrade request and picks the first subprotocol, in the client's order, that the
/// server supports (as apimachinery's wsstream handshake does).
pub fn accept(
    req: &mut Request<Incoming>,
    supported: &[&'static str],
) -> Result<(Resp, OnUpgrade, &'static str), ApiError> {
    let is_ws = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|u| u.to_str().ok())
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let (true, Some(key)) = (is_ws, key) else {
        return Err(ApiError::bad_request("Upgrade request required"));
    };
    let offered: Vec<String> = req
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_owned()))
        .collect();
    let protocol = offered
        .iter()
        .find_map(|o| supported.iter().find(|s| **s == o.as_str()).copied())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "unable to upgrade: no supported subprotocol among {offered:?} (supported: {supported:?})"
            ))
        })?;
    let resp = Response::builder()
        .status(101)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .header(header::SEC_WEBSOCKET_PROTOCOL, protocol)
        .body(full(""))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((resp, hyper::upgrade::on(req), protocol))
}

pub async fn open(on_upgrade: OnUpgrade) -> Option<Ws> {
    let upgraded = on_upgrade.await.ok()?;
    Some(WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await)
}

pub fn channel_frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::binary(v)
}

pub fn normal_close() -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}
