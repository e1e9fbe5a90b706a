//! What both HTTP transports share: turning bodies and events into [`Inbound`], bounded body
//! reads, short excerpts for error messages, and readable `reqwest` errors.

use super::sse_parse::SseEvent;
use super::{Inbound, TransportError};
use futures_util::StreamExt;
use serde_json::Value;

/// The largest message (body or event) kept whole; the same bound as a stdio line.
pub(crate) const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Characters of a body quoted in an error message.
const EXCERPT_CHARS: usize = 200;

pub(crate) const SESSION_ID: &str = "mcp-session-id";
pub(crate) const PROTOCOL_VERSION: &str = "mcp-protocol-version";
pub(crate) const LAST_EVENT_ID: &str = "last-event-id";
pub(crate) const EVENT_STREAM: &str = "text/event-stream";

/// The text of one body or event as the session sees it: a JSON object is a message, an array
/// of objects a batch of messages, anything else (HTML, log lines, bare JSON scalars) noise.
pub(crate) fn inbound_from_text(text: &str) -> Vec<Inbound> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(value @ Value::Object(_)) => vec![Inbound::Message {
            value,
            raw: trimmed.to_owned(),
        }],
        Ok(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_object) => items
            .into_iter()
            .map(|value| Inbound::Message {
                raw: value.to_string(),
                value,
            })
            .collect(),
        _ => vec![Inbound::Noise(text.to_owned())],
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
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = one_line.chars().take(EXCERPT_CHARS).collect();
    if short.len() < one_line.len() {
        short.push('…');
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_messages_batches_split_and_the_rest_is_noise() {
        let one = inbound_from_text(" {\"id\":1} ");
        assert_eq!(
            one,
            [Inbound::Message {
                value: json!({"id": 1}),
                raw: "{\"id\":1}".into()
            }]
        );
        let batch = inbound_from_text("[{\"id\":1},{\"id\":2}]");
        assert_eq!(batch.len(), 2);
        assert!(matches!(&batch[1], Inbound::Message { value, .. } if value["id"] == 2));
        assert_eq!(
            inbound_from_text("<html>"),
            [Inbound::Noise("<html>".into())]
        );
        assert_eq!(inbound_from_text("42"), [Inbound::Noise("42".into())]);
        assert_eq!(inbound_from_text("[1]"), [Inbound::Noise("[1]".into())]);
        assert!(inbound_from_text("  \n").is_empty());
    }

    #[test]
    fn excerpt_is_one_short_line() {
        assert_eq!(excerpt(b"Cannot\n  POST /"), "Cannot POST /");
        let long = excerpt(&[b'a'; 1000]);
        assert!(long.ends_with('…') && long.chars().count() == EXCERPT_CHARS + 1);
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
