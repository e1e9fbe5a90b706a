//! Real servers as images: the tools found through the pod equal what the same server gives
//! as a local command, over attach, port-forward and a Service.

use crate::cluster::*;
use crate::require;
use crate::support::{self, mcp_package_file, node, venv_bin};
use serde_json::Value;

/// The same server run locally: the reference the pod's tools must equal.
async fn local_tools(argv: &[&str]) -> Value {
    let mut args = vec!["--"];
    args.extend_from_slice(argv);
    support::discover(&args).await["tools"].clone()
}

#[tokio::test]
async fn the_example_server_over_attach() {
    let sim = sim(example_images()).await;
    let report = discover_ok(
        &sim,
        &[
            "--image",
            "example:1",
            "--transport",
            "stdio",
            "--",
            "--tools",
            "7",
        ],
    )
    .await;
    assert_eq!(report["discovery_method"], "kubernetes_mcp_stdio");
    assert_eq!(report["transport"], "stdio");
    // Era detection runs over attach as over a local pipe.
    assert_eq!(report["protocol_era"], "modern");
    assert!(report["era_decided_by"]
        .as_str()
        .unwrap()
        .starts_with("server/discover answered"));
    assert_eq!(report["source_image"], "example:1");
    assert_eq!(report["namespace"], "default");
    let pod = report["pod_name"].as_str().unwrap();
    assert!(pod.starts_with("mcp-probe-example-"), "{pod}");
    assert!(
        report["image_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{report}"
    );
    assert!(report["timestamp"].as_f64().unwrap() > 0.0);
    for phase in ["create", "connect", "cleanup"] {
        assert!(report["phase_ms"][phase].is_u64(), "{phase}: {report}");
    }
    let server = support::example_server_bin().display().to_string();
    let local = local_tools(&[&server, "--tools", "7"]).await;
    assert_eq!(report["tools"], local);
    assert_eq!(tool_names(&report).len(), 7);
    assert_empty(&sim).await;
}

#[tokio::test]
async fn the_example_server_over_port_forward() {
    let sim = sim(example_images()).await;
    let report = discover_ok(
        &sim,
        &[
            "--image",
            "example-http:1",
            "--transport",
            "http",
            "--",
            "--tools",
            "120",
            "--page-size",
            "50",
        ],
    )
    .await;
    assert_eq!(report["discovery_method"], "kubernetes_http_mcp");
    assert_eq!(report["reached_by"], "port-forward");
    assert_eq!(report["port"], 8000);
    assert_eq!(report["endpoint"], "/mcp");
    assert_eq!(report["protocol_era"], "modern");
    assert_eq!(tool_names(&report).len(), 120);
    assert_empty(&sim).await;
}

/// A legacy server that exits at a request before `initialize` (as the Rust SDK does): its pod
/// ends on the probe, and a second pod is spoken to in the legacy era from the start.
#[tokio::test]
async fn a_pod_that_exits_on_the_era_probe_is_started_again_in_the_legacy_era() {
    if support::require_program("python3").is_none() {
        return;
    }
    let fixture = support::repo_root().join("host/tests/fixtures/era_server.py");
    let fixture = fixture.display().to_string();
    let sim = sim(vec![(
        "exits:1",
        image(&["python3", &fixture, "legacy-exit"]),
    )])
    .await;
    let report = discover_ok(&sim, &["--image", "exits:1", "--transport", "stdio"]).await;
    assert_eq!(report["protocol_era"], "legacy");
    let by = report["era_decided_by"].as_str().unwrap();
    assert!(by.ends_with("started again in the legacy era"), "{by}");
    assert_eq!(tool_names(&report), ["alpha", "beta"]);
    assert_empty(&sim).await;
}

#[tokio::test]
async fn auto_falls_back_to_http_and_says_why() {
    let sim = sim(example_images()).await;
    // In the stdio pod no port is declared: the HTTP-only entry point fails to start.
    let report = discover_ok(&sim, &["--image", "example-http:1"]).await;
    assert_eq!(report["transport"], "http");
    let why = report["fallback_reason"].as_str().unwrap();
    assert!(why.contains("exit code 2"), "{why}");
    assert_eq!(tool_names(&report).len(), 5);
    assert_empty(&sim).await;
}

#[tokio::test]
async fn auto_falls_back_when_stdio_stays_silent() {
    let server = support::example_server_bin().display().to_string();
    // Serves HTTP when given a port, otherwise sits silent on stdin like an HTTP-only server.
    let script = format!(
        "if [ -n \"$KUBE_SIM_PORT_8000\" ]; then exec {server} --http 127.0.0.1:$KUBE_SIM_PORT_8000; else exec sleep 60; fi"
    );
    let sim = sim(vec![("http-only:1", shell_image(&script))]).await;
    let started = std::time::Instant::now();
    let report = discover_ok(&sim, &["--image", "http-only:1", "--stdio-grace", "1"]).await;
    assert_eq!(report["transport"], "http");
    let why = report["fallback_reason"].as_str().unwrap();
    assert!(why.contains("initialize"), "{why}");
    assert!(started.elapsed().as_secs_f64() < 10.0);
    assert_empty(&sim).await;
}

#[tokio::test]
async fn server_everything_over_attach_and_port_forward() {
    let node = require!(node()).display().to_string();
    let script = require!(mcp_package_file("server-everything", "dist/index.js"))
        .display()
        .to_string();
    let sim = sim(vec![
        ("everything:1", image(&[&node, &script, "stdio"])),
        (
            "everything-http:1",
            shell_image(&format!(
                "PORT=$KUBE_SIM_PORT_8000 exec {node} {script} streamableHttp"
            )),
        ),
    ])
    .await;
    let local = local_tools(&[&node, &script, "stdio"]).await;
    assert_eq!(
        local.as_array().unwrap().len(),
        16,
        "all capabilities declared"
    );
    let stdio = discover_ok(&sim, &["--image", "everything:1", "--transport", "stdio"]).await;
    assert_eq!(stdio["tools"], local);
    assert_eq!(
        stdio["protocol_era"], "legacy",
        "server-everything speaks only initialize"
    );
    assert!(stdio["prompts"].as_array().is_some_and(|p| !p.is_empty()));
    let http = discover_ok(
        &sim,
        &[
            "--image",
            "everything-http:1",
            "--transport",
            "http",
            "--timeout",
            "90",
        ],
    )
    .await;
    assert_eq!(http["tools"], local);
    assert_eq!(http["endpoint"], "/mcp");
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_python_sdk_server_over_attach() {
    let server = require!(venv_bin("mcp-server-time")).display().to_string();
    let sim = sim(vec![(
        "time:1",
        image(&[&server, "--local-timezone", "UTC"]),
    )])
    .await;
    let local = local_tools(&[&server, "--local-timezone", "UTC"]).await;
    let report = discover_ok(&sim, &["--image", "time:1", "--transport", "stdio"]).await;
    assert_eq!(tool_names(&report), ["get_current_time", "convert_time"]);
    assert_eq!(
        report["protocol_era"], "modern",
        "the Python SDK speaks both eras"
    );
    assert_eq!(report["tools"], local);
    assert_empty(&sim).await;
}

#[tokio::test]
async fn two_probes_of_one_image_each_read_their_own_server() {
    let sim = sim(example_images()).await;
    let (a, b) = tokio::join!(
        discover_ok(
            &sim,
            &[
                "--image",
                "example-http:1",
                "--transport",
                "http",
                "--",
                "--tools",
                "3"
            ]
        ),
        discover_ok(
            &sim,
            &[
                "--image",
                "example-http:1",
                "--transport",
                "http",
                "--",
                "--tools",
                "9"
            ]
        ),
    );
    assert_eq!(tool_names(&a).len(), 3);
    assert_eq!(tool_names(&b).len(), 9);
    assert_ne!(a["pod_name"], b["pod_name"]);
    let (c, d) = tokio::join!(
        discover_ok(
            &sim,
            &[
                "--image",
                "example:1",
                "--transport",
                "stdio",
                "--",
                "--tools",
                "2"
            ]
        ),
        discover_ok(
            &sim,
            &[
                "--image",
                "example:1",
                "--transport",
                "stdio",
                "--",
                "--tools",
                "6"
            ]
        ),
    );
    assert_eq!((tool_names(&c).len(), tool_names(&d).len()), (2, 6));
    assert_empty(&sim).await;
}

#[tokio::test]
async fn secret_env_reaches_the_server_and_nothing_else() {
    let server = support::example_server_bin().display().to_string();
    // The server starts only when the secret arrived in its environment.
    let script =
        format!("[ \"$API_KEY\" = hunter2-secret ] && exec {server}; echo no key >&2; exit 9");
    let sim = sim(vec![("needs-key:1", shell_image(&script))]).await;
    let out = probe(
        &sim,
        &[
            "discover",
            "-o",
            "json",
            "-v",
            "--image",
            "needs-key:1",
            "--transport",
            "stdio",
            "--secret-env",
            "API_KEY=hunter2-secret",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stdout.contains("hunter2") && !stderr.contains("hunter2"),
        "the secret leaked"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(tool_names(&report).len(), 5);
    // Without the secret the server refuses to start: the check above is not vacuous.
    let (code, line) =
        discover_err(&sim, &["--image", "needs-key:1", "--transport", "stdio"]).await;
    assert_eq!(code, 1, "{line}");
    assert_empty(&sim).await;
}

/// Runs `image` with `args` through the Service path (the library call: the simulator's Service
/// resolution stands in for cluster DNS).
async fn through_a_service(
    sim: std::sync::Arc<kube_sim::SimHandle>,
    image: &str,
    args: &[&str],
) -> mcp_probe::report::Report {
    let timeout = std::time::Duration::from_secs(60);
    through_a_service_with_timeout(sim, image, args, timeout)
        .await
        .0
}

/// [`through_a_service`] under `timeout` (`--timeout`); also how long the discovery took.
pub async fn through_a_service_with_timeout(
    sim: std::sync::Arc<kube_sim::SimHandle>,
    image: &str,
    args: &[&str],
    timeout: std::time::Duration,
) -> (mcp_probe::report::Report, std::time::Duration) {
    use mcp_probe::discover::{discover, DiscoverOptions};
    use mcp_probe::runtime::kubernetes::{
        KubernetesOptions, Reach, ServiceAddress, TransportChoice,
    };
    use std::sync::Arc;
    let resolver = Arc::clone(&sim);
    let mut k = KubernetesOptions {
        transport: TransportChoice::Http,
        reach: Reach::Service,
        service_address: Some(ServiceAddress(Arc::new(move |ns, name, port| {
            let local = resolver.resolve_service_port(ns, name, port)?;
            Some(std::net::SocketAddr::from(([127, 0, 0, 1], local)))
        }))),
        ..KubernetesOptions::default()
    };
    k.cluster.kubeconfig = Some(sim.kubeconfig_path().to_path_buf());
    let options = DiscoverOptions {
        target: mcp_probe::target::Target::Image(mcp_probe::target::ImageTarget {
            image: image.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec![],
            secret_env: vec![],
        }),
        session: Default::default(),
        timeout,
        max_line_bytes: 1 << 20,
        kubernetes: k,
    };
    let pipeline = mcp_probe::plugins::Pipeline::builtin().expect("built-ins load");
    let started = std::time::Instant::now();
    let report = discover(&options, &pipeline, std::future::pending())
        .await
        .unwrap();
    (report, started.elapsed())
}

#[tokio::test]
async fn the_service_path_reaches_the_pod_through_its_own_service() {
    let sim = std::sync::Arc::new(sim(example_images()).await);
    let report = through_a_service(sim.clone(), "example-http:1", &["--tools", "4"]).await;
    let k8s = report.kubernetes.as_ref().unwrap();
    assert_eq!(k8s.reached_by.as_deref(), Some("service"));
    assert_eq!(k8s.service_name.as_deref(), Some(k8s.pod_name.as_str()));
    assert_eq!(report.tools.len(), 4);
    assert_empty(&sim).await;
}

#[tokio::test]
async fn server_everything_through_a_service() {
    let node = require!(node()).display().to_string();
    let script = require!(mcp_package_file("server-everything", "dist/index.js"))
        .display()
        .to_string();
    let http = format!("PORT=$KUBE_SIM_PORT_8000 exec {node} {script} streamableHttp");
    let sim = std::sync::Arc::new(sim(vec![("everything-http:1", shell_image(&http))]).await);
    let local = local_tools(&[&node, &script, "stdio"]).await;
    let report = through_a_service(sim.clone(), "everything-http:1", &[]).await;
    assert_eq!(
        report.kubernetes.as_ref().unwrap().reached_by.as_deref(),
        Some("service")
    );
    let tools: Vec<Value> = report.tools.iter().map(|t| t.to_json()).collect();
    assert_eq!(Value::Array(tools), local);
    assert_empty(&sim).await;
}
