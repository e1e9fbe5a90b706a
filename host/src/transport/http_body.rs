//! What both HTTP transports share: turning bodies and events into [`Inbound`], bounded body
//! reads, short excerpts for error messages, readable `reqwest` errors, sending with redirects
//! followed only within the origin named ([`Outgoing`]), and keeping the operator's credentials
//! out of everything shown ([`Secrets`]).

use super::sse_parse::SseEvent;
use super::{Inbound, TransportError};
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Client, Method, Response, StatusCode, Url};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// The largest message (body or event) kept whole; the same bound as a stdio line.
pub(crate) const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Characters of a body quoted in an error message.
const EXCERPT_CHARS: usize = 200;

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
            Ok(json) => vec![Inbound::Message(json.to_owned())],
            Err(_) => noise(),
        };
    }
    match serde_json::from_str::<Vec<&RawValue>>(trimmed) {
        Ok(items) if !items.is_empty() && items.iter().all(|i| i.get().starts_with('{')) => items
            .into_iter()
            .map(|json| Inbound::Message(json.to_owned()))
            .collect(),
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

/// Shorter strings are not treated as secrets when scrubbing what the server sends: replacing
/// every `admin` or `acme` in a tool description would garble the report.
const MIN_SECRET_CHARS: usize = 6;
/// Words of a header value at least this long are secrets on their own (the token after
/// `Bearer`), since a server may echo just that part.
const MIN_SECRET_WORD_CHARS: usize = 8;

/// The credentials a transport holds: `-H` values and the URL's userinfo. mcp-probe never
/// writes them into a message itself; [`Secrets::scrub`] also takes them out of what the server
/// sends back (an error page or a reply that echoes a header) before anything is shown, logged
/// or reported.
#[derive(Default)]
pub(crate) struct Secrets {
    /// Longest first, each also in its JSON-escaped form when that differs.
    needles: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} hidden)", self.needles.len())
    }
}

impl Secrets {
    pub(crate) fn new(headers: &[(String, String)], url: &Url) -> Secrets {
        let mut secrets = Secrets::default();
        for (_, value) in headers {
            secrets.add(value);
            for word in value.split_whitespace() {
                if word.chars().count() >= MIN_SECRET_WORD_CHARS {
                    secrets.add(word);
                }
            }
        }
        let (user, password) = (url.username(), url.password());
        match password {
            Some(password) => {
                secrets.add(password);
                secrets.add(&percent_decoded(password));
            }
            // `https://TOKEN@host`: the user name is the credential.
            None => {
                secrets.add(user);
                secrets.add(&percent_decoded(user));
            }
        }
        if !user.is_empty() || password.is_some() {
            // What reqwest sends as `Authorization: Basic …`.
            let pair = format!(
                "{}:{}",
                percent_decoded(user),
                percent_decoded(password.unwrap_or(""))
            );
            secrets.add(&base64(pair.as_bytes()));
        }
        secrets
            .needles
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.needles.dedup();
        secrets
    }

    fn add(&mut self, needle: &str) {
        let needle = needle.trim();
        if needle.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        self.needles.push(needle.to_owned());
        let escaped = Value::String(needle.to_owned()).to_string();
        let escaped = &escaped[1..escaped.len() - 1];
        if escaped != needle {
            self.needles.push(escaped.to_owned());
        }
    }

    fn found_in(&self, text: &str) -> bool {
        self.needles.iter().any(|n| text.contains(n.as_str()))
    }

