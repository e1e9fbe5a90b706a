//! The MCP Streamable HTTP transport (protocol 2025-03-26 and later).
//!
//! Each message is POSTed; the reply is JSON (one message or a batch), an event stream (which
//! may carry server requests and notifications before the response), or 202 for notifications
//! and responses. Everything the server says is queued for [`Transport::recv`]. Event streams
//! are read by background tasks that end once every request they answer has its response, and
//! that resume with `Last-Event-ID` when the server drops a stream early (SEP-1699).

use super::http_body::{
    content_type, error_excerpt, excerpt, inbound_from_event, inbound_from_text, is_media_type,
    read_bounded, request_failed, status_error, EVENT_STREAM, LAST_EVENT_ID, MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION, SESSION_ID,
};
use super::sse_parse::SseParser;
use super::{Inbound, Transport, TransportError};
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Client, Response, StatusCode, Url};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinSet;

/// How long to wait before resuming a dropped stream when the server named no `retry:`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// Resumptions in a row that bring no event before we give up on a stream.
const MAX_IDLE_RESUMES: u32 = 3;

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
            url: self.url.to_string(),
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
                    self.url, self.request_timeout
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
        if !json_reply && !awaiting.is_empty() && !self.answered && !text.trim().is_empty() {
            // A web page or some other service at this URL: let the caller try the next one.
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

/// The id of a response (a message with `result` or `error`), as JSON text.
fn response_id(message: &Value) -> Option<String> {
    let is_response = message.get("method").is_none()
        && (message.get("result").is_some() || message.get("error").is_some());
    is_response
        .then(|| message.get("id").map(Value::to_string))
        .flatten()
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
            Err(_) => {
                return Err(TransportError::Http(format!(
                    "POST {}: no reply within {:?}",
                    self.url, self.request_timeout
                )))
            }
        };
        let status = response.status();
        if !status.is_success() {
            let detail = error_excerpt(response).await;
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
            Err(_) => {
                return Err(TransportError::Http(format!(
                    "DELETE {}: no reply within {:?}",
                    self.url, self.request_timeout
                )))
            }
        };
        let status = response.status();
        // 405: the server does not let clients end sessions; 404: it already forgot this one.
        if status.is_success() || matches!(status.as_u16(), 404 | 405) {
            return Ok(());
        }
        let detail = error_excerpt(response).await;
        Err(status_error("DELETE", &self.url, status, &detail))
    }

    fn kind(&self) -> &'static str {
        "streamable_http"
    }
}

/// One event stream answering a POST, read in the background.
struct ReplyStream {
    client: Client,
    url: Url,
    /// Session id and protocol version, for resuming with GET.
    headers: HeaderMap,
    tx: UnboundedSender<Inbound>,
    /// Requests whose responses this stream owes us.
    awaiting: HashSet<String>,
    /// It answers at least one request, so it may stop once `awaiting` is empty. A stream
    /// answering only notifications is read to its end.
    owes_responses: bool,
}

enum StreamEnd {
    /// Every awaited response arrived.
    Answered,
    /// The stream ended (or broke) first.
    Dropped(String),
}

impl ReplyStream {
    async fn run(mut self, mut response: Response) {
        let mut parser = SseParser::new(MAX_MESSAGE_BYTES);
        let mut idle_resumes = 0;
        loop {
            let (end, got_events) = self.pump(&mut parser, response).await;
            let StreamEnd::Dropped(why) = end else { return };
            if let Some(text) = parser.unfinished() {
                let _ = self.tx.send(Inbound::Noise(text));
            }
            if self.awaiting.is_empty() {
                return;
            }
            idle_resumes = if got_events { 0 } else { idle_resumes + 1 };
            let pending = self.awaiting.iter().cloned().collect::<Vec<_>>().join(", ");
            let Some(last_id) = parser.last_event_id().map(str::to_owned) else {
                return self.give_up(format!("the event stream for request {pending} {why} before the response, and gave no event id to resume from"));
            };
            if idle_resumes > MAX_IDLE_RESUMES {
                return self.give_up(format!("the event stream for request {pending} {why}; {MAX_IDLE_RESUMES} resumptions brought nothing"));
            }
            let delay = parser
                .retry_ms()
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_RETRY);
            tokio::time::sleep(delay).await;
            parser = parser.resumed();
            match self.resume(&last_id).await {
                Ok(next) => response = next,
                Err(reason) => {
                    return self.give_up(format!(
                    "the event stream for request {pending} {why}; resuming it failed: {reason}"
                ))
                }
            }
        }
    }

    /// Reads events until the awaited responses arrived or the stream ends.
    async fn pump(&mut self, parser: &mut SseParser, response: Response) -> (StreamEnd, bool) {
        let mut got_events = false;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    return (
                        StreamEnd::Dropped(format!("broke ({})", super::http_body::describe(&e))),
                        got_events,
                    )
                }
            };
            for event in parser.feed(&chunk) {
                got_events = true;
                for item in inbound_from_event(&event) {
                    if let Inbound::Message { value, .. } = &item {
                        if let Some(id) = response_id(value) {
                            self.awaiting.remove(&id);
                        }
                    }
                    let _ = self.tx.send(item);
                }
            }
            if self.owes_responses && self.awaiting.is_empty() {
                return (StreamEnd::Answered, got_events);
            }
        }
        (StreamEnd::Dropped("ended".to_owned()), got_events)
    }

    async fn resume(&self, last_event_id: &str) -> Result<Response, String> {
        let last = HeaderValue::from_str(last_event_id)
            .map_err(|_| "the event id is not a valid header value".to_owned())?;
        let response = self
            .client
            .get(self.url.clone())
            .header(ACCEPT, EVENT_STREAM)
            .headers(self.headers.clone())
            .header(LAST_EVENT_ID, last)
            .send()
            .await
            .map_err(|e| super::http_body::describe(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "GET answered HTTP {status}: {}",
                error_excerpt(response).await
            ));
        }
        if !is_media_type(content_type(&response).as_deref(), EVENT_STREAM) {
            return Err("GET did not answer with an event stream".to_owned());
        }
        Ok(response)
    }

    fn give_up(&self, reason: String) {
        let _ = self.tx.send(Inbound::Closed { reason });
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

    #[test]
    fn response_ids_only_for_responses() {
        assert_eq!(
            response_id(&json!({"id": 1, "result": {}})).as_deref(),
            Some("1")
        );
        assert_eq!(
            response_id(&json!({"id": 1, "error": {}})).as_deref(),
            Some("1")
        );
        assert_eq!(response_id(&json!({"id": 1, "method": "ping"})), None);
    }
}
