//! The MCP Streamable HTTP transport (protocol 2025-03-26 and later).
//!
//! Each message is POSTed; the reply is JSON (one message or a batch), an event stream (which
//! may carry server requests and notifications before the response), or 202 for notifications
//! and responses. Everything the server says is queued for [`Transport::recv`]. Event streams
//! are read by background tasks that end once every request they answer has its response, and
//! that resume with `Last-Event-ID` when the server drops a stream early (SEP-1699).

use super::http_body::{
    content_type, error_excerpt, excerpt, inbound_from_text, is_media_type, read_bounded,
    request_failed, shown, status_error, Outgoing, EVENT_STREAM, MAX_MESSAGE_BYTES, MCP_METHOD,
    PROTOCOL_VERSION, SESSION_ID,
};
use super::http_inbox::Inbox;
use super::http_reply_stream::ReplyStream;
use super::secrets::Secrets;
use super::{Inbound, Transport, TransportError};
use crate::mcp::jsonrpc::{self, Envelope};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Client, Method, Response, StatusCode, Url};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

pub struct StreamableHttp {
    client: Client,
    url: Url,
    request_timeout: Duration,
    session_id: Option<HeaderValue>,
    protocol_version: Option<HeaderValue>,
    /// A usable reply came back once: from then on a 404 is an error, not a wrong endpoint.
    answered: bool,
    inbox: Inbox,
    /// Readers of reply streams; dropping the set aborts them.
    readers: JoinSet<()>,
    /// Taken out of every error and everything the server says.
    secrets: Arc<Secrets>,
}

