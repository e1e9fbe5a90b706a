//! URL targets over Streamable HTTP and legacy SSE against in-process servers: the transport,
//! redirects and origins, error statuses, logs and secrets kept out of every output.

#[path = "../http_support/mod.rs"]
mod http_support;
#[path = "../support/mod.rs"]
mod support;

mod http_hardening;
mod http_hardening_logs;
mod http_hardening_secrets;
mod http_legacy_sse;
mod http_transport;
