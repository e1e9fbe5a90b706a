//! A running server at a URL: which endpoints to try, in which order, and opening a transport
//! to one of them. Nothing is started, so nothing needs tearing down beyond the transport.

use crate::transport::http::StreamableHttp;
use crate::transport::secrets::Secrets;
use crate::transport::sse::LegacySse;
use crate::transport::{Transport, TransportError};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Which MCP transport an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// Streamable HTTP (2025-03-26 and later): POST, JSON or event-stream replies.
    StreamableHttp,
    /// The legacy HTTP+SSE transport (2024-11-05): GET an event stream, POST to its endpoint.
    Sse,
}

/// One URL to try, and how to speak to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub kind: EndpointKind,
}

/// How every HTTP request to the server is made.
#[derive(Clone)]
pub struct HttpOptions {
    /// Extra headers (`-H "Name: value"`) sent on every request.
    pub headers: Vec<(String, String)>,
    /// Bounds connecting, each POST until its reply starts, and waiting for the SSE `endpoint`.
    pub request_timeout: Duration,
}

impl fmt::Debug for HttpOptions {
    // Header values are often credentials: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpOptions")
            .field("headers", &names)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("invalid URL {0}")]
    Invalid(String),
    #[error("unsupported URL scheme `{scheme}` in {url:?}: use http:// or https://")]
    Scheme { scheme: String, url: String },
    #[error("invalid header {0}")]
    Header(String),
}

/// Headers the transports set themselves; an operator's value would break the protocol.
const RESERVED_HEADERS: &[&str] = &[
    "accept",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];

/// The endpoints to try for `url`, in order:
/// - no path (or `/`): `/mcp` (Streamable HTTP), the URL itself (Streamable HTTP), `/sse` (legacy);
/// - a path ending in `/sse`: that URL as legacy SSE, then as Streamable HTTP;
/// - any other path: that URL as Streamable HTTP, then as legacy SSE.
pub fn endpoints_to_try(url: &str) -> Result<Vec<Endpoint>, UrlError> {
    let mut parsed = parse_http_url(url)?;
    parsed.set_fragment(None);
    let endpoint = |url: &Url, kind| Endpoint {
        url: url.to_string(),
        kind,
    };
    let path = parsed.path().to_owned();
    if path.is_empty() || path == "/" {
        let with_path = |p: &str| {
            let mut u = parsed.clone();
            u.set_path(p);
            u
        };
        return Ok(vec![
            endpoint(&with_path("/mcp"), EndpointKind::StreamableHttp),
            endpoint(&parsed, EndpointKind::StreamableHttp),
            endpoint(&with_path("/sse"), EndpointKind::Sse),
        ]);
    }
    let kinds = if path.trim_end_matches('/').ends_with("/sse") {
        [EndpointKind::Sse, EndpointKind::StreamableHttp]
    } else {
        [EndpointKind::StreamableHttp, EndpointKind::Sse]
    };
    Ok(kinds.iter().map(|&k| endpoint(&parsed, k)).collect())
}

/// Parses an http(s) URL; the errors show it with its credentials hidden, whatever it is.
fn parse_http_url(url: &str) -> Result<Url, UrlError> {
    let quoted = || format!("{:?}", redact_url(url));
    let parsed =
        Url::parse(url.trim()).map_err(|e| UrlError::Invalid(format!("{}: {e}", quoted())))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(UrlError::Scheme {
            scheme: parsed.scheme().to_owned(),
            url: redact_url(url),
        });
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::Invalid(format!("{}: no host", quoted())));
    }
    Ok(parsed)
}

/// The URL as it may be shown in reports and logs: credentials in it become `***`. Text that is
/// not a valid URL (`http://u:p@h:99999/`, `u:p@h`) is redacted as written: everything before
/// the last `@` of its authority.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(parsed) if parsed.has_host() => crate::transport::http_body::shown(&parsed),
        _ => redact_written_url(url),
    }
}

fn redact_written_url(text: &str) -> String {
    let start = text.find("://").map_or(0, |i| i + 3);
    let authority_len = text[start..]
        .find(['/', '?', '#'])
        .unwrap_or(text.len() - start);
    let authority = &text[start..start + authority_len];
    let Some(at) = authority.rfind('@') else {
        return text.to_owned();
    };
    let hidden = match authority[..at].contains(':') {
        true => "***:***",
        false => "***",
    };
    format!("{}{hidden}{}", &text[..start], &text[start + at..])
}

