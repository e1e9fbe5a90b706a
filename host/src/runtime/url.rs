//! STUB so this branch builds: the URL runtime (Streamable HTTP and legacy SSE) lands from
//! another branch with exactly these signatures.

use crate::transport::{Transport, TransportError};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    StreamableHttp,
    Sse,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub kind: EndpointKind,
}

#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub headers: Vec<(String, String)>,
    pub request_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("invalid URL: {0}")]
    Invalid(String),
}

pub fn endpoints_to_try(url: &str) -> Result<Vec<Endpoint>, UrlError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(UrlError::Invalid(format!("{url}: expected http:// or https://")));
    }
    let url = url.to_owned();
    Ok(vec![Endpoint { url, kind: EndpointKind::StreamableHttp }])
}

pub async fn open(
    endpoint: &Endpoint,
    _opts: &HttpOptions,
) -> Result<Box<dyn Transport>, TransportError> {
    Err(TransportError::Http(format!("{}: HTTP transports are not in this build", endpoint.url)))
}
