//! The MCP Streamable HTTP transport (protocol 2025-03-26 and later).
//!
//! Each message is POSTed; the reply is JSON (one message or a batch), an event stream (which
//! may carry server requests and notifications before the response), or 202 for notifications
//! and responses. Everything the server says is queued for [`Transport::recv`]. Event streams
//! are read by background tasks that end once every request they answer has its response, and
//! that resume with `Last-Event-ID` when the server drops a stream early (SEP-1699).

use super::http_body::{
    content_type, error_excerpt, excerpt, inbound_from_text, is_media_type, no_reply, read_bounded,
    request_failed, shown, status_error, EVENT_STREAM, MAX_MESSAGE_BYTES, PROTOCOL_VERSION,
    SESSION_ID,
};
use super::http_reply_stream::ReplyStream;
use super::{Inbound, Transport, TransportError};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Client, Response, StatusCode, Url};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinSet;

pub struct StreamableHttp {
    client: Client,
    url: Url,
    request_timeout: Duration,
    session_id: Option<HeaderValue>,
    protocol_version: Option<HeaderValue>,
    /// A usable reply came back once: from then on a 404 is an error, not a wrong endpoint.
    answered: bool,
    tx: UnboundedSender<Inbound>,
    rx: UnboundedReceiver<Inbound>,
    /// Readers of reply streams; dropping the set aborts them.
    readers: JoinSet<()>,
    closed: Option<String>,
}

impl StreamableHttp {
    /// A transport POSTing to `url`. `client` carries the operator's headers and TLS settings.
    /// Nothing is sent until the first message.
    pub fn new(client: Client, url: Url, request_timeout: Duration) -> Self {
        let (tx, rx) = unbounded_channel();
        StreamableHttp {
            client,
            url,
            request_timeout,
            session_id: None,
            protocol_version: None,
            answered: false,
            tx,
            rx,
            readers: JoinSet::new(),
            closed: None,
        }
    }

    /// The session id the server assigned, if any.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_ref().and_then(|v| v.to_str().ok())
    }

    fn session_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(id) = &self.session_id {
            headers.insert(SESSION_ID, id.clone());
        }
        if let Some(version) = &self.protocol_version {
            headers.insert(PROTOCOL_VERSION, version.clone());
        }
        headers
    }

    fn wrong_endpoint(&self, status: StatusCode, detail: String) -> TransportError {
        TransportError::WrongEndpoint {
            url: shown(&self.url),
            status: status.as_u16(),
            detail,
        }
    }

    async fn handle_reply(
        &mut self,
        response: Response,
        awaiting: HashSet<String>,
    ) -> Result<(), TransportError> {
        let status = response.status();
        let media = content_type(&response);
        if is_media_type(media.as_deref(), EVENT_STREAM) {
            self.answered = true;
            let stream = ReplyStream {
                client: self.client.clone(),
                url: self.url.clone(),
                headers: self.session_headers(),
                request_timeout: self.request_timeout,
                tx: self.tx.clone(),
                owes_responses: !awaiting.is_empty(),
                awaiting,
            };
            self.readers.spawn(stream.run(response));
            return Ok(());
        }
        let read = tokio::time::timeout(
            self.request_timeout,
            read_bounded(response, MAX_MESSAGE_BYTES),
        );
        let (body, cut) = match read.await {
            Ok(read) => read.map_err(|e| request_failed("POST", &self.url, &e))?,
            Err(_) => {
                return Err(TransportError::Http(format!(
                    "POST {}: the reply body did not finish within {:?}",
                    shown(&self.url),
                    self.request_timeout
                )))
            }
        };
        if cut {
            let noise = format!(
                "[a body of more than {MAX_MESSAGE_BYTES} bytes, cut] {}",
                excerpt(&body)
            );
            let _ = self.tx.send(Inbound::Noise(noise));
            return Ok(());
        }
        let text = String::from_utf8_lossy(&body);
        let inbound = inbound_from_text(&text);
        let json_reply = inbound.iter().any(|i| matches!(i, Inbound::Message { .. }));
        if !json_reply && !awaiting.is_empty() && !self.answered {
            // A web page, an empty 200 or some other service at this URL: the caller may try
            // the next endpoint.
            let media = media.unwrap_or_else(|| "no content type".to_owned());
            return Err(self.wrong_endpoint(
                status,
                format!(
                    "HTTP {status} with {media}, not JSON or an event stream: {}",
                    excerpt(&body)
                ),
            ));
        }
        self.answered |= json_reply;
        for item in inbound {
            let _ = self.tx.send(item);
        }
        Ok(())
    }
}