    /// `text` with every secret replaced by `***`.
    pub(crate) fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut text = Cow::Borrowed(text);
        for needle in &self.needles {
            if text.contains(needle.as_str()) {
                text = Cow::Owned(text.replace(needle.as_str(), "***"));
            }
        }
        text
    }

    fn scrub_string(&self, text: &mut String) -> bool {
        if !self.found_in(text) {
            return false;
        }
        *text = self.scrub(text).into_owned();
        true
    }

    /// Scrubs every string (and key) in `value`; says whether anything changed.
    fn scrub_value(&self, value: &mut Value) -> bool {
        match value {
            Value::String(text) => self.scrub_string(text),
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, v| self.scrub_value(v) | changed),
            Value::Object(map) => {
                let mut changed = false;
                if map.keys().any(|k| self.found_in(k)) {
                    let old = std::mem::take(map);
                    *map = old
                        .into_iter()
                        .map(|(k, v)| (self.scrub(&k).into_owned(), v))
                        .collect();
                    changed = true;
                }
                map.values_mut()
                    .fold(changed, |changed, v| self.scrub_value(v) | changed)
            }
            _ => false,
        }
    }

    /// What the server said, with the secrets it echoed taken out.
    pub(crate) fn scrub_inbound(&self, item: Inbound) -> Inbound {
        if self.needles.is_empty() {
            return item;
        }
        match item {
            Inbound::Message(json) => self.scrub_message(json),
            Inbound::Noise(text) => Inbound::Noise(self.scrub(&text).into_owned()),
            Inbound::Closed { reason } => Inbound::Closed {
                reason: self.scrub(&reason).into_owned(),
            },
        }
    }

    /// A message with its secrets taken out: replaced in the text where they appear as sent or
    /// JSON-escaped as the needles list them, and through a parsed `Value` only when one hides
    /// behind another escape (`\u0073`) or replacing it in the text broke the JSON. A message
    /// that still holds one after that (a secret spanning JSON syntax) is shown as scrubbed
    /// noise: a secret never leaves.
    fn scrub_message(&self, json: Box<RawValue>) -> Inbound {
        let by_text = match self.scrub(json.get()) {
            Cow::Borrowed(_) => Ok(None),
            Cow::Owned(text) => RawValue::from_string(text).map(Some),
        };
        let scrubbed = match by_text {
            Ok(None) if !self.hides_secret(&json) => return Inbound::Message(json),
            Ok(Some(scrubbed)) if !self.hides_secret(&scrubbed) => Some(scrubbed),
            // Hidden behind an escape, or the replacement broke the JSON.
            _ => self.scrub_parsed(&json),
        };
        match scrubbed {
            Some(scrubbed) if !self.found_in(scrubbed.get()) => Inbound::Message(scrubbed),
            _ => Inbound::Noise(self.scrub(json.get()).into_owned()),
        }
    }

    /// Whether a string or key of `json`, its escapes decoded, holds a secret. Without a
    /// backslash in the text the strings are pieces of it, which [`Secrets::scrub`] covered.
    fn hides_secret(&self, json: &RawValue) -> bool {
        json.get().contains('\\')
            && SecretSeeker(self)
                .deserialize(&mut serde_json::Deserializer::from_str(json.get()))
                .unwrap_or(true)
    }

    /// `json` parsed, every string and key scrubbed, and written anew.
    fn scrub_parsed(&self, json: &RawValue) -> Option<Box<RawValue>> {
        let mut value: Value = serde_json::from_str(json.get()).ok()?;
        self.scrub_value(&mut value);
        serde_json::value::to_raw_value(&value).ok()
    }

    /// The error with the secrets the server echoed (in a body excerpt) taken out.
    pub(crate) fn scrub_error(&self, err: TransportError) -> TransportError {
        let scrub = |text: String| match self.found_in(&text) {
            true => self.scrub(&text).into_owned(),
            false => text,
        };
        match err {
            TransportError::Http(message) => TransportError::Http(scrub(message)),
            TransportError::Protocol(message) => TransportError::Protocol(scrub(message)),
            TransportError::WrongEndpoint {
                url,
                status,
                detail,
            } => TransportError::WrongEndpoint {
                url: scrub(url),
                status,
                detail: scrub(detail),
            },
            other => other,
        }
    }
}

/// Walks a JSON text, its strings and keys decoded, and says whether one holds a secret;
/// builds nothing (a 19 MB reply is not turned into a `Value` to be checked).
struct SecretSeeker<'s>(&'s Secrets);

impl<'de> DeserializeSeed<'de> for SecretSeeker<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SecretSeeker<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<bool, E> {
        Ok(self.0.found_in(text))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(here) = items.next_element_seed(SecretSeeker(self.0))? {
            found |= here;
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(in_key) = members.next_key_seed(SecretSeeker(self.0))? {
            found |= in_key | members.next_value_seed(SecretSeeker(self.0))?;
        }
        Ok(found)
    }
}

