//! What both HTTP transports share: turning bodies and events into [`Inbound`], bounded body
//! reads, short excerpts for error messages, readable `reqwest` errors, and sending with
//! redirects followed only within the origin named ([`Outgoing`]), its credentials kept out of
//! everything shown ([`Secrets`]).

use super::secrets::Secrets;
use super::sse_parse::SseEvent;
use super::{Inbound, TransportError};
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Client, Method, Response, StatusCode, Url};
use serde_json::value::RawValue;
use std::time::Duration;

/// The largest message (body or event) kept whole; the same bound as a stdio line.
pub(crate) const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

pub(crate) const SESSION_ID: &str = "mcp-session-id";
pub(crate) const PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// 2026-07-28: every POST names its JSON-RPC method.
pub(crate) const MCP_METHOD: &str = "mcp-method";
pub(crate) const LAST_EVENT_ID: &str = "last-event-id";
pub(crate) const EVENT_STREAM: &str = "text/event-stream";

/// The text of one body or event as the session sees it: a JSON object is a message, an array
/// of objects a batch of messages, anything else (HTML, log lines, bare JSON scalars) noise.
pub(crate) fn inbound_from_text(text: &str) -> Vec<Inbound> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    if super::is_too_deep(trimmed) {
        return vec![super::too_deep(trimmed)];
    }
    let noise = || vec![Inbound::Noise(text.to_owned())];
    if trimmed.starts_with('{') {
        return match serde_json::from_str::<&RawValue>(trimmed) {
            Ok(json) => vec![Inbound::message(json)],
            Err(_) => noise(),
        };
    }
    match serde_json::from_str::<Vec<&RawValue>>(trimmed) {
        Ok(items) if !items.is_empty() && items.iter().all(|i| i.get().starts_with('{')) => {
            items.into_iter().map(Inbound::message).collect()
        }
        _ => noise(),
    }
}

pub(crate) fn inbound_from_event(event: &SseEvent) -> Vec<Inbound> {
    if event.oversized {
        return vec![Inbound::Noise(format!(
            "[an event of more than {MAX_MESSAGE_BYTES} bytes, cut] {}",
            event.data
        ))];
    }
    inbound_from_text(&event.data)
}

/// Reads a body, keeping at most `limit` bytes (the rest is drained unread so a hostile server
/// cannot make us buffer without end). Returns the bytes and whether they were cut.
pub(crate) async fn read_bounded(
    response: reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    let mut cut = false;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let room = limit.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            cut = true;
            // Stop reading: dropping the stream closes the connection.
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, cut))
}

/// The first characters of a body, on one line, for an error message.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let short = crate::excerpt::one_line(&String::from_utf8_lossy(body));
    if short.is_empty() {
        "(empty body)".to_owned()
    } else {
        short
    }
}

/// Reads up to a few KiB of an error response, within `timeout`, for its excerpt; never fails.
pub(crate) async fn error_excerpt(
    response: reqwest::Response,
    timeout: std::time::Duration,
) -> String {
    match tokio::time::timeout(timeout, read_bounded(response, 4096)).await {
        Ok(Ok((body, _))) => excerpt(&body),
        Ok(Err(e)) => format!("(body unreadable: {})", describe(&e)),
        Err(_) => "(the body did not arrive in time)".to_owned(),
    }
}

/// A URL as shown in messages: credentials in it (`https://user:token@host`) become `***`.
pub(crate) fn shown(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    if !url.username().is_empty() {
        let _ = url.set_username("***");
    }
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}

