//! `https://` through rustls: an untrusted certificate is refused with a clear error, and a
//! private CA named by `SSL_CERT_FILE` is trusted. One test in its own binary, because it sets
//! an environment variable the HTTP client reads.

#[path = "support/tls.rs"]
mod tls;

use axum::response::IntoResponse;
use mcp_probe::runtime::url::{open, Endpoint, EndpointKind, HttpOptions};
use mcp_probe::transport::{Inbound, TransportError};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tls::certificates;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Accepts TCP connections and completes the TLS handshake; failed handshakes (the client
/// refusing our certificate) are skipped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn initialize_over(url: &str) -> Result<Value, TransportError> {
    let endpoint = Endpoint {
        url: url.to_owned(),
        kind: EndpointKind::StreamableHttp,
    };
    let opts = HttpOptions {
        headers: vec![],
        request_timeout: Duration::from_secs(5),
    };
    let mut transport = open(&endpoint, &opts).await?;
    transport
        .send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}))
        .await?;
    match transport.recv().await? {
        Inbound::Message(json) => Ok(serde_json::from_str(json.get()).expect("a message is JSON")),
        other => panic!("expected the initialize reply, got {other:?}"),
    }
}

#[tokio::test]
async fn https_is_verified_and_a_private_ca_is_trusted_through_ssl_cert_file() {
    let (ca_pem, config) = certificates();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    let router = axum::Router::new().fallback(|| async {
        let reply = json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25"}});
        ([("content-type", "application/json")], reply.to_string()).into_response()
    });
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let url = format!("https://localhost:{port}/mcp");

    let err = initialize_over(&url).await.unwrap_err();
    let message = err.to_string();
    eprintln!("untrusted certificate: {message}");
    assert!(
        message.contains("certificate")
            && message.contains(&url)
            && message.contains("SSL_CERT_FILE"),
        "{message}"
    );

    let ca_file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-probe-test-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    // The only test in this binary, so no other thread reads the environment meanwhile.
    std::env::set_var("SSL_CERT_FILE", &ca_file);
    let reply = initialize_over(&url).await.unwrap();
    assert_eq!(reply["result"]["protocolVersion"], "2025-11-25");
}
