//! The legacy HTTP+SSE transport (protocol 2024-11-05): GET an event stream, whose first
//! `endpoint` event names the URL to POST messages to; replies arrive as `message` events on
//! the stream.

use super::http_body::{
    content_type, describe, error_excerpt, excerpt, inbound_from_event, inbound_from_text,
    is_media_type, read_bounded, shown, status_error, Outgoing, EVENT_STREAM, MAX_MESSAGE_BYTES,
};
use super::http_inbox::Inbox;
use super::secrets::Secrets;
use super::sse_parse::SseParser;
use super::{Inbound, Transport, TransportError};
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Client, Method, Response, Url};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

pub struct LegacySse {
    client: Client,
    /// Where messages are POSTed: the `endpoint` event resolved against the stream's URL.
    post_url: Url,
    request_timeout: Duration,
    inbox: Inbox,
    /// The stream reader; dropping the set aborts it and so closes the stream.
    reader: JoinSet<()>,
    /// Taken out of every error and everything the server says.
    secrets: Arc<Secrets>,
}

impl LegacySse {
    /// Opens the event stream at `url` and waits (up to `request_timeout`) for its `endpoint`.
    /// `client` follows no redirects itself; `secrets` are the credentials it holds.
    pub(crate) async fn connect(
        client: Client,
        url: Url,
        request_timeout: Duration,
        secrets: Arc<Secrets>,
    ) -> Result<Self, TransportError> {
        let connected = Self::open_stream(client, url, request_timeout, secrets.clone()).await;
        connected.map_err(|e| secrets.scrub_error(e))
    }

    async fn open_stream(
        client: Client,
        url: Url,
        request_timeout: Duration,
        secrets: Arc<Secrets>,
    ) -> Result<Self, TransportError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(EVENT_STREAM));
        let request = Outgoing {
            client: &client,
            method: Method::GET,
            headers,
            body: None,
            secrets: &secrets,
        };
        let response = request.send(&url, request_timeout).await?;
        let status = response.status();
        let wrong = |detail: String| TransportError::WrongEndpoint {
            url: shown(&url),
            status: status.as_u16(),
            detail,
        };
        if !status.is_success() {
            let detail = error_excerpt(response, request_timeout).await;
            // 400: a Streamable HTTP server refusing a GET without a session.
            if matches!(status.as_u16(), 400 | 404 | 405) {
                return Err(wrong(format!("HTTP {status}: {detail}")));
            }
            return Err(status_error("GET", &url, status, &detail));
        }
        let media = content_type(&response);
        if !is_media_type(media.as_deref(), EVENT_STREAM) {
            let media = media.unwrap_or_else(|| "no content type".to_owned());
            let body =
                match tokio::time::timeout(request_timeout, read_bounded(response, 4096)).await {
                    Ok(Ok((body, _))) => excerpt(&body),
                    _ => "(body unreadable)".to_owned(),
                };
            return Err(wrong(format!(
                "HTTP {status} with {media}, not an event stream: {body}"
            )));
        }
        // Relative endpoints resolve against the stream's final URL (after same-origin
        // redirects), which keeps the credentials of the URL named.
        let mut base = response.url().clone();
        if base.origin() == url.origin() {
            let _ = base.set_username(url.username());
            let _ = base.set_password(url.password());
        }
        let inbox = Inbox::new();
        let (endpoint_tx, endpoint_rx) = oneshot::channel();
        let mut reader = JoinSet::new();
        reader.spawn(read_stream(response, inbox.sender(), endpoint_tx));
        let endpoint = match tokio::time::timeout(request_timeout, endpoint_rx).await {
            Ok(Ok(Ok(endpoint))) => endpoint,
            Ok(Ok(Err(reason))) => {
                return Err(TransportError::Protocol(format!(
                    "the event stream at {} {reason} before its `endpoint` event",
                    shown(&url)
                )))
            }
            Ok(Err(_)) => {
                return Err(TransportError::Protocol(format!(
                    "the event stream at {} ended before its `endpoint` event",
                    shown(&url)
                )))
            }
            Err(_) => {
                return Err(TransportError::Protocol(format!(
                    "the event stream at {} sent no `endpoint` event within {request_timeout:?}",
                    shown(&url)
                )))
            }
        };
        let post_url = resolve_endpoint(&base, &endpoint, &secrets)?;
        Ok(LegacySse {
            client,
            post_url,
            request_timeout,
            inbox,
            reader,
            secrets,
        })
    }

    /// The URL messages are POSTed to.
    pub fn post_url(&self) -> &Url {
        &self.post_url
    }
}

/// Resolves the `endpoint` event against the stream URL. An endpoint on another origin keeps
/// only its path and query: servers behind proxies often advertise their internal address, and
/// the operator's headers (credentials, often) must go nowhere but the origin they named.
fn resolve_endpoint(base: &Url, endpoint: &str, secrets: &Secrets) -> Result<Url, TransportError> {
    let resolved = base.join(endpoint.trim()).map_err(|e| {
        TransportError::Protocol(format!(
            "the `endpoint` event {:?} is not a URL: {e}",
            excerpt(endpoint.as_bytes())
        ))
    })?;
    if resolved.origin() == base.origin() {
        let mut resolved = resolved;
        if resolved.username().is_empty() && resolved.password().is_none() {
            // The same origin: the URL's credentials go along, as on the stream.
            let _ = resolved.set_username(base.username());
            let _ = resolved.set_password(base.password());
        }
        return Ok(resolved);
    }
    let mut same_origin = base.clone();
    same_origin.set_path(resolved.path());
    same_origin.set_query(resolved.query());
    // The endpoint is the server's text: scrubbed and short.
    let quoted = |url: &Url| crate::excerpt::one_line(&secrets.scrub(&shown(url)));
    tracing::warn!(
        endpoint = %quoted(&resolved),
        using = %quoted(&same_origin),
        "the SSE endpoint event names another origin; posting to the stream's origin instead"
    );
    Ok(same_origin)
}