/// Parses one `-H "Name: value"` argument. Errors never quote the value (it is often a
/// credential), nor any part of a malformed argument that may be one.
pub fn parse_header(raw: &str) -> Result<(String, String), UrlError> {
    let Some((name, value)) = raw.split_once(':') else {
        let mut words = raw.split_whitespace();
        let shown = match (words.next(), words.next()) {
            (Some(first), Some(_)) if HeaderName::from_bytes(first.as_bytes()).is_ok() => {
                format!("{first:?} and what follows")
            }
            _ => "the argument (not shown: it may hold a credential)".to_owned(),
        };
        return Err(UrlError::Header(format!(
            "{shown}: expected \"Name: value\", found no `:`"
        )));
    };
    let header = (name.trim().to_owned(), value.trim().to_owned());
    header_map(std::slice::from_ref(&header))?;
    Ok(header)
}

/// Validates the operator's headers and builds the map sent on every request.
pub fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, UrlError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let header_name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad_header_name(name))?;
        if RESERVED_HEADERS.contains(&header_name.as_str()) {
            return Err(UrlError::Header(format!(
                "{name:?}: mcp-probe sets this header itself"
            )));
        }
        let mut header_value = HeaderValue::from_str(value).map_err(|_| {
            UrlError::Header(format!(
                "{name:?}: the value must not contain control characters"
            ))
        })?;
        // Keeps it out of reqwest's Debug output.
        header_value.set_sensitive(true);
        map.append(header_name, header_value);
    }
    Ok(map)
}

/// A header name that is not one, shown only up to its first bad character: a misplaced `:`
/// (`-H "Authorization Bearer a:b"`) would otherwise put the credential in the message.
fn bad_header_name(name: &str) -> UrlError {
    let valid = |c: char| c.is_ascii() && HeaderName::from_bytes(&[c as u8]).is_ok();
    let (at, bad) = name
        .char_indices()
        .find(|&(_, c)| !valid(c))
        .unwrap_or((name.len(), ' '));
    let what = match bad {
        ' ' | '\t' => "a space".to_owned(),
        c if c.is_ascii_graphic() => format!("{c:?}"),
        _ => "a character that is not allowed".to_owned(),
    };
    match at {
        0 if name.is_empty() => UrlError::Header("the name is empty".to_owned()),
        0 => UrlError::Header(format!("the name starts with {what}")),
        _ => UrlError::Header(format!(
            "the name {:?}… has {what} after it: not a valid header name",
            &name[..at]
        )),
    }
}

/// Opens a transport to one endpoint. Streamable HTTP sends nothing until the first message;
/// legacy SSE connects here and waits for the stream's `endpoint` event. A URL that is not an
/// MCP endpoint of this kind fails with [`TransportError::WrongEndpoint`] (here for SSE, on the
/// first `send` for Streamable HTTP): the caller then tries the next endpoint.
pub async fn open(
    endpoint: &Endpoint,
    opts: &HttpOptions,
) -> Result<Box<dyn Transport>, TransportError> {
    open_scrubbing(endpoint, opts, &Secrets::default()).await
}