/// What went wrong, with its causes; `reqwest`'s own message hides the cause and repeats the
/// URL with any credentials in it.
pub(crate) fn describe(err: &reqwest::Error) -> String {
    let mut message = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else if err.is_redirect() {
        "redirect failed"
    } else if err.is_body() || err.is_decode() {
        "reading the body failed"
    } else if err.is_builder() {
        "invalid request"
    } else {
        "request failed"
    }
    .to_owned();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

pub(crate) fn request_failed(
    method: &str,
    url: &reqwest::Url,
    err: &reqwest::Error,
) -> TransportError {
    let cause = describe(err);
    let hint = if cause.contains("certificate") {
        " (to trust a private CA: SSL_CERT_FILE=/path/to/ca.pem)"
    } else {
        ""
    };
    TransportError::Http(format!("{method} {}: {cause}{hint}", shown(url)))
}

/// A request that got no reply in time.
pub(crate) fn no_reply(
    method: &str,
    url: &reqwest::Url,
    timeout: std::time::Duration,
) -> TransportError {
    TransportError::Http(format!(
        "{method} {}: no reply within {timeout:?}",
        shown(url)
    ))
}

pub(crate) fn status_error(
    method: &str,
    url: &reqwest::Url,
    status: reqwest::StatusCode,
    excerpt: &str,
) -> TransportError {
    let hint = match status.as_u16() {
        401 | 403 => " (credentials go in a header: -H \"Authorization: Bearer …\")",
        _ => "",
    };
    let url = shown(url);
    TransportError::Http(format!(
        "HTTP {status} from {method} {url}: {excerpt}{hint}"
    ))
}

/// Whether a Content-Type names this media type (ignoring parameters and case).
pub(crate) fn is_media_type(content_type: Option<&str>, wanted: &str) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mt| mt.trim().eq_ignore_ascii_case(wanted))
}

pub(crate) fn content_type(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Redirects one request may follow, all within the origin it was sent to.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// A redirect that is not followed. Nothing is sent to the URL it names.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RedirectError {
    /// The `-H` headers (often an API key) must reach no origin but the one the operator named.
    #[error(
        "HTTP {status} from {method} {from} redirects to {to}, another origin: not followed, so \
         the request and its headers stay at the origin named (to probe {to}, name it with --url)"
    )]
    CrossOrigin {
        method: Method,
        status: u16,
        from: String,
        to: String,
    },
    /// A 303 means "GET the result there": the message would be lost (and the headers sent
    /// with a GET nobody asked for).
    #[error(
        "HTTP 303 from {method} {from} redirects to {to}: following a 303 turns the {method} into \
         a GET, which would lose the message, so it is not followed"
    )]
    SeeOther {
        method: Method,
        from: String,
        to: String,
    },
    #[error("HTTP {status} from {method} {from} is a redirect without a usable Location header")]
    NoLocation {
        method: Method,
        status: u16,
        from: String,
    },
    #[error("{method} {url}: more than {MAX_REDIRECTS} redirects")]
    TooMany { method: Method, url: String },
}

impl From<RedirectError> for TransportError {
    fn from(err: RedirectError) -> Self {
        TransportError::Http(err.to_string())
    }
}

/// One request as the transports send it. The client must not follow redirects itself
/// (`redirect::Policy::none()`): [`Outgoing::send`] does, only within the origin of the URL it
/// was given, re-sending the same method, headers and body (so a POST stays a POST).
pub(crate) struct Outgoing<'a> {
    pub client: &'a Client,
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Option<Vec<u8>>,
    pub secrets: &'a Secrets,
}

impl Outgoing<'_> {
    /// Sends to `url` and returns the response that is not a redirect; `timeout` bounds it all
    /// (every hop, until the last response's headers arrived).
    pub(crate) async fn send(
        &self,
        url: &Url,
        timeout: Duration,
    ) -> Result<Response, TransportError> {
        match tokio::time::timeout(timeout, self.follow(url)).await {
            Ok(result) => result,
            Err(_) => Err(no_reply(self.method.as_str(), url, timeout)),
        }
    }

    async fn follow(&self, url: &Url) -> Result<Response, TransportError> {
        let mut current = url.clone();
        let mut hops = 0;
        loop {
            let mut request = self
                .client
                .request(self.method.clone(), current.clone())
                .headers(self.headers.clone());
            if let Some(body) = &self.body {
                request = request.body(body.clone());
            }
            let response = request
                .send()
                .await
                .map_err(|e| request_failed(self.method.as_str(), &current, &e))?;
            if !is_redirect(response.status()) {
                return Ok(response);
            }
            let next = next_hop(&self.method, &current, &response)?;
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(RedirectError::TooMany {
                    method: self.method.clone(),
                    url: shown(url),
                }
                .into());
            }
            tracing::debug!(
                "{}",
                self.secrets.scrub(&format!(
                    "HTTP {} from {} {}: following the redirect to {}",
                    response.status().as_u16(),
                    self.method,
                    shown(&current),
                    shown(&next)
                ))
            );
            current = next;
        }
    }
}