async fn read_stream(
    response: Response,
    tx: UnboundedSender<Inbound>,
    endpoint_tx: oneshot::Sender<Result<String, String>>,
) {
    let mut endpoint_tx = Some(endpoint_tx);
    let mut parser = SseParser::new(MAX_MESSAGE_BYTES);
    let mut body = response.bytes_stream();
    let reason = loop {
        let chunk = match body.next().await {
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => break format!("broke ({})", describe(&e)),
            None => break "ended".to_owned(),
        };
        for event in parser.feed(&chunk) {
            if event.event == "endpoint" && !event.oversized {
                if let Some(sender) = endpoint_tx.take() {
                    let _ = sender.send(Ok(event.data));
                    continue;
                }
            }
            let items = inbound_from_event(&event);
            for item in items {
                let item = match item {
                    // Keep the event name with noise: `endpoint` twice, or unknown events.
                    Inbound::Noise(text) if event.event != "message" => {
                        Inbound::Noise(format!("event {}: {text}", event.event))
                    }
                    other => other,
                };
                let _ = tx.send(item);
            }
        }
    };
    if let Some(text) = parser.unfinished() {
        let _ = tx.send(Inbound::Noise(text));
    }
    if let Some(sender) = endpoint_tx.take() {
        let _ = sender.send(Err(reason.clone()));
    }
    let _ = tx.send(Inbound::Closed {
        reason: format!("the event stream {reason}"),
    });
}

impl LegacySse {
    async fn post(&mut self, message: Value) -> Result<(), TransportError> {
        self.inbox.ensure_open()?;
        let body =
            serde_json::to_vec(&message).map_err(|e| TransportError::Protocol(e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let request = Outgoing {
            client: &self.client,
            method: Method::POST,
            headers,
            body: Some(body),
            secrets: &self.secrets,
        };
        let response = request.send(&self.post_url, self.request_timeout).await?;
        let status = response.status();
        if !status.is_success() {
            let detail = error_excerpt(response, self.request_timeout).await;
            return Err(status_error("POST", &self.post_url, status, &detail));
        }
        // The answer belongs on the stream ("Accepted"); a server that answers inline anyway
        // is tolerated.
        let read = read_bounded(response, MAX_MESSAGE_BYTES);
        if let Ok(Ok((body, false))) = tokio::time::timeout(self.request_timeout, read).await {
            for item in inbound_from_text(&String::from_utf8_lossy(&body)) {
                if matches!(item, Inbound::Message(_)) {
                    self.inbox.push(item);
                }
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Transport for LegacySse {
    async fn send(&mut self, message: Value) -> Result<(), TransportError> {
        let sent = self.post(message).await;
        sent.map_err(|e| self.secrets.scrub_error(e))
    }

    async fn recv(&mut self) -> Result<Inbound, TransportError> {
        Ok(self.inbox.recv(&self.secrets).await)
    }

    async fn close(&mut self) -> Result<(), TransportError> {
        // Dropping the stream is how a 2024-11-05 client ends its session.
        self.reader.abort_all();
        self.inbox.close();
        Ok(())
    }

    fn kind(&self) -> super::TransportKind {
        super::TransportKind::Sse
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_resolve_against_the_stream_url() {
        let base = Url::parse("http://h:1/a/sse").unwrap();
        let url = resolve_endpoint(&base, "/messages?sessionId=1", &Secrets::default()).unwrap();
        assert_eq!(url.as_str(), "http://h:1/messages?sessionId=1");
        let url = resolve_endpoint(&base, "msg?x=1\n", &Secrets::default()).unwrap();
        assert_eq!(url.as_str(), "http://h:1/a/msg?x=1");
        assert!(resolve_endpoint(&base, "http://h:1/m", &Secrets::default()).is_ok());
        let base = Url::parse("http://u:p@h:1/sse").unwrap();
        for endpoint in ["/m?s=1", "http://h:1/m?s=1", "http://other/m?s=1"] {
            let url = resolve_endpoint(&base, endpoint, &Secrets::default()).unwrap();
            assert_eq!(url.as_str(), "http://u:p@h:1/m?s=1", "{endpoint}");
        }
    }

    #[test]
    fn endpoints_on_another_origin_keep_only_path_and_query() {
        let base = Url::parse("http://h:1/sse?token=t").unwrap();
        let url =
            resolve_endpoint(&base, "http://internal:8000/m?s=1", &Secrets::default()).unwrap();
        assert_eq!(url.as_str(), "http://h:1/m?s=1");
        let url = resolve_endpoint(&base, "https://h:1/m", &Secrets::default()).unwrap();
        assert_eq!(url.as_str(), "http://h:1/m");
    }

    #[test]
    fn an_endpoint_that_is_not_a_url_is_an_error() {
        let base = Url::parse("http://h:1/sse").unwrap();
        assert!(resolve_endpoint(&base, "http://[::1", &Secrets::default()).is_err());
    }
}
