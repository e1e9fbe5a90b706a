//! An API server that cannot be reached says why in the one error line: a certificate no CA
//! of the kubeconfig signed, a certificate for another name, a plain-HTTP server behind an
//! `https://` URL, nothing listening. Never only hyper's `client error (Connect)`; a TLS
//! failure is not retried, so it ends at once.

use crate::cluster::*;
use crate::tls::certificates;
use base64::Engine;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_rustls::TlsAcceptor;

/// A TLS listener on 127.0.0.1 that completes handshakes and then closes; its port and CA.
async fn tls_server() -> (u16, String) {
    let (ca, config) = certificates();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move { drop(acceptor.accept(stream).await) });
        }
    });
    (port, ca)
}

/// A kubeconfig naming `server`, trusting `ca` (PEM) when given.
fn kubeconfig(dir: &tempfile::TempDir, name: &str, server: &str, ca: Option<&str>) -> PathBuf {
    let ca = ca.map_or(String::new(), |pem| {
        let data = base64::engine::general_purpose::STANDARD.encode(pem);
        format!("    certificate-authority-data: {data}\n")
    });
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n{ca}\
         contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: default\n\
         current-context: c\nusers:\n- name: u\n  user: {{}}\n"
    );
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `discover --image example:1` against `kubeconfig`: the exit code and the one stderr line,
/// within `within`.
async fn discover_with(kubeconfig: &PathBuf, within: Duration) -> (i32, String) {
    let mut command = tokio::process::Command::new(crate::support::probe_bin());
    command
        .args([
            "discover",
            "-o",
            "json",
            "--timeout",
            "20",
            "--image",
            "example:1",
        ])
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST");
    let started = Instant::now();
    let out = crate::support::run(command).await;
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert!(elapsed < within, "took {elapsed:?}: {stderr}");
    assert!(out.stdout.is_empty(), "no report: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("mcp-probe: error: "), "{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

#[tokio::test]
async fn a_connection_that_fails_names_its_cause() {
    let sim = sim(example_images()).await;
    let dir = tempfile::tempdir().unwrap();
    let (port, right_ca) = tls_server().await;
    let (other_ca, _) = certificates();
    let plain = sim.url().replacen("http://", "https://", 1);
    let refused = format!("http://127.0.0.1:{}", crate::support::free_port());
    let fast = Duration::from_secs(5);
    let cases = [
        (
            kubeconfig(&dir, "plain", &plain, None),
            "the server answered plain HTTP to an HTTPS request",
            fast,
        ),
        (
            kubeconfig(&dir, "plain-ca", &plain, Some(&right_ca)),
            "the server answered plain HTTP to an HTTPS request",
            fast,
        ),
        (
            kubeconfig(
                &dir,
                "wrong-ca",
                &format!("https://localhost:{port}"),
                Some(&other_ca),
            ),
            // The same issuer name, another key.
            "TLS handshake failed: invalid peer certificate: BadSignature",
            fast,
        ),
        (
            kubeconfig(&dir, "no-ca", &format!("https://localhost:{port}"), None),
            "TLS handshake failed: invalid peer certificate: UnknownIssuer",
            fast,
        ),
        (
            kubeconfig(
                &dir,
                "wrong-name",
                &format!("https://127.0.0.1:{port}"),
                Some(&right_ca),
            ),
            "TLS handshake failed: invalid peer certificate: certificate not valid for name \"127.0.0.1\"",
            fast,
        ),
        // Retried (it may come back), then named.
        (
            kubeconfig(&dir, "refused", &refused, None),
            "Connection refused",
            Duration::from_secs(20),
        ),
    ];
    for (config, expected, within) in &cases {
        let (code, line) = discover_with(config, *within).await;
        assert_eq!(code, 1, "{}: {line}", config.display());
        assert!(line.contains(expected), "{}: {line}", config.display());
        assert!(
            line.contains("cannot create pods in namespace default"),
            "{line}"
        );
    }
    assert_empty(&sim).await;
}
