//! Readiness probes as the kubelet's prober runs them: after `initialDelaySeconds`, every
//! `periodSeconds`, each attempt bounded by `timeoutSeconds`; `successThreshold` passes in a
//! row make the container ready, `failureThreshold` failures in a row make it unready again.
//! tcpSocket connects, httpGet wants a 2xx/3xx answer, exec runs the command in the container's
//! environment (exit 0), grpc is checked by connecting.
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::runtime::{ContainerRuntime, PodRuntime};

/// What one attempt does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Tcp(u16),
    Http {
        port: u16,
        path: String,
        headers: Vec<(String, String)>,
    },
    Exec(Vec<String>),
}

/// A container's readiness probe, with the API server's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub action: Action,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

fn secs(v: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(v.unwrap_or(default).max(0) as u64)
}

/// A probe port (a number or the name of a container port) as the local port behind it.
fn local_port(rt: &PodRuntime, c: &Container, port: &IntOrString) -> Option<u16> {
    let port = match port {
        IntOrString::Int(p) => u16::try_from(*p).ok()?,
        IntOrString::String(name) => c
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok())?,
    };
    Some(rt.ports.get(&port).copied().unwrap_or(port))
}

fn action(rt: &PodRuntime, c: &Container, probe: &Probe) -> Option<Action> {
    if let Some(tcp) = &probe.tcp_socket {
        return local_port(rt, c, &tcp.port).map(Action::Tcp);
    }
    if let Some(http) = &probe.http_get {
        return Some(Action::Http {
            port: local_port(rt, c, &http.port)?,
            path: http.path.clone().unwrap_or_else(|| "/".into()),
            headers: http
                .http_headers
                .iter()
                .flatten()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        });
    }
    if let Some(exec) = &probe.exec {
        return Some(Action::Exec(exec.command.clone().unwrap_or_default()));
    }
    let grpc = probe.grpc.as_ref()?;
    local_port(rt, c, &IntOrString::Int(grpc.port)).map(Action::Tcp)
}

/// The readiness probe of container `name`, if it declares one.
pub fn readiness(rt: &PodRuntime, name: &str) -> Option<Readiness> {
    let c = rt
        .spec
        .spec
        .as_ref()?
        .containers
        .iter()
        .find(|c| c.name == name)?;
    let probe = c.readiness_probe.as_ref()?;
    Some(Readiness {
        action: action(rt, c, probe)?,
        initial_delay: secs(probe.initial_delay_seconds, 0),
        period: secs(probe.period_seconds, 10).max(Duration::from_secs(1)),
        timeout: secs(probe.timeout_seconds, 1).max(Duration::from_secs(1)),
        success_threshold: probe.success_threshold.unwrap_or(1).max(1) as u32,
        failure_threshold: probe.failure_threshold.unwrap_or(3).max(1) as u32,
    })
}

/// Whether container `c` counts as ready as far as its readiness probe goes.
pub fn passes(rt: &PodRuntime, c: &ContainerRuntime) -> bool {
    readiness(rt, &c.name).is_none() || c.probe_passed.load(Ordering::SeqCst)
}

async fn attempt(action: &Action, env: &HashMap<String, String>) -> bool {
    match action {
        Action::Tcp(port) => TcpStream::connect(("127.0.0.1", *port)).await.is_ok(),
        Action::Http {
            port,
            path,
            headers,
        } => http_get(*port, path, headers)
            .await
            .is_some_and(|code| (200..400).contains(&code)),
        Action::Exec(argv) => {
            // Only `$(VAR)` references to the environment are filled in, as for a command.
            let argv: Vec<String> = argv
                .iter()
                .map(|a| super::process::expand(a, env))
                .collect();
            let Some((program, args)) = argv.split_first() else {
                return false;
            };
            let status = tokio::process::Command::new(program)
                .args(args)
                .env_clear()
                .envs(super::process::host_env())
                .envs(env)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .status()
                .await;
            status.is_ok_and(|s| s.success())
        }
    }
}

/// The status code of `GET path` on the local port, as the kubelet's prober sends it.
async fn http_get(port: u16, path: &str, headers: &[(String, String)]) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    let has = |name: &str| headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(name));
    if !has("user-agent") {
        request.push_str("User-Agent: kube-probe/1.33\r\n");
    }
    if !has("accept") {
        request.push_str("Accept: */*\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Probes container `c` for as long as its process runs (the caller drops this future when the
/// process exits), publishing each change of readiness through `changed`.
pub async fn run(
    readiness: Readiness,
    c: &ContainerRuntime,
    env: &HashMap<String, String>,
    changed: impl Fn(),
) {
    tokio::time::sleep(readiness.initial_delay).await;
    let (mut passes, mut failures) = (0u32, 0u32);
    let mut ticker = tokio::time::interval(readiness.period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let ok = tokio::time::timeout(readiness.timeout, attempt(&readiness.action, env))
            .await
            .unwrap_or(false);
        if ok {
            passes += 1;
            failures = 0;
        } else {
            failures += 1;
            passes = 0;
        }
        let ready = c.probe_passed.load(Ordering::SeqCst);
        let flip = if ready {
            failures >= readiness.failure_threshold
        } else {
            passes >= readiness.success_threshold
        };
        if flip {
            c.probe_passed.store(!ready, Ordering::SeqCst);
            changed();
        }
    }
}