/// `%XX` escapes decoded (lossily); what a URL's userinfo means.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_and_percent_decoding() {
        assert_eq!(base64(b"user:secret"), "dXNlcjpzZWNyZXQ=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(percent_decoded("p%40ss%zz%2"), "p@ss%zz%2");
    }

    #[test]
    fn secrets_come_from_header_values_and_userinfo() {
        let url = Url::parse("http://me:pa%40ssw0rd@h/").unwrap();
        let headers = [
            (
                "Authorization".to_owned(),
                "Bearer tok-123456789".to_owned(),
            ),
            ("X-Tenant".to_owned(), "acme".to_owned()),
        ];
        let secrets = Secrets::new(&headers, &url);
        let text = "echo: Bearer tok-123456789 / tok-123456789 / pa@ssw0rd / pa%40ssw0rd \
                    / bWU6cGFAc3N3MHJk / acme";
        assert_eq!(
            secrets.scrub(text),
            "echo: *** / *** / *** / *** / *** / acme"
        );
        assert!(!format!("{secrets:?}").contains("tok"));
        // A token as the user name.
        let secrets = Secrets::new(&[], &Url::parse("https://ghp_token42@h/").unwrap());
        assert_eq!(secrets.scrub("bad ghp_token42"), "bad ***");
        assert!(Secrets::new(&[], &Url::parse("http://h/").unwrap())
            .needles
            .is_empty());
    }

    fn message(text: &str) -> Inbound {
        Inbound::Message(RawValue::from_string(text.to_owned()).unwrap())
    }

    fn text_of(inbound: &Inbound) -> &str {
        match inbound {
            Inbound::Message(json) => json.get(),
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn echoed_secrets_leave_messages_even_when_escaped() {
        let url = Url::parse("http://h/").unwrap();
        let headers = [("X-Key".to_owned(), "k\"ey/secret".to_owned())];
        let secrets = Secrets::new(&headers, &url);
        let raw = r#"{"error":{"message":"bad key k\"ey/secret","k\"ey/secret":1}}"#;
        let scrubbed = secrets.scrub_inbound(message(raw));
        let value: Value = serde_json::from_str(text_of(&scrubbed)).unwrap();
        assert_eq!(
            value,
            json!({"error": {"message": "bad key ***", "***": 1}})
        );
        // An escape the needles do not list is still caught, through the decoded strings.
        let scrubbed = secrets.scrub_inbound(message(r#"{"m":"k\"ey/\u0073ecret"}"#));
        assert_eq!(text_of(&scrubbed), r#"{"m":"***"}"#);
        let scrubbed = secrets.scrub_inbound(message(r#"{"k\"ey\/secret":[1]}"#));
        assert_eq!(text_of(&scrubbed), r#"{"***":[1]}"#);
        // Escapes without a secret leave the text as sent.
        let plain = r#"{"m":"line\none \u00e9", "n": [1.50]}"#;
        assert_eq!(text_of(&secrets.scrub_inbound(message(plain))), plain);
        let err = secrets.scrub_error(TransportError::Http("HTTP 401: k\"ey/secret".into()));
        assert_eq!(err.to_string(), "HTTP error: HTTP 401: ***");
    }

    #[test]
    fn a_secret_spanning_json_syntax_never_leaves() {
        let url = Url::parse("http://h/").unwrap();
        let headers = [("X-Key".to_owned(), "abc\",\"xyz".to_owned())];
        let secrets = Secrets::new(&headers, &url);
        // Replacing it in the text breaks the JSON, and the Value has it in no one string.
        let scrubbed = secrets.scrub_inbound(message(r#"{"a":"abc","xyz":1}"#));
        assert!(
            matches!(&scrubbed, Inbound::Noise(text) if !text.contains("xyz")),
            "{scrubbed:?}"
        );
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
        assert!(matches!(&inbound_from_text(&deep)[..],
            [Inbound::Noise(text)] if text.starts_with(crate::transport::TOO_DEEP_PREFIX)));
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