impl StreamableHttp {
    /// A transport POSTing to `url`. `client` carries the operator's headers and TLS settings
    /// and follows no redirects itself; `secrets` are the credentials it holds. Nothing is sent
    /// until the first message.
    pub(crate) fn new(
        client: Client,
        url: Url,
        request_timeout: Duration,
        secrets: Arc<Secrets>,
    ) -> Self {
        StreamableHttp {
            client,
            url,
            request_timeout,
            session_id: None,
            protocol_version: None,
            answered: false,
            inbox: Inbox::new(),
            readers: JoinSet::new(),
            secrets,
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
        modern: bool,
    ) -> Result<(), TransportError> {
        let status = response.status();
        let media = content_type(&response);
        if is_media_type(media.as_deref(), EVENT_STREAM) {
            self.answered = true;
            let stream = ReplyStream {
                client: self.client.clone(),
                url: self.url.clone(),
                resumable: !modern,
                headers: self.session_headers(),
                request_timeout: self.request_timeout,
                secrets: self.secrets.clone(),
                tx: self.inbox.sender(),
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
            self.inbox.push(Inbound::Noise(noise));
            return Ok(());
        }
        let text = String::from_utf8_lossy(&body);
        let inbound = inbound_from_text(&text);
        let json_reply = inbound.iter().any(|i| matches!(i, Inbound::Message(_)));
        let json_rpc = inbound
            .iter()
            .any(|i| matches!(i, Inbound::Message(json) if is_json_rpc(json)));
        if !json_rpc && !awaiting.is_empty() && !self.answered {
            // A web page, an empty 200, a JSON API or some other service at this URL: the
            // caller may try the next endpoint.
            let media = media.unwrap_or_else(|| "no content type".to_owned());
            let what = match json_reply {
                true => "JSON that is not JSON-RPC",
                false => "not JSON or an event stream",
            };
            return Err(self.wrong_endpoint(
                status,
                format!("HTTP {status} with {media}, {what}: {}", excerpt(&body)),
            ));
        }
        self.answered |= json_rpc;
        for item in inbound {
            self.inbox.push(item);
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

/// The protocol version a 2026-07-28-era request carries in `params._meta`.
fn modern_version(message: &Value) -> Option<String> {
    message
        .get("params")?
        .get("_meta")?
        .get(crate::mcp::era::META_PROTOCOL_VERSION)?
        .as_str()
        .map(str::to_owned)
}

/// `MCP-Protocol-Version` and `Mcp-Method`, mirrored from the body as 2026-07-28 requires.
fn modern_headers(version: &str, message: &Value) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(version) {
        headers.insert(PROTOCOL_VERSION, value);
    }
    let method = message.get("method").and_then(Value::as_str);
    if let Some(value) = method.and_then(|m| HeaderValue::from_str(m).ok()) {
        headers.insert(MCP_METHOD, value);
    }
    headers
}

/// An error response to one of `ids` (or with a null id: the server could not read ours).
/// Bodies are split into single messages ([`inbound_from_text`]), so a message is an object.
fn is_error_reply_to(inbound: &Inbound, ids: &HashSet<String>) -> bool {
    let Some(envelope) = inbound_envelope(inbound) else {
        return false;
    };
    let has_code = envelope
        .error
        .map(jsonrpc::value_of)
        .is_some_and(|e| e.get("code").is_some_and(Value::is_i64));
    has_code
        && envelope.id.map(jsonrpc::value_of).is_some_and(|id| {
            // An id as our compact serialization writes it, whatever spacing the server used.
            id.is_null() || ids.contains(&id.to_string())
        })
}

fn inbound_envelope(inbound: &Inbound) -> Option<Envelope<'_>> {
    match inbound {
        Inbound::Message(json) => Envelope::of(json),
        _ => None,
    }
}

/// Whether a JSON object looks like a JSON-RPC message at all (a request, notification or
/// response), as opposed to some other JSON API's answer.
fn is_json_rpc(message: &RawValue) -> bool {
    let Some(m) = Envelope::of(message) else {
        return false;
    };
    m.jsonrpc.is_some()
        || m.method_name().is_some()
        || (m.id.is_some() && (m.result.is_some() || m.error.is_some()))
}

impl StreamableHttp {
    async fn post(&mut self, message: Value) -> Result<(), TransportError> {
        self.inbox.ensure_open()?;
        let body =
            serde_json::to_vec(&message).map_err(|e| TransportError::Protocol(e.to_string()))?;
        // A 2026-07-28 request names its version in `_meta`: mirrored into the headers, and no
        // session (there are none in that era).
        let modern = modern_version(&message);
        let mut headers = match &modern {
            Some(version) => modern_headers(version, &message),
            None => self.session_headers(),
        };
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let request = Outgoing {
            client: &self.client,
            method: Method::POST,
            headers,
            body: Some(body),
            secrets: &self.secrets,
        };
        let response = request.send(&self.url, self.request_timeout).await?;
        let status = response.status();
        if matches!(status.as_u16(), 400 | 404) {
            // The body says more than the status: a modern server's 400 carries its JSON-RPC
            // error (-32022 and the versions it speaks), and a 404 carrying -32601 is "method
            // not found", not "no endpoint here". The session decides on the error itself.
            let read = tokio::time::timeout(self.request_timeout, read_bounded(response, 65536));
            let body = match read.await {
                Ok(Ok((body, _))) => body,
                _ => Vec::new(),
            };
            let text = String::from_utf8_lossy(&body);
            let replies = inbound_from_text(&text);
            let ids = request_ids(&message);
            if replies.iter().any(|i| is_error_reply_to(i, &ids)) {
                self.answered = true;
                for item in replies {
                    self.inbox.push(item);
                }
                return Ok(());
            }
            let detail = excerpt(&body);
            if !self.answered && status.as_u16() == 404 {
                return Err(self.wrong_endpoint(status, format!("HTTP {status}: {detail}")));
            }
            let error = status_error("POST", &self.url, status, &detail);
            return Err(match (status.as_u16(), error) {
                (400, TransportError::Http(text)) => TransportError::BadRequest(text),
                (_, error) => error,
            });
        }
        if !status.is_success() {
            let detail = error_excerpt(response, self.request_timeout).await;
            if !self.answered && matches!(status.as_u16(), 404 | 405) {
                return Err(self.wrong_endpoint(status, format!("HTTP {status}: {detail}")));
            }
            return Err(status_error("POST", &self.url, status, &detail));
        }
        if self.session_id.is_none() && modern.is_none() {
            self.session_id = response.headers().get(SESSION_ID).cloned();
        }
        if status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT {
            return Ok(());
        }
        let ids = request_ids(&message);
        self.handle_reply(response, ids, modern.is_some()).await
    }

    async fn delete(&mut self) -> Result<(), TransportError> {
        self.readers.abort_all();
        self.inbox.close();
        let Some(session) = self.session_id.take() else {
            return Ok(());
        };
        let mut headers = self.session_headers();
        headers.insert(SESSION_ID, session);
        let request = Outgoing {
            client: &self.client,
            method: Method::DELETE,
            headers,
            body: None,
            secrets: &self.secrets,
        };
        let response = request.send(&self.url, self.request_timeout).await?;
        let status = response.status();
        // 405: the server does not let clients end sessions; 404: it already forgot this one.
        if status.is_success() || matches!(status.as_u16(), 404 | 405) {
            return Ok(());
        }
        let detail = error_excerpt(response, self.request_timeout).await;
        Err(status_error("DELETE", &self.url, status, &detail))
    }
}

#[async_trait::async_trait]
impl Transport for StreamableHttp {
    async fn send(&mut self, message: Value) -> Result<(), TransportError> {
        let sent = self.post(message).await;
        sent.map_err(|e| self.secrets.scrub_error(e))
    }

    async fn recv(&mut self) -> Result<Inbound, TransportError> {
        Ok(self.inbox.recv(&self.secrets).await)
    }

    fn set_protocol_version(&mut self, version: &str) {
        self.protocol_version = HeaderValue::from_str(version).ok();
    }

    async fn close(&mut self) -> Result<(), TransportError> {
        let deleted = self.delete().await;
        deleted.map_err(|e| self.secrets.scrub_error(e))
    }

    fn kind(&self) -> super::TransportKind {
        super::TransportKind::StreamableHttp
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

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn json_rpc_is_told_from_other_json() {
        assert!(is_json_rpc(&raw(
            r#"{"jsonrpc": "2.0", "id": 1, "result": {}}"#
        )));
        assert!(is_json_rpc(&raw(r#"{"id": 1, "error": {"code": 1}}"#)));
        assert!(is_json_rpc(&raw(r#"{"id": null, "result": null}"#)));
        assert!(is_json_rpc(&raw(r#"{"method": "ping"}"#)));
        assert!(!is_json_rpc(&raw(r#"{"method": 3}"#)));
        assert!(!is_json_rpc(&raw(r#"{"status": "ok"}"#)));
        assert!(!is_json_rpc(&raw(r#"{"error": "not found"}"#)));
    }

    #[test]
    fn error_replies_are_told_by_code_and_id() {
        let ids = HashSet::from(["1".to_owned(), "\"x\"".to_owned()]);
        let reply = |text: &str| is_error_reply_to(&Inbound::Message(raw(text)), &ids);
        assert!(reply(r#"{"id": 1, "error": {"code": -32022}}"#));
        assert!(reply(
            r#"{"id" : "x", "error": {"code": 400, "message": "no"}}"#
        ));
        assert!(reply(r#"{"id": null, "error": {"code": -32600}}"#));
        assert!(!reply(r#"{"id": 2, "error": {"code": -32600}}"#));
        assert!(!reply(r#"{"id": 1, "error": {"code": "bad"}}"#));
        assert!(!reply(r#"{"id": 1, "result": {}}"#));
        assert!(!is_error_reply_to(&Inbound::Noise("x".into()), &ids));
    }
}