/// [`open`], the transport also taking `more` (a pod's secret env) out of what it shows.
pub(crate) async fn open_scrubbing(
    endpoint: &Endpoint,
    opts: &HttpOptions,
    more: &Secrets,
) -> Result<Box<dyn Transport>, TransportError> {
    let invalid = |e: UrlError| TransportError::Protocol(e.to_string());
    let url = parse_http_url(&endpoint.url).map_err(invalid)?;
    let secrets = Arc::new(Secrets::new(&opts.headers, &url).and(more));
    let client = reqwest::Client::builder()
        .default_headers(header_map(&opts.headers).map_err(invalid)?)
        .user_agent(concat!("mcp-probe/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(opts.request_timeout)
        // The transports follow redirects themselves, only within the origin named.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| TransportError::Http(format!("cannot set up the HTTP client: {e}")))?;
    let timeout = opts.request_timeout;
    Ok(match endpoint.kind {
        EndpointKind::StreamableHttp => {
            Box::new(StreamableHttp::new(client, url, timeout, secrets))
        }
        EndpointKind::Sse => Box::new(LegacySse::connect(client, url, timeout, secrets).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tried(url: &str) -> Vec<(String, EndpointKind)> {
        endpoints_to_try(url)
            .unwrap()
            .into_iter()
            .map(|e| (e.url, e.kind))
            .collect()
    }

    #[test]
    fn a_bare_url_tries_mcp_then_base_then_sse() {
        use EndpointKind::*;
        let expected = vec![
            ("http://h:3001/mcp".to_owned(), StreamableHttp),
            ("http://h:3001/".to_owned(), StreamableHttp),
            ("http://h:3001/sse".to_owned(), Sse),
        ];
        assert_eq!(tried("http://h:3001"), expected);
        assert_eq!(tried("http://h:3001/"), expected);
        assert_eq!(tried("http://h:3001/#frag")[0].0, "http://h:3001/mcp");
    }

    #[test]
    fn an_sse_path_tries_legacy_first() {
        use EndpointKind::*;
        assert_eq!(
            tried("https://h/x/sse?k=1"),
            [
                ("https://h/x/sse?k=1".to_owned(), Sse),
                ("https://h/x/sse?k=1".to_owned(), StreamableHttp)
            ]
        );
    }

    #[test]
    fn another_path_tries_streamable_first() {
        use EndpointKind::*;
        assert_eq!(
            tried("http://h/api/mcp"),
            [
                ("http://h/api/mcp".to_owned(), StreamableHttp),
                ("http://h/api/mcp".to_owned(), Sse)
            ]
        );
    }

    #[test]
    fn bad_urls_are_refused_clearly() {
        let err = endpoints_to_try("ftp://h/x").unwrap_err();
        assert!(err.to_string().contains("use http:// or https://"), "{err}");
        let err = endpoints_to_try("localhost:3000").unwrap_err();
        assert!(matches!(err, UrlError::Scheme { .. }), "{err}");
        assert!(matches!(
            endpoints_to_try("http://"),
            Err(UrlError::Invalid(_))
        ));
        assert!(matches!(
            endpoints_to_try("not a url"),
            Err(UrlError::Invalid(_))
        ));
    }

    #[test]
    fn headers_are_parsed_and_validated() {
        assert_eq!(
            parse_header("Authorization:  Bearer a:b ").unwrap(),
            ("Authorization".to_owned(), "Bearer a:b".to_owned())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("Bad Name: v").is_err());
        assert!(parse_header("X-Ok: a\u{7}b").is_err());
        assert!(parse_header("X-Ok: a\nb").is_err());
        let err = parse_header("mcp-session-id: 1").unwrap_err();
        assert!(err.to_string().contains("sets this header itself"), "{err}");
    }

    #[test]
    fn header_errors_never_quote_a_credential() {
        for (raw, shown) in [
            (
                "Authorization Bearer sk-SECRET",
                "\"Authorization\" and what follows",
            ),
            ("sk-SECRET", "not shown"),
            (
                "Authorization Bearer sk:SECRET",
                "the name \"Authorization\"… has a space",
            ),
            ("Auth{x SECRET: v", "the name \"Auth\"… has '{'"),
            (" : v", "the name is empty"),
            ("X-Key: a\u{7}SECRET", "control characters"),
        ] {
            let err = parse_header(raw).unwrap_err().to_string();
            assert!(err.contains(shown), "{raw:?}: {err}");
            assert!(!err.contains("SECRET"), "{raw:?}: {err}");
        }
    }

    #[test]
    fn credentials_are_redacted_for_reports() {
        assert_eq!(redact_url("https://u:p@h/mcp"), "https://***:***@h/mcp");
        assert_eq!(redact_url("http://h:1/mcp"), "http://h:1/mcp");
        // As written, when it is not a valid URL.
        assert_eq!(
            redact_url("http://u:p@h:99999/x@y"),
            "http://***:***@h:99999/x@y"
        );
        assert_eq!(redact_url("u:p@ss@h"), "***:***@h");
        assert_eq!(redact_url("tok@h/a"), "***@h/a");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn url_errors_hide_credentials() {
        for url in [
            "http://u:SECRET@h:99999/",
            "u:SECRET@h",
            "ftp://u:SECRET@h/",
            "http://u:SECRET@/x",
            " http://u:SECRET@[::1/ ",
        ] {
            let err = endpoints_to_try(url).unwrap_err().to_string();
            assert!(!err.contains("SECRET"), "{url:?}: {err}");
            assert!(err.contains("***"), "{url:?}: {err}");
        }
    }

    #[test]
    fn debug_output_hides_header_values() {
        let opts = HttpOptions {
            headers: vec![("Authorization".into(), "Bearer secret".into())],
            request_timeout: Duration::from_secs(1),
        };
        let shown = format!("{opts:?}");
        assert!(
            shown.contains("Authorization") && !shown.contains("secret"),
            "{shown}"
        );
    }
}