/// The statuses that redirect a request to the URL in `Location`.
fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Where a redirect from `from` leads, if it may be followed: the same origin (scheme, host,
/// port) only, and a 303 only for a GET. The URL's credentials go along (same origin).
fn next_hop(method: &Method, from: &Url, response: &Response) -> Result<Url, RedirectError> {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok());
    let Some(mut next) = location.and_then(|l| from.join(l.trim()).ok()) else {
        return Err(RedirectError::NoLocation {
            method: method.clone(),
            status,
            from: shown(from),
        });
    };
    next.set_fragment(None);
    if next.origin() != from.origin() {
        return Err(RedirectError::CrossOrigin {
            method: method.clone(),
            status,
            from: shown(from),
            to: shown(&next),
        });
    }
    if status == 303 && method != Method::GET {
        return Err(RedirectError::SeeOther {
            method: method.clone(),
            from: shown(from),
            to: shown(&next),
        });
    }
    if next.username().is_empty() && next.password().is_none() {
        let _ = next.set_username(from.username());
        let _ = next.set_password(from.password());
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> Inbound {
        Inbound::Message(RawValue::from_string(text.to_owned()).unwrap())
    }

    #[test]
    fn lone_surrogates_in_bodies_and_batches_read_as_the_replacement_character() {
        let one = inbound_from_text(r#"{"id":1,"result":{"tools":[{"name":"x\ud800"}]}}"#);
        assert_eq!(
            one,
            [message(
                r#"{"id":1,"result":{"tools":[{"name":"x\ufffd"}]}}"#
            )]
        );
        let batch = inbound_from_text(r#"[{"id":1,"error":{"message":"\udc00"}},{"id":2}]"#);
        assert_eq!(
            batch,
            [
                message(r#"{"id":1,"error":{"message":"\ufffd"}}"#),
                message(r#"{"id":2}"#)
            ]
        );
        let Inbound::Message(json) = &batch[0] else {
            unreachable!()
        };
        let value: serde_json::Value = serde_json::from_str(json.get()).unwrap();
        assert_eq!(value["error"]["message"], "\u{fffd}");
    }

    #[test]
    fn objects_are_messages_batches_split_and_the_rest_is_noise() {
        let one = inbound_from_text(" {\"id\":1} ");
        assert_eq!(one, [message("{\"id\":1}")]);
        let batch = inbound_from_text("[{\"id\":1}, {\"id\": 2} ]");
        assert_eq!(batch, [message("{\"id\":1}"), message("{\"id\": 2}")]);
        assert_eq!(
            inbound_from_text("<html>"),
            [Inbound::Noise("<html>".into())]
        );
        assert_eq!(inbound_from_text("42"), [Inbound::Noise("42".into())]);
        assert_eq!(inbound_from_text("[1]"), [Inbound::Noise("[1]".into())]);
        assert_eq!(inbound_from_text("[]"), [Inbound::Noise("[]".into())]);
        assert_eq!(
            inbound_from_text("[{}, 2]"),
            [Inbound::Noise("[{}, 2]".into())]
        );
        assert_eq!(
            inbound_from_text("{\"a\":"),
            [Inbound::Noise("{\"a\":".into())]
        );
        assert!(inbound_from_text("  \n").is_empty());
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            &inbound_from_text(&deep)[..],
            [Inbound::TooDeep { .. }]
        ));
    }

    #[test]
    fn excerpt_is_one_short_line() {
        assert_eq!(excerpt(b"Cannot\n  POST /"), "Cannot POST /");
        let long = excerpt(&[b'a'; 1000]);
        assert!(long.ends_with('…') && long.chars().count() == crate::excerpt::EXCERPT_CHARS + 1);
        assert_eq!(excerpt(b""), "(empty body)");
    }

    #[test]
    fn credentials_in_urls_are_not_shown() {
        let url = reqwest::Url::parse("https://me:s3cret@h/mcp?x=1").unwrap();
        assert_eq!(shown(&url), "https://***:***@h/mcp?x=1");
        let url = reqwest::Url::parse("https://t0ken@h/").unwrap();
        assert_eq!(shown(&url), "https://***@h/");
        let url = reqwest::Url::parse("http://h:1/mcp").unwrap();
        assert_eq!(shown(&url), "http://h:1/mcp");
    }

    #[test]
    fn media_types_ignore_parameters_and_case() {
        assert!(is_media_type(
            Some("Text/Event-Stream; charset=utf-8"),
            EVENT_STREAM
        ));
        assert!(!is_media_type(Some("application/json"), EVENT_STREAM));
        assert!(!is_media_type(None, EVENT_STREAM));
    }
}