/// The ids of the requests in a message (a single one or a batch), as JSON text.
fn request_ids(message: &Value) -> HashSet<String> {
    let one = |m: &Value| match (m.get("method"), m.get("id")) {
        (Some(_), Some(id)) if !id.is_null() => Some(id.to_string()),
        _ => None,
    };
    match message {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        single => one(single).into_iter().collect(),
    }
}

#[async_trait::async_trait]
impl Transport for StreamableHttp {
    async fn send(&mut self, message: Value) -> Result<(), TransportError> {
        if let Some(reason) = &self.closed {
            return Err(TransportError::Protocol(format!(
                "send after the transport closed ({reason})"
            )));
        }
        let body =
            serde_json::to_vec(&message).map_err(|e| TransportError::Protocol(e.to_string()))?;
        let request = self
            .client
            .post(self.url.clone())
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .headers(self.session_headers())
            .body(body);
        let response = match tokio::time::timeout(self.request_timeout, request.send()).await {
            Ok(sent) => sent.map_err(|e| request_failed("POST", &self.url, &e))?,
            Err(_) => return Err(no_reply("POST", &self.url, self.request_timeout)),
        };
        let status = response.status();
        if !status.is_success() {
            let detail = error_excerpt(response, self.request_timeout).await;
            if !self.answered && matches!(status.as_u16(), 404 | 405) {
                return Err(self.wrong_endpoint(status, format!("HTTP {status}: {detail}")));
            }
            return Err(status_error("POST", &self.url, status, &detail));
        }
        if self.session_id.is_none() {
            self.session_id = response.headers().get(SESSION_ID).cloned();
        }
        if status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT {
            return Ok(());
        }
        self.handle_reply(response, request_ids(&message)).await
    }

    async fn recv(&mut self) -> Result<Inbound, TransportError> {
        if let Some(reason) = &self.closed {
            return Ok(Inbound::Closed {
                reason: reason.clone(),
            });
        }
        // `self.tx` keeps the channel open, so `None` cannot happen; map it anyway.
        let item = self.rx.recv().await.unwrap_or(Inbound::Closed {
            reason: "the transport was dropped".to_owned(),
        });
        if let Inbound::Closed { reason } = &item {
            self.closed = Some(reason.clone());
        }
        Ok(item)
    }

    fn set_protocol_version(&mut self, version: &str) {
        self.protocol_version = HeaderValue::from_str(version).ok();
    }

    async fn close(&mut self) -> Result<(), TransportError> {
        self.readers.abort_all();
        if self.closed.is_none() {
            self.closed = Some("closed by the client".to_owned());
        }
        let Some(session) = self.session_id.take() else {
            return Ok(());
        };
        let request = self
            .client
            .delete(self.url.clone())
            .header(SESSION_ID, session)
            .headers(self.session_headers());
        let response = match tokio::time::timeout(self.request_timeout, request.send()).await {
            Ok(sent) => sent.map_err(|e| request_failed("DELETE", &self.url, &e))?,
            Err(_) => return Err(no_reply("DELETE", &self.url, self.request_timeout)),
        };
        let status = response.status();
        // 405: the server does not let clients end sessions; 404: it already forgot this one.
        if status.is_success() || matches!(status.as_u16(), 404 | 405) {
            return Ok(());
        }
        let detail = error_excerpt(response, self.request_timeout).await;
        Err(status_error("DELETE", &self.url, status, &detail))
    }

    fn kind(&self) -> &'static str {
        "streamable_http"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_ids_skip_notifications_and_responses() {
        assert_eq!(
            request_ids(&json!({"method": "a", "id": 1})),
            HashSet::from(["1".to_owned()])
        );
        assert!(request_ids(&json!({"method": "notifications/initialized"})).is_empty());
        assert!(request_ids(&json!({"id": 3, "result": {}})).is_empty());
        let batch = json!([{"method": "a", "id": "x"}, {"method": "b"}]);
        assert_eq!(request_ids(&batch), HashSet::from(["\"x\"".to_owned()]));
    }
}
