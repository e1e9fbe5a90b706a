//! `cargo bench -p kube-sim`: start-up time and a 200-pod run, each printed with a ratio
//! against a baseline measured in the same run (bare listener + file; bare process spawns).
#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

const PODS: usize = 200;
const STARTS: usize = 30;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn bench_start() {
    let mut sim_times = Vec::new();
    let mut base_times = Vec::new();
    for _ in 0..STARTS {
        let t = Instant::now();
        let sim = common::start().await;
        sim_times.push(t.elapsed());
        sim.shutdown().await;
        // Baseline: the unavoidable part, a listener and a written kubeconfig.
        let t = Instant::now();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubeconfig"), "apiVersion: v1\n").unwrap();
        base_times.push(t.elapsed());
        drop(listener);
    }
    let (s, b) = (median(sim_times), median(base_times));
    println!(
        "start: kube-sim {:.3} ms (median of {STARTS}), baseline listener+file {:.3} ms, ratio {:.1}x; under 100 ms: {}",
        ms(s),
        ms(b),
        s.as_secs_f64() / b.as_secs_f64().max(1e-9),
        s < Duration::from_millis(100)
    );
}

async fn bench_pods() {
    let sim = common::start().await;
    let pods: Api<Pod> = Api::default_namespaced(common::client(&sim));
    let t = Instant::now();
    join_all((0..PODS).map(|i| {
        let pods = pods.clone();
        async move {
            pods.create(
                &Default::default(),
                &common::pod(&format!("bench-{i}"), "sleeper:1"),
            )
            .await
            .unwrap()
        }
    }))
    .await;
    // Poll the simulator cheaply (a 200-pod list per poll would dominate), then confirm via the API.
    while sim.live_processes() < PODS {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let sim_time = t.elapsed();
    let running = ListParams::default().fields("status.phase=Running");
    assert_eq!(pods.list(&running).await.unwrap().items.len(), PODS);
    assert_eq!(sim.live_processes(), PODS);
    sim.shutdown().await;

    // Baseline: the same 200 processes spawned directly, without any API in between.
    let t = Instant::now();
    let mut children: Vec<_> = (0..PODS)
        .map(|_| {
            tokio::process::Command::new("sleep")
                .arg("300")
                .kill_on_drop(true)
                .spawn()
                .unwrap()
        })
        .collect();
    let base_time = t.elapsed();
    for c in &mut children {
        let _ = c.kill().await;
    }
    println!(
        "{PODS} pods: create → all Running {:.0} ms via kube-sim, baseline direct spawn {:.0} ms, ratio {:.1}x",
        ms(sim_time),
        ms(base_time),
        sim_time.as_secs_f64() / base_time.as_secs_f64().max(1e-9)
    );
}

fn main() {
    // Two workers, as on the CI machines.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        bench_start().await;
        bench_pods().await;
    });
}
